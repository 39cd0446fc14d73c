//! The heartbeat watchdog (EventBridge schedule): Exotel silent for longer than expected
//! is an alert, LATE and then DOWN; the heartbeat receiver recovers it.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use chrono::{DateTime, Duration, Utc};
use dialtone_shared::config::{self, ConfigError};
use dialtone_shared::heartbeat::watchdog::{check, WatchdogPolicy, WatchdogState};
use dialtone_shared::heartbeat::{HeartbeatRow, MONITOR_KEY, WATCHDOG_KEY};
use dialtone_shared::store::{
    Commit, CommitOutcome, DynamoStore, EventStore, StateWrite, StoreError,
};
use lambda_runtime::LambdaEvent;

const SOURCE: &str = "heartbeat-watchdog";

#[derive(Debug)]
pub struct Config {
    pub table_name: String,
    pub policy: WatchdogPolicy,
}

fn duration(name: &'static str, default_seconds: u64) -> Result<Duration, ConfigError> {
    let value = config::seconds_or(name, std::time::Duration::from_secs(default_seconds))?;
    Duration::from_std(value).map_err(|e| ConfigError::Invalid {
        name,
        reason: e.to_string(),
    })
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            table_name: config::required("TABLE_NAME")?,
            policy: WatchdogPolicy {
                interval: duration("HEARTBEAT_INTERVAL_SECONDS", 300)?,
                grace: duration("HEARTBEAT_GRACE_SECONDS", 120)?,
            },
        })
    }
}

pub struct Deps<S> {
    pub store: S,
    pub policy: WatchdogPolicy,
}

impl Deps<DynamoStore> {
    pub fn new(config: Config, dynamodb: aws_sdk_dynamodb::Client) -> Self {
        Self {
            store: DynamoStore::new(dynamodb, config.table_name),
            policy: config.policy,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WatchdogError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("watchdog state not serialisable: {0}")]
    State(#[from] serde_json::Error),
}

impl From<WatchdogError> for lambda_runtime::Diagnostic {
    fn from(err: WatchdogError) -> Self {
        Self {
            error_type: "WatchdogError".into(),
            error_message: err.to_string(),
        }
    }
}

/// Checks the silence as of `now`; returns the silence it recorded, if it got worse. The
/// alert and the new state are one transaction keyed by the alert, so overlapping runs
/// raise it once.
pub async fn check_silence<S: EventStore>(
    deps: &Deps<S>,
    now: DateTime<Utc>,
) -> Result<Option<String>, WatchdogError> {
    let last_heard = match deps.store.load_state::<HeartbeatRow>(MONITOR_KEY).await? {
        Some(row) => match row.value {
            HeartbeatRow::Monitor(m) => Some(m.last_heartbeat_at),
            HeartbeatRow::Watchdog(_) => None,
        },
        None => None,
    };
    let stored = deps.store.load_state::<HeartbeatRow>(WATCHDOG_KEY).await?;
    let state = match stored.as_ref().map(|s| &s.value) {
        Some(HeartbeatRow::Watchdog(w)) => w.clone(),
        _ => WatchdogState::default(),
    };
    let Some((next, alert)) = check(&state, last_heard, now, &deps.policy) else {
        return Ok(None);
    };
    let silence = next.silence.as_str().to_owned();
    let commit = Commit {
        source: SOURCE,
        dedup_key: alert.id(),
        received_at: now,
        states: vec![StateWrite {
            key: WATCHDOG_KEY.to_owned(),
            index: None,
            expected_version: stored.map(|s| s.version),
            value: serde_json::to_value(HeartbeatRow::Watchdog(next))?,
        }],
        history: None,
        history_at: now,
        alerts: vec![alert],
        counters: Vec::new(),
        reply: None,
    };
    match deps.store.commit(commit).await? {
        CommitOutcome::Committed => {
            tracing::warn!(silence = %silence, "heartbeat silence recorded");
            Ok(Some(silence))
        }
        // Another run, or a heartbeat, got there first: the next run sees its result.
        CommitOutcome::Duplicate | CommitOutcome::StateConflict => Ok(None),
    }
}

pub async fn handler<S: EventStore>(
    deps: &Deps<S>,
    _event: LambdaEvent<EventBridgeEvent<serde_json::Value>>,
) -> Result<serde_json::Value, WatchdogError> {
    let silence = check_silence(deps, Utc::now()).await?;
    Ok(serde_json::json!({ "silence": silence }))
}
