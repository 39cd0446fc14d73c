use dialtone_shared::pipeline::handler;
use lambda_http::{run, service_fn, Error};
use telerivet_webhook::{deps, Config};

#[tokio::main]
async fn main() -> Result<(), Error> {
    dialtone_shared::telemetry::init();
    let config = Config::from_env()?;
    let aws = aws_config::load_from_env().await;
    let deps = deps(config, aws_sdk_dynamodb::Client::new(&aws));
    run(service_fn(|request| handler(&deps, request))).await
}
