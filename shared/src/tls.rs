//! One TLS stack for every outbound HTTPS connection: rustls with ring's crypto.
//!
//! The SDK's and reqwest's defaults bring aws-lc-rs, a C crypto library that added about
//! half a megabyte to each bootstrap (measured); ring does the same job for a TLS client in
//! less. So the SDK crates are built without their default HTTPS client, and every function
//! gets its AWS configuration and its reqwest client from here.

use aws_config::{BehaviorVersion, ConfigLoader, SdkConfig};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_http_client::Builder;

/// The AWS configuration loader every function starts from: the environment's region,
/// credentials and `AWS_ENDPOINT_URL_*`, over rustls with ring.
pub fn aws_config_loader() -> ConfigLoader {
    let https = Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    aws_config::defaults(BehaviorVersion::latest()).http_client(https)
}

/// What `aws_config::load_from_env` would give, over rustls with ring.
pub async fn load_aws_config() -> SdkConfig {
    aws_config_loader().load().await
}

/// A reqwest client builder over rustls with ring.
pub fn https_client() -> reqwest::ClientBuilder {
    // reqwest is built without a crypto provider of its own and uses the process default;
    // an Err only says another caller installed ring first.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}

#[cfg(test)]
#[path = "tls_test.rs"]
mod tests;
