//! The callback watchdog (EventBridge schedule): every missed caller still waiting for a
//! call back after the deadline raises one alert.
//!
//! A sweep reads only the callbacks it still has to decide about: the alert and the mark
//! that moves the callback out of the index partition the sweep queries are one
//! transaction, so an owed callback costs one decision, not one per sweep for as long as
//! it stays owed. (The dashboard lists both partitions.)

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use dialtone_shared::calls::{callback_index, due_callbacks, overdue, CallsState};
use dialtone_shared::config::{self, ConfigError};
use dialtone_shared::store::{
    AlertSaved, CallbackStore, DynamoStore, StateJson, StateWrite, StoreError,
};
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

dialtone_shared::diagnostic!(WatchdogError);

/// Raises the overdue alerts as of `now`; says how many were new.
pub async fn sweep<S: CallbackStore>(
    deps: &Deps<S>,
    now: DateTime<Utc>,
) -> Result<usize, WatchdogError> {
    let due = due_callbacks(&deps.store, now - deps.deadline).await?;
    let (mut raised, mut already, mut moved) = (0, 0, 0);
    for key in &due {
        // Read afresh: the index is eventually consistent, and the write is conditioned
        // on the revision read.
        let Some(stored) = deps.store.load_state::<CallsState>(key).await? else {
            continue;
        };
        let CallsState::Callback(callback) = stored.value else {
            continue;
        };
        let Some((alerted, alert)) = overdue(&callback, now, deps.deadline, deps.tz) else {
            continue;
        };
        let alerted = CallsState::Callback(alerted);
        let write = StateWrite {
            key: key.clone(),
            index: callback_index(&alerted),
            replaces: Some(stored.revision),
            state: StateJson::of(&alerted)?,
        };
        match deps.store.save_with_alert(write, &alert).await? {
            AlertSaved::Raised => raised += 1,
            AlertSaved::AlreadyRaised => already += 1,
            // Closed or missed again meanwhile: the next sweep decides on what it is now.
            AlertSaved::StateMoved => moved += 1,
        }
    }
    tracing::info!(
        due = due.len(),
        raised,
        already_raised = already,
        moved,
        "callbacks checked"
    );
    Ok(raised)
}

pub async fn handler<S: CallbackStore>(
    deps: &Deps<S>,
    _event: LambdaEvent<EventBridgeEvent<serde_json::Value>>,
) -> Result<serde_json::Value, WatchdogError> {
    let raised = sweep(deps, Utc::now()).await?;
    Ok(serde_json::json!({ "raised": raised }))
}
