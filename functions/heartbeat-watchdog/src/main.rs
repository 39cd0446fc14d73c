use dialtone_shared::secrets::SecretsManager;
use heartbeat_watchdog::{handler, Config, Deps};
use lambda_runtime::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    dialtone_shared::telemetry::init();
    let aws = dialtone_shared::tls::load_aws_config().await;
    let secrets = SecretsManager::new(&aws);
    let config = Config::load(&secrets).await?;
    let deps = Deps::new(config, aws_sdk_dynamodb::Client::new(&aws))?;
    run(service_fn(|event| handler(&deps, event))).await
}
