use alert_dispatcher::{entry, Config, Deps};
use dialtone_shared::secrets::SecretsManager;
use lambda_runtime::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    dialtone_shared::telemetry::init();
    let aws = dialtone_shared::tls::load_aws_config().await;
    let config = Config::load(&SecretsManager::new(&aws)).await?;
    let deps = Deps::new(
        config,
        aws_sdk_dynamodb::Client::new(&aws),
        aws_sdk_sns::Client::new(&aws),
    );
    run(service_fn(|event| entry(&deps, event))).await
}
