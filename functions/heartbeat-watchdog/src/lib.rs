//! The heartbeat watchdog (EventBridge schedule): Exotel silent for longer than expected
//! is an alert, LATE and then DOWN; the heartbeat receiver recovers it. When Exotel's API
//! is configured, it also learns the lines a PAYLOAD_TOO_LARGE heartbeat could not list
//! from the ExoPhone details API, after the heartbeat's own write, within a request budget.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use chrono::{DateTime, Duration, Utc};
use dialtone_shared::config::{self, ConfigError};
use dialtone_shared::exotel::client::{ExotelApi, ExotelClient, ExotelError};
use dialtone_shared::heartbeat::watchdog::{check, WatchdogPolicy, WatchdogState};
use dialtone_shared::heartbeat::{apply_details, HeartbeatRow};
use dialtone_shared::secrets::SecretsManager;
use dialtone_shared::store::{
    Commit, CommitOutcome, DynamoStore, EventStore, StateCheck, StateJson, StateKey, StateWrite,
    StoreError,
};
use lambda_runtime::LambdaEvent;

const SOURCE: &str = "heartbeat-watchdog";

/// Requests one details sweep may make: 20 pages of 100 ExoPhones, with retries.
const DETAILS_BUDGET: u32 = 30;

#[derive(Debug)]
pub struct Config {
    pub table_name: String,
    pub policy: WatchdogPolicy,
    /// Exotel's API, when configured: the details sweep runs only then.
    pub exotel: Option<ExotelApi>,
    /// How often a PAYLOAD_TOO_LARGE fleet's lines are asked for again.
    pub details_refresh: Duration,
}

fn duration(name: &'static str, default_seconds: u64) -> Result<Duration, ConfigError> {
    let value = config::seconds_or(name, std::time::Duration::from_secs(default_seconds))?;
    Duration::from_std(value).map_err(|e| ConfigError::Invalid {
        name,
        reason: e.to_string(),
    })
}

impl Config {
    pub async fn load(secrets: &SecretsManager) -> Result<Self, ConfigError> {
        Ok(Self {
            table_name: config::required("TABLE_NAME")?,
            policy: WatchdogPolicy {
                interval: duration("HEARTBEAT_INTERVAL_SECONDS", 60)?,
                grace: duration("HEARTBEAT_GRACE_SECONDS", 60)?,
            },
            exotel: ExotelApi::load_if_configured(secrets, DETAILS_BUDGET).await?,
            details_refresh: duration("DETAILS_REFRESH_SECONDS", 300)?,
        })
    }
}

/// The details sweep's client and pace.
pub struct DetailsSweep {
    pub client: ExotelClient,
    pub refresh: Duration,
}

pub struct Deps<S> {
    pub store: S,
    pub policy: WatchdogPolicy,
    pub details: Option<DetailsSweep>,
}

impl Deps<DynamoStore> {
    pub fn new(config: Config, dynamodb: aws_sdk_dynamodb::Client) -> Result<Self, ExotelError> {
        let details = match config.exotel {
            Some(api) => Some(DetailsSweep {
                client: ExotelClient::new(api)?,
                refresh: config.details_refresh,
            }),
            None => None,
        };
        Ok(Self {
            store: DynamoStore::new(dynamodb, config.table_name),
            policy: config.policy,
            details,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WatchdogError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("watchdog state not serialisable: {0}")]
    State(#[from] serde_json::Error),
    #[error(transparent)]
    Exotel(#[from] ExotelError),
}

dialtone_shared::diagnostic!(WatchdogError);

/// Checks the silence as of `now`; returns the silence it recorded, if it got worse. The
/// alert and the new state are one transaction keyed by the alert, so overlapping runs
/// raise it once.
pub async fn check_silence<S: EventStore>(
    deps: &Deps<S>,
    now: DateTime<Utc>,
) -> Result<Option<String>, WatchdogError> {
    let monitor = deps
        .store
        .load_state::<HeartbeatRow>(&StateKey::HeartbeatMonitor)
        .await?;
    let last_heard = match monitor.as_ref().map(|row| &row.value) {
        Some(HeartbeatRow::Monitor(m)) => Some(m.last_heartbeat_at),
        _ => None,
    };
    let stored = deps
        .store
        .load_state::<HeartbeatRow>(&StateKey::HeartbeatWatchdog)
        .await?;
    let state = match stored.as_ref().map(|s| &s.value) {
        Some(HeartbeatRow::Watchdog(w)) => w.clone(),
        _ => WatchdogState::default(),
    };
    let Some((next, alert)) = check(&state, last_heard, now, &deps.policy) else {
        return Ok(None);
    };
    let silence = next.silence.as_str().to_owned();
    let mut commit = Commit::new(SOURCE, alert.id(), now);
    commit.states.push(StateWrite {
        key: StateKey::HeartbeatWatchdog,
        index: None,
        replaces: stored.map(|s| s.revision),
        state: StateJson::of(&HeartbeatRow::Watchdog(next))?,
    });
    // Judged on the heartbeat read: one applied since then makes this judgement wrong.
    commit.checks.push(StateCheck {
        key: StateKey::HeartbeatMonitor,
        revision: monitor.map(|m| m.revision),
    });
    commit.alerts.push(alert);
    match deps.store.commit(commit).await? {
        CommitOutcome::Committed => {
            tracing::warn!(silence = %silence, "heartbeat silence recorded");
            Ok(Some(silence))
        }
        // Another run, or a heartbeat, got there first: the next run sees its result.
        CommitOutcome::Duplicate | CommitOutcome::StateConflict => Ok(None),
    }
}

/// What a details sweep learned.
#[derive(Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct SweepReport {
    pub pages: u32,
    pub lines: usize,
    /// Blocks Exotel answered without a readable line.
    pub unreadable: u32,
    pub alerts: usize,
    /// False when the budget or Exotel ran out before the last page: the lines read still
    /// count, the others keep what was known.
    pub complete: bool,
}

/// Learns the lines of a PAYLOAD_TOO_LARGE fleet from the details API, at most once every
/// `refresh`; the new state and its line alerts are one transaction on the monitor row's
/// version, so a heartbeat arriving meanwhile wins and the next run tries again.
pub async fn sweep_details<S: EventStore>(
    deps: &Deps<S>,
    now: DateTime<Utc>,
) -> Result<Option<SweepReport>, WatchdogError> {
    let Some(sweep) = &deps.details else {
        return Ok(None);
    };
    let Some(stored) = deps
        .store
        .load_state::<HeartbeatRow>(&StateKey::HeartbeatMonitor)
        .await?
    else {
        return Ok(None);
    };
    let HeartbeatRow::Monitor(monitor) = &stored.value else {
        return Ok(None);
    };
    if !monitor.needs_details(now, sweep.refresh) {
        return Ok(None);
    }
    sweep.client.begin_run();
    let mut report = SweepReport::default();
    let mut found = Vec::new();
    let mut next = Some(sweep.client.exophones_url()?);
    let mut cut_short = false;
    while let Some(url) = next.take() {
        match sweep.client.exophones_page(&url).await {
            Ok(page) => {
                report.pages += 1;
                report.unreadable += page.unreadable;
                found.extend(page.lines);
                next = page.next;
            }
            Err(err) if report.pages > 0 => {
                tracing::warn!(error = %err, pages = report.pages, "details sweep cut short; applying what was read");
                cut_short = true;
                break;
            }
            Err(err) => return Err(err.into()),
        }
    }
    report.complete = !cut_short && report.pages > 0;
    report.lines = found.len();
    let Some((state, alerts)) = apply_details(monitor, &found, now) else {
        return Ok(None);
    };
    report.alerts = alerts.len();
    let mut commit = Commit::new(
        SOURCE,
        format!("exophone-details@{}", now.to_rfc3339()),
        now,
    );
    commit.states.push(StateWrite {
        key: StateKey::HeartbeatMonitor,
        index: None,
        replaces: Some(stored.revision),
        state: StateJson::of(&HeartbeatRow::Monitor(state))?,
    });
    commit.alerts = alerts;
    match deps.store.commit(commit).await? {
        CommitOutcome::Committed => {
            tracing::info!(
                pages = report.pages,
                lines = report.lines,
                alerts = report.alerts,
                complete = report.complete,
                "lines learned from ExoPhone details"
            );
            Ok(Some(report))
        }
        CommitOutcome::Duplicate | CommitOutcome::StateConflict => Ok(None),
    }
}

pub async fn handler<S: EventStore>(
    deps: &Deps<S>,
    _event: LambdaEvent<EventBridgeEvent<serde_json::Value>>,
) -> Result<serde_json::Value, WatchdogError> {
    let now = Utc::now();
    let silence = check_silence(deps, now).await?;
    let details = sweep_details(deps, now).await?;
    Ok(serde_json::json!({ "silence": silence, "details": details }))
}
