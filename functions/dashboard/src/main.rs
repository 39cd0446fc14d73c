use dashboard::{handler, Config, Deps};
use lambda_http::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    dialtone_shared::telemetry::init();
    let config = Config::from_env()?;
    let aws = aws_config::load_from_env().await;
    let deps = Deps::new(config, aws_sdk_dynamodb::Client::new(&aws));
    run(service_fn(|request| handler(&deps, request))).await
}
