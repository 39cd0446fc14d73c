//! Posting to a Slack incoming webhook, with retries on the failures that can pass.

use crate::NotifierError;
use backon::{ExponentialBuilder, Retryable};
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Client, StatusCode, Url};
use serde_json::Value;
use std::error::Error as _;
use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// How much of Slack's error body is kept in an error (it is a short code such as
/// `invalid_payload` or `no_service`).
const MAX_BODY_CHARS: usize = 200;

/// The incoming-webhook URL. It carries the credential in its path, so it is never
/// printed: `Debug` is redacted and there is no `Display`.
#[derive(Clone)]
pub struct WebhookUrl(Url);

impl WebhookUrl {
    /// Accepts `https` URLs, and plain `http` only to a loopback host (a local test
    /// server). The reason for a refusal never repeats the input.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let url = Url::parse(raw.trim()).map_err(|e| format!("not a URL: {e}"))?;
        let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
        match url.scheme() {
            "https" if url.host_str().is_some() => Ok(Self(url)),
            "http" if loopback => Ok(Self(url)),
            _ => Err("expected an https URL".into()),
        }
    }

    /// Removes the URL from a text that might contain it, as error messages sometimes do.
    fn scrub(&self, text: &str) -> String {
        let mut out = text.replace(self.0.as_str(), "<redacted>");
        if self.0.path().len() > 1 {
            out = out.replace(self.0.path(), "<redacted>");
        }
        out
    }
}

impl fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookUrl(<redacted>)")
    }
}

/// When to try again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included; at least 1.
    pub max_attempts: u32,
    /// The first back-off; each next one doubles, plus up to 100% random jitter.
    pub base: Duration,
    /// The back-off stops growing here.
    pub max_delay: Duration,
    /// A `Retry-After` from Slack is honoured up to this long.
    pub retry_after_cap: Duration,
}

impl RetryPolicy {
    fn backoff(&self) -> ExponentialBuilder {
        let retries = usize::try_from(self.max_attempts.saturating_sub(1)).unwrap_or(usize::MAX);
        ExponentialBuilder::default()
            .with_min_delay(self.base)
            .with_max_delay(self.max_delay.max(self.base))
            .with_factor(2.0)
            .with_jitter()
            .with_max_times(retries)
    }
}

/// The wait before the next attempt: Slack's `Retry-After` (capped) when it sent one, else
/// the back-off.
pub fn retry_delay(err: &NotifierError, backoff: Duration, retry_after_cap: Duration) -> Duration {
    match err {
        NotifierError::Unavailable {
            retry_after: Some(wait),
            ..
        } => (*wait).min(retry_after_cap),
        _ => backoff,
    }
}

/// Posts `payload` to the webhook, retrying 429, 5xx and transport failures. Returns the
/// number of attempts it took.
pub async fn deliver(
    client: &Client,
    webhook: &WebhookUrl,
    policy: &RetryPolicy,
    payload: &Value,
) -> Result<u32, NotifierError> {
    let attempts = AtomicU32::new(0);
    let outcome = (|| async {
        let attempt = attempts.fetch_add(1, Ordering::Relaxed) + 1;
        post_once(client, webhook, payload)
            .await
            .inspect_err(|e| tracing::debug!(attempt, error = %e, "Slack attempt failed"))
    })
    .retry(policy.backoff())
    .when(NotifierError::is_retryable)
    .adjust(|err, backoff| backoff.map(|d| retry_delay(err, d, policy.retry_after_cap)))
    .notify(|err, delay| {
        tracing::warn!(
            attempt = attempts.load(Ordering::Relaxed),
            max_attempts = policy.max_attempts,
            delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            error = %err,
            "Slack delivery failed; retrying"
        );
    })
    .await;
    let attempts = attempts.load(Ordering::Relaxed);
    match outcome {
        Ok(()) => Ok(attempts),
        Err(last) if last.is_retryable() => Err(NotifierError::GaveUp {
            attempts,
            last: Box::new(last),
        }),
        Err(permanent) => Err(permanent),
    }
}

async fn post_once(
    client: &Client,
    webhook: &WebhookUrl,
    payload: &Value,
) -> Result<(), NotifierError> {
    let response = client
        .post(webhook.0.clone())
        .json(payload)
        .send()
        .await
        .map_err(|e| NotifierError::Transport(webhook.scrub(&describe(e.without_url()))))?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let retry_after = retry_after(response.headers());
    let body: String = response
        .text()
        .await
        .unwrap_or_default()
        .chars()
        .take(MAX_BODY_CHARS)
        .collect();
    let body = webhook.scrub(body.trim());
    if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        Err(NotifierError::Unavailable {
            status: status.as_u16(),
            body,
            retry_after,
        })
    } else {
        Err(NotifierError::Rejected {
            status: status.as_u16(),
            body,
        })
    }
}

/// `Retry-After` in whole seconds (the form Slack sends); an HTTP date is ignored.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let secs = headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs))
}

/// The error with its causes, e.g. `error sending request: client error (Connect): tcp
/// connect error: Connection refused (os error 111)`.
fn describe(err: reqwest::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    if err.is_timeout() && !text.contains("timed out") {
        text.push_str(" (timed out)");
    }
    text
}

#[cfg(test)]
#[path = "slack_test.rs"]
mod tests;
