//! HTTP answers: the one place a webhook error becomes a status code and a public message.

use crate::store::StoreError;
use lambda_http::http::{header::CONTENT_TYPE, StatusCode};
use lambda_http::{Body, Response};
use serde_json::json;

/// Why a webhook request was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// Wrong or missing URL token: answered like an unknown path, revealing nothing.
    #[error("not found")]
    UnknownPath,
    /// A shared secret in the body did not match.
    #[error("forbidden")]
    Forbidden,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    #[error("invalid payload: {0}")]
    InvalidPayload(String),
    #[error("payload too large: at most {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("storage unavailable: {0}")]
    Storage(#[from] StoreError),
    /// Concurrent deliveries kept changing the state; the provider's retry will settle it.
    #[error("too much contention on the state row")]
    Contention,
    /// The secret a request is checked against could not be read (Secrets Manager down for
    /// longer than a cached value may be used): the provider's retry will be checked.
    #[error("secret unavailable: {0}")]
    SecretUnavailable(#[from] crate::config::ConfigError),
}

impl WebhookError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::UnknownPath => StatusCode::NOT_FOUND,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::InvalidPayload(_) => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Storage(_) | Self::Contention | Self::SecretUnavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
        }
    }

    /// What the caller is told: input problems in full (they are about the caller's own
    /// bytes), internal failures never.
    fn public_message(&self) -> String {
        match self {
            Self::InvalidPayload(reason) => format!("invalid payload: {reason}"),
            Self::Storage(_) | Self::Contention | Self::SecretUnavailable(_) => {
                "temporarily unable to store the event; retry later".into()
            }
            other => other.to_string(),
        }
    }

    pub fn into_response(self) -> Response<Body> {
        json_response(self.status(), &json!({ "error": self.public_message() }))
    }
}

pub fn json_response(status: StatusCode, body: &serde_json::Value) -> Response<Body> {
    let mut response = Response::new(Body::Text(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        lambda_http::http::HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
#[path = "http_test.rs"]
mod tests;
