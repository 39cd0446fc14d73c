//! Secrets live in AWS Secrets Manager. A function's environment only names them
//! (`*_SECRET_ID`: an ARN, or a name locally), so no secret sits in the template or in a
//! function's configuration in plain text. Each is read at cold start (a function that
//! cannot read one fails there, naming it) and again once its cached value is older than
//! `SECRET_CACHE_SECONDS` (default 5 minutes): a rotation reaches warm containers too.

mod cache;

pub use cache::{Cached, DEFAULT_TTL, MAX_STALE, RETRY_PAUSE};

use crate::config::{self, ConfigError};
use crate::secret::Secret;
use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_secretsmanager::operation::get_secret_value::{
    GetSecretValueError, GetSecretValueOutput,
};
use chrono::{DateTime, Utc};
use std::time::Duration;

/// The stage Secrets Manager gives the value a rotation replaced.
const PREVIOUS_STAGE: &str = "AWSPREVIOUS";

/// Reads the secrets a function's environment names.
#[derive(Clone, Debug)]
pub struct SecretsManager {
    client: aws_sdk_secretsmanager::Client,
}

/// A secret after a rotation: the value now in force and, while the rotation is recent,
/// the one it replaced with the instant it stops being accepted.
#[derive(Debug)]
pub struct Rotating {
    pub current: Secret,
    pub previous: Option<(Secret, DateTime<Utc>)>,
}

impl Rotating {
    /// A secret never rotated.
    pub fn single(current: Secret) -> Self {
        Self {
            current,
            previous: None,
        }
    }

    /// Is `candidate` the current value, or the previous one before its overlap ends?
    /// Both are always compared, so the time taken says nothing about which matched.
    pub fn matches(&self, candidate: &str, now: DateTime<Utc>) -> bool {
        let current = self.current.matches(candidate);
        let previous = self
            .previous
            .as_ref()
            .is_some_and(|(previous, until)| previous.matches(candidate) & (now < *until));
        current | previous
    }
}

impl SecretsManager {
    pub fn new(aws: &aws_config::SdkConfig) -> Self {
        Self {
            client: aws_sdk_secretsmanager::Client::new(aws),
        }
    }

    /// The current value of the secret that the variable `var` names.
    pub async fn current(&self, var: &'static str) -> Result<Secret, ConfigError> {
        let output = self.fetch(var, None).await?;
        parse_secret(var, &output)
    }

    /// The current value and, if it was set less than `overlap` ago, the previous one until
    /// `overlap` after the change: a sender that retries with the old value (Telerivet, for
    /// up to a day) is still accepted while its settings are being changed, and no longer.
    pub async fn rotating(
        &self,
        var: &'static str,
        overlap: Duration,
        now: DateTime<Utc>,
    ) -> Result<Rotating, ConfigError> {
        let output = self.fetch(var, None).await?;
        let current = parse_secret(var, &output)?;
        let previous_until = output
            .created_date()
            .and_then(|d| DateTime::<Utc>::from_timestamp(d.secs(), d.subsec_nanos()))
            .and_then(|set_at| {
                chrono::Duration::from_std(overlap)
                    .ok()
                    .and_then(|overlap| set_at.checked_add_signed(overlap))
            })
            .filter(|until| now < *until);
        let previous = if let Some(until) = previous_until {
            match self.fetch(var, Some(PREVIOUS_STAGE)).await {
                Ok(output) => Some((parse_secret(var, &output)?, until)),
                // A secret never rotated has no previous stage.
                Err(ConfigError::SecretUnreadable { reason, .. })
                    if reason.starts_with("ResourceNotFoundException") =>
                {
                    None
                }
                Err(e) => return Err(e),
            }
        } else {
            None
        };
        Ok(Rotating { current, previous })
    }

    /// [`current`](Self::current), read again once older than `SECRET_CACHE_SECONDS`.
    pub async fn cached(&self, var: &'static str) -> Result<Cached<Secret>, ConfigError> {
        self.cached_as(var, Ok).await
    }

    /// The current value made into a `T` by `parse` (a URL, say), read and parsed again
    /// once older than `SECRET_CACHE_SECONDS`; a new value `parse` refuses is an error.
    pub async fn cached_as<T: Send + Sync + 'static>(
        &self,
        var: &'static str,
        parse: fn(Secret) -> Result<T, ConfigError>,
    ) -> Result<Cached<T>, ConfigError> {
        let me = self.clone();
        Cached::load(cache::ttl_from_env()?, move || {
            let me = me.clone();
            Box::pin(async move { parse(me.current(var).await?) })
        })
        .await
    }

    /// [`rotating`](Self::rotating), read again once older than `SECRET_CACHE_SECONDS`.
    pub async fn cached_rotating(
        &self,
        var: &'static str,
        overlap: Duration,
    ) -> Result<Cached<Rotating>, ConfigError> {
        let me = self.clone();
        Cached::load(cache::ttl_from_env()?, move || {
            let me = me.clone();
            Box::pin(async move { me.rotating(var, overlap, Utc::now()).await })
        })
        .await
    }

    async fn fetch(
        &self,
        var: &'static str,
        stage: Option<&str>,
    ) -> Result<GetSecretValueOutput, ConfigError> {
        let id = config::required(var)?;
        self.client
            .get_secret_value()
            .secret_id(id)
            .set_version_stage(stage.map(str::to_owned))
            .send()
            .await
            .map_err(|e| unreadable(var, &e))
    }
}

fn parse_secret(var: &'static str, output: &GetSecretValueOutput) -> Result<Secret, ConfigError> {
    let text = output.secret_string().ok_or_else(|| not_text(var))?;
    // A value pasted from a file often ends in a newline; no token has whitespace.
    Secret::new(text.trim().to_owned()).map_err(|reason| ConfigError::SecretUnreadable {
        name: var,
        reason: format!("its value {reason}"),
    })
}

fn not_text(var: &'static str) -> ConfigError {
    ConfigError::SecretUnreadable {
        name: var,
        reason: "it holds binary data, not text".into(),
    }
}

/// The service's error code first (what an operator searches for), then the context.
fn unreadable<R: std::fmt::Debug>(
    var: &'static str,
    error: &SdkError<GetSecretValueError, R>,
) -> ConfigError {
    let reason = match error.code() {
        Some(code) => format!("{code}: {}", error.message().unwrap_or("no message")),
        None => DisplayErrorContext(error).to_string(),
    };
    ConfigError::SecretUnreadable { name: var, reason }
}
