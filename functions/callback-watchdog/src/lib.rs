//! The callback watchdog (EventBridge schedule): every missed caller still waiting for a
//! call back after the deadline raises one alert.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use dialtone_shared::calls::callback_overdue;
use dialtone_shared::config::{self, ConfigError};
use dialtone_shared::store::{CallbackStore, DynamoStore, StoreError};
use lambda_runtime::LambdaEvent;

#[derive(Debug)]
pub struct Config {
    pub table_name: String,
    /// A missed call must be returned within this long.
    pub deadline: Duration,
    pub tz: Tz,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let deadline = config::seconds_or(
            "CALLBACK_DEADLINE_SECONDS",
            std::time::Duration::from_secs(1800),
        )?;
        Ok(Self {
            table_name: config::required("TABLE_NAME")?,
            deadline: Duration::from_std(deadline).map_err(|e| ConfigError::Invalid {
                name: "CALLBACK_DEADLINE_SECONDS",
                reason: e.to_string(),
            })?,
            tz: config::account_timezone()?,
        })
    }
}

pub struct Deps<S> {
    pub store: S,
    pub deadline: Duration,
    pub tz: Tz,
}

impl Deps<DynamoStore> {
    pub fn new(config: Config, dynamodb: aws_sdk_dynamodb::Client) -> Self {
        Self {
            store: DynamoStore::new(dynamodb, config.table_name),
            deadline: config.deadline,
            tz: config.tz,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WatchdogError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<WatchdogError> for lambda_runtime::Diagnostic {
    fn from(err: WatchdogError) -> Self {
        Self {
            error_type: "WatchdogError".into(),
            error_message: err.to_string(),
        }
    }
}

/// Raises the overdue alerts as of `now`; says how many were new.
pub async fn sweep<S: CallbackStore>(
    deps: &Deps<S>,
    now: DateTime<Utc>,
) -> Result<usize, WatchdogError> {
    let overdue = deps
        .store
        .open_callbacks_before(now - deps.deadline)
        .await?;
    let mut raised = 0;
    for callback in &overdue {
        if deps
            .store
            .put_alert_once(&callback_overdue(callback, now, deps.tz))
            .await?
        {
            raised += 1;
        }
    }
    tracing::info!(overdue = overdue.len(), raised, "callbacks checked");
    Ok(raised)
}

pub async fn handler<S: CallbackStore>(
    deps: &Deps<S>,
    _event: LambdaEvent<EventBridgeEvent<serde_json::Value>>,
) -> Result<serde_json::Value, WatchdogError> {
    let raised = sweep(deps, Utc::now()).await?;
    Ok(serde_json::json!({ "raised": raised }))
}
