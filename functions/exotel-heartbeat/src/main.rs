use dialtone_shared::heartbeat::receiver::{deps, Config};
use dialtone_shared::pipeline::handler;
use dialtone_shared::secrets::SecretsManager;
use lambda_http::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    dialtone_shared::telemetry::init();
    let aws = dialtone_shared::tls::load_aws_config().await;
    let secrets = SecretsManager::new(&aws);
    let config = Config::load(&secrets).await?;
    let deps = deps(config, aws_sdk_dynamodb::Client::new(&aws));
    run(service_fn(|request| handler(&deps, request))).await
}
