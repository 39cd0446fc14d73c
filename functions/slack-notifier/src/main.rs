use dialtone_shared::secrets::SecretsManager;
use lambda_runtime::{service_fn, Error};
use slack_notifier::{handler, Config, Deps};

#[tokio::main]
async fn main() -> Result<(), Error> {
    dialtone_shared::telemetry::init();
    let aws = dialtone_shared::tls::load_aws_config().await;
    let deps = Config::load(&SecretsManager::new(&aws))
        .await
        .and_then(Deps::new)
        .inspect_err(|e| tracing::error!(error = %e, "slack-notifier cannot start"))?;
    lambda_runtime::run(service_fn(|event| handler(&deps, event))).await
}
