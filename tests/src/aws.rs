//! SDK configuration for the local stack: endpoints come from `AWS_ENDPOINT_URL*`, as in
//! the functions themselves.

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::SdkConfig;
use dialtone_shared::tls;
use std::time::Duration;

/// The configuration the functions load.
pub async fn from_env() -> SdkConfig {
    tls::load_aws_config().await
}

/// An endpoint nothing listens on, no retries, short timeouts: DynamoDB "down".
pub async fn unreachable() -> SdkConfig {
    tls::aws_config_loader()
        .endpoint_url("http://127.0.0.1:9")
        .retry_config(RetryConfig::standard().with_max_attempts(1))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_millis(300))
                .operation_timeout(Duration::from_secs(2))
                .build(),
        )
        .load()
        .await
}

/// A DynamoDB client with the configuration the functions load, talking to `endpoint`
/// (a fault proxy) instead of the local stack.
pub async fn dynamodb_through(endpoint: &str) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::config::Builder::from(&from_env().await)
        .endpoint_url(endpoint)
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}
