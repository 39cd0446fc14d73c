//! Configuration comes from environment variables, read once at cold start into typed
//! structs; a missing or malformed variable is a start-up error that names it.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_variable_is_named() {
        let err = required("DIALTONE_TEST_SURELY_UNSET").unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment variable DIALTONE_TEST_SURELY_UNSET is not set"
        );
    }

    #[test]
    fn absent_duration_takes_default() {
        let d = seconds_or("DIALTONE_TEST_SURELY_UNSET_TOO", Duration::from_secs(7)).unwrap();
        assert_eq!(d, Duration::from_secs(7));
    }
}
