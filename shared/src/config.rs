//! Configuration comes from environment variables, read once at cold start into typed
//! structs; a missing or malformed variable is a start-up error that names it.

use std::time::Duration;

#[derive(Clone, Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error("the secret that {name} names could not be read: {reason}")]
    SecretUnreadable { name: &'static str, reason: String },
}

/// Reads a required variable; empty counts as missing.
pub fn required(name: &'static str) -> Result<String, ConfigError> {
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => Ok(value),
        _ => Err(ConfigError::Missing(name)),
    }
}

/// Reads an optional variable; empty counts as absent.
pub fn optional(name: &'static str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Reads a duration given in whole seconds, with a default when absent.
pub fn seconds_or(name: &'static str, default: Duration) -> Result<Duration, ConfigError> {
    match optional(name) {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse::<u64>()
            .map(Duration::from_secs)
            .map_err(|e| ConfigError::Invalid {
                name,
                reason: format!("expected whole seconds: {e}"),
            }),
    }
}

/// Reads a number, with a default when absent.
pub fn number_or<T: std::str::FromStr>(name: &'static str, default: T) -> Result<T, ConfigError> {
    match optional(name) {
        None => Ok(default),
        Some(raw) => raw.trim().parse().map_err(|_| ConfigError::Invalid {
            name,
            reason: "expected a number".into(),
        }),
    }
}

/// The account's IANA time zone (`ACCOUNT_TIMEZONE`, default `Asia/Kolkata`): the days
/// that counters follow. Any name of the tz database that chrono-tz knows
/// (`chrono_tz::TZ_VARIANTS`); template.yaml's `AccountTimezone` allows the same names.
pub fn account_timezone() -> Result<chrono_tz::Tz, ConfigError> {
    let name = optional("ACCOUNT_TIMEZONE").unwrap_or_else(|| "Asia/Kolkata".into());
    name.parse().map_err(|_| ConfigError::Invalid {
        name: "ACCOUNT_TIMEZONE",
        reason: format!(
            "{name:?} is not an IANA time zone name (e.g. Asia/Kolkata, Europe/London)"
        ),
    })
}

#[cfg(test)]
#[path = "config_test.rs"]
mod tests;
