//! The Slack notifier: subscribed to the alerts SNS topic, it renders each
//! [`dialtone_shared::alert::Alert`], and each CloudWatch alarm published to the same topic,
//! as a Block Kit message and posts it to a Slack incoming webhook.
//!
//! A message that is neither is skipped with a warning (retrying cannot fix it). When
//! Slack keeps failing, or refuses the message, the invocation fails so that Lambda's
//! asynchronous retries, then the dead-letter queue, take over.

pub mod render;
pub mod slack;

use aws_lambda_events::event::sns::SnsEvent;
use dialtone_shared::config::{self, ConfigError};
use dialtone_shared::secrets::{Cached, SecretsManager};
use lambda_runtime::LambdaEvent;
use reqwest::Client;
use std::time::Duration;

use render::Notification;
pub use slack::{RetryPolicy, WebhookUrl};

/// The incoming-webhook URL (a secret). Required.
pub const WEBHOOK_URL_VAR: &str = "SLACK_WEBHOOK_SECRET_ID";
/// Attempts per message, the first included. Optional, 1 to [`MAX_ATTEMPTS_LIMIT`].
pub const MAX_ATTEMPTS_VAR: &str = "SLACK_MAX_ATTEMPTS";

pub const DEFAULT_MAX_ATTEMPTS: u32 = 4;
pub const MAX_ATTEMPTS_LIMIT: u32 = 10;
pub const DEFAULT_RETRY_BASE: Duration = Duration::from_millis(500);
pub const DEFAULT_RETRY_MAX_DELAY: Duration = Duration::from_secs(8);
pub const DEFAULT_RETRY_AFTER_CAP: Duration = Duration::from_secs(10);
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum NotifierError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("could not build the HTTP client: {0}")]
    HttpClient(#[source] reqwest::Error),
    /// Connection refused, DNS failure, timeout: the text of the error chain, URL removed.
    #[error("could not reach Slack: {0}")]
    Transport(String),
    /// 429 or 5xx: worth another try.
    #[error("Slack answered HTTP {status}: {body}")]
    Unavailable {
        status: u16,
        body: String,
        retry_after: Option<Duration>,
    },
    /// Any other non-2xx answer: the webhook or the message is wrong, retrying will not help.
    #[error(
        "Slack rejected the message with HTTP {status} ({body}); check the webhook URL in the secret {WEBHOOK_URL_VAR} names, and the message payload"
    )]
    Rejected { status: u16, body: String },
    #[error("Slack delivery failed after {attempts} attempt(s): {last}")]
    GaveUp {
        attempts: u32,
        #[source]
        last: Box<NotifierError>,
    },
}

impl NotifierError {
    /// Whether another attempt could succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Transport(_) | Self::Unavailable { .. })
    }

    fn error_type(&self) -> &'static str {
        match self {
            Self::Config(_) => "ConfigError",
            Self::HttpClient(_) => "HttpClientError",
            Self::Transport(_) => "SlackUnreachable",
            Self::Unavailable { .. } | Self::GaveUp { .. } => "SlackUnavailable",
            Self::Rejected { .. } => "SlackRejected",
        }
    }
}

dialtone_shared::diagnostic!(NotifierError, NotifierError::error_type);

/// Read at cold start; the webhook URL again every `SECRET_CACHE_SECONDS`.
#[derive(Clone, Debug)]
pub struct Config {
    pub webhook_url: Cached<WebhookUrl>,
    pub retry: RetryPolicy,
    pub request_timeout: Duration,
}

impl Config {
    /// Reads the webhook URL from the secret `SLACK_WEBHOOK_SECRET_ID` names (required) and
    /// `SLACK_MAX_ATTEMPTS` (optional, default 4).
    pub async fn load(secrets: &SecretsManager) -> Result<Self, NotifierError> {
        let webhook_url = secrets
            .cached_as(WEBHOOK_URL_VAR, |url| parse_webhook_url(url.expose()))
            .await?;
        let max_attempts = config::optional(MAX_ATTEMPTS_VAR);
        Self::with_url(webhook_url, max_attempts.as_deref())
    }

    /// Validates raw values, with the production timings.
    pub fn new(webhook_url: &str, max_attempts: Option<&str>) -> Result<Self, NotifierError> {
        Self::with_url(Cached::fixed(parse_webhook_url(webhook_url)?), max_attempts)
    }

    fn with_url(
        webhook_url: Cached<WebhookUrl>,
        max_attempts: Option<&str>,
    ) -> Result<Self, NotifierError> {
        let max_attempts = match max_attempts {
            None => DEFAULT_MAX_ATTEMPTS,
            Some(raw) => raw
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=MAX_ATTEMPTS_LIMIT).contains(n))
                .ok_or_else(|| ConfigError::Invalid {
                    name: MAX_ATTEMPTS_VAR,
                    reason: format!("expected a whole number from 1 to {MAX_ATTEMPTS_LIMIT}"),
                })?,
        };
        Ok(Self {
            webhook_url,
            retry: RetryPolicy {
                max_attempts,
                base: DEFAULT_RETRY_BASE,
                max_delay: DEFAULT_RETRY_MAX_DELAY,
                retry_after_cap: DEFAULT_RETRY_AFTER_CAP,
            },
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        })
    }
}

fn parse_webhook_url(raw: &str) -> Result<WebhookUrl, ConfigError> {
    WebhookUrl::parse(raw).map_err(|reason| ConfigError::Invalid {
        name: WEBHOOK_URL_VAR,
        reason,
    })
}

/// Built once per execution environment and shared by every invocation.
#[derive(Clone, Debug)]
pub struct Deps {
    client: Client,
    config: Config,
}

impl Deps {
    pub fn new(config: Config) -> Result<Self, NotifierError> {
        let client = dialtone_shared::tls::https_client()
            .timeout(config.request_timeout)
            .connect_timeout(config.request_timeout)
            // Slack's webhooks answer directly; a redirect would resend the secret elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| NotifierError::HttpClient(e.without_url()))?;
        Ok(Self { client, config })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }
}

/// Posts every alert in the event. Fails (so that Lambda retries the event) when any
/// delivery failed, after trying them all.
pub async fn handler(deps: &Deps, event: LambdaEvent<SnsEvent>) -> Result<(), NotifierError> {
    let webhook_url = deps.config.webhook_url.get().await?;
    let mut first_error = None;
    for record in &event.payload.records {
        let message_id = record.sns.message_id.as_str();
        let notification: Notification = match serde_json::from_str(&record.sns.message) {
            Ok(notification) => notification,
            Err(e) => {
                // The error text can quote the message, so only its position is logged.
                tracing::warn!(
                    message_id,
                    error_category = ?e.classify(),
                    error_line = e.line(),
                    error_column = e.column(),
                    "SNS message is neither an alert nor a CloudWatch alarm; skipping it"
                );
                continue;
            }
        };
        let payload = notification.to_slack();
        match slack::deliver(&deps.client, &webhook_url, &deps.config.retry, &payload).await {
            Ok(attempts) => tracing::info!(
                message_id,
                kind = notification.kind(),
                severity = notification.severity().as_str(),
                attempts,
                "alert posted to Slack"
            ),
            Err(e) => {
                tracing::error!(
                    message_id,
                    kind = notification.kind(),
                    severity = notification.severity().as_str(),
                    retryable = e.is_retryable(),
                    error = %e,
                    "alert not posted to Slack"
                );
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

#[cfg(test)]
#[path = "lib_test.rs"]
mod tests;
