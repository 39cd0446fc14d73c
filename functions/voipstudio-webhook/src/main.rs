//! The Voipstudio call-events receiver: the shared call receiver, fed this provider's bodies.

use dialtone_shared::calls::receiver::{deps, CallsConfig, Voipstudio};
use dialtone_shared::pipeline::handler;
use lambda_http::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    dialtone_shared::telemetry::init();
    let config = CallsConfig::from_env("VOIPSTUDIO_WEBHOOK_TOKEN")?;
    let aws = aws_config::load_from_env().await;
    let deps = deps::<Voipstudio>(config, aws_sdk_dynamodb::Client::new(&aws));
    run(service_fn(|request| handler(&deps, request))).await
}
