//! Secrets live in AWS Secrets Manager. A function's environment only names them
//! (`*_SECRET_ID`: an ARN, or a name locally) and each value is read once, at cold start,
//! so no secret sits in the template or in a function's configuration in plain text.

use crate::config::{self, ConfigError};
use crate::secret::Secret;
use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_secretsmanager::operation::get_secret_value::{
    GetSecretValueError, GetSecretValueOutput,
};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use std::time::Duration;

/// The stage Secrets Manager gives the value a rotation replaced.
const PREVIOUS_STAGE: &str = "AWSPREVIOUS";

/// Reads the secrets a function's environment names.
#[derive(Clone, Debug)]
pub struct SecretsManager {
    client: aws_sdk_secretsmanager::Client,
}

/// A secret after a rotation: the value now in force and, while the rotation is recent,
/// the one it replaced.
#[derive(Debug)]
pub struct Rotating {
    pub current: Secret,
    pub previous: Option<Secret>,
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

    /// Like `current`, for a variable that may be unset or empty (a feature left off).
    pub async fn current_if_named(&self, var: &'static str) -> Result<Option<Secret>, ConfigError> {
        match config::optional(var) {
            None => Ok(None),
            Some(_) => self.current(var).await.map(Some),
        }
    }

    /// The current value and, if it was set less than `overlap` ago, the previous one: a
    /// sender that retries with the old value (Telerivet, for up to a day) is still accepted
    /// while its settings are being changed.
    pub async fn rotating(
        &self,
        var: &'static str,
        overlap: Duration,
        now: DateTime<Utc>,
    ) -> Result<Rotating, ConfigError> {
        let output = self.fetch(var, None).await?;
        let current = parse_secret(var, &output)?;
        let set_at = output
            .created_date()
            .and_then(|d| DateTime::<Utc>::from_timestamp(d.secs(), d.subsec_nanos()));
        let recent = set_at.is_some_and(|at| {
            now.signed_duration_since(at)
                .to_std()
                .map_or(true, |age| age < overlap)
        });
        let previous = if recent {
            match self.fetch(var, Some(PREVIOUS_STAGE)).await {
                Ok(output) => Some(parse_secret(var, &output)?),
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

    /// A secret holding JSON (several related values, such as an API key and token).
    pub async fn json<T: DeserializeOwned>(&self, var: &'static str) -> Result<T, ConfigError> {
        let output = self.fetch(var, None).await?;
        let text = output.secret_string().ok_or_else(|| not_text(var))?;
        // serde_json's message names the field, never the value.
        serde_json::from_str(text).map_err(|e| ConfigError::SecretUnreadable {
            name: var,
            reason: format!("its value is not the expected JSON: {e}"),
        })
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
