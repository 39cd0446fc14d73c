//! The Voipstudio call-events receiver: the shared call receiver, fed this provider's bodies.

use dialtone_shared::calls::receiver::{deps, CallsConfig, Voipstudio};
use dialtone_shared::pipeline::handler;
use dialtone_shared::secrets::SecretsManager;
use lambda_http::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    dialtone_shared::telemetry::init();
    let aws = dialtone_shared::tls::load_aws_config().await;
    let secrets = SecretsManager::new(&aws);
    let config = CallsConfig::load::<Voipstudio>(&secrets).await?;
    let deps = deps::<Voipstudio>(config, aws_sdk_dynamodb::Client::new(&aws));
    run(service_fn(|request| handler(&deps, request))).await
}
