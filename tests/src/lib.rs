//! The local stack: the AWS resources of `template.yaml` created on moto server, the
//! stream pump that plays Lambda's event source mapping between the table's stream and
//! the alert dispatcher, and the SQS inbox where published alerts can be read back.
//! Used by `dialtone-local` (the local run) and by the end-to-end tests alike.

pub mod aws;
pub mod exotel;
pub mod faults;
pub mod fleet;
pub mod inbox;
pub mod latency;
pub mod load;
pub mod pump;
pub mod secrets;
pub mod stack;
pub mod template;

#[cfg(test)]
#[path = "detection_test.rs"]
mod detection_test;

/// The template every local resource is made from.
pub const TEMPLATE: &str = include_str!("../../template.yaml");

#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error("template.yaml: {0}")]
    Template(String),
    #[error("AWS request failed: {0}")]
    Aws(String),
    #[error("invocation failed: {0}")]
    Invoke(String),
}

impl LocalError {
    pub fn aws<E: std::error::Error + 'static, R: std::fmt::Debug>(
        err: aws_sdk_dynamodb::error::SdkError<E, R>,
    ) -> Self {
        Self::Aws(aws_sdk_dynamodb::error::DisplayErrorContext(err).to_string())
    }
}

/// A reqwest client over the functions' TLS stack. Like `reqwest::Client::new`, it panics
/// only when TLS cannot be set up at all, which is a broken build rather than a runtime
/// condition.
pub fn http_client() -> reqwest::Client {
    dialtone_shared::tls::https_client()
        .build()
        .expect("a reqwest client over rustls with ring")
}
