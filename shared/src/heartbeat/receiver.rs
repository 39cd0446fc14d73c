//! The Exotel ExoPhone Heartbeat receiver: `POST /exotel/heartbeat/{token}`.

use super::watchdog::{self, WatchdogState};
use super::{decide, AlertPolicy, Decision, HeartbeatEvent, HeartbeatRow};
use crate::alert::Source;
use crate::config::{self, ConfigError};
use crate::pipeline::{
    self, not_from_the_future, Deps, Receiver, Rejection, Verdict, Verification,
};
use crate::secret::Secret;
use crate::secrets::{Cached, SecretsManager};
use crate::store::{DynamoStore, StateKey};
use chrono::{DateTime, Duration, Utc};
use lambda_http::Request;
use serde_json::json;

/// Settings, read once at cold start.
#[derive(Debug)]
pub struct Config {
    pub table_name: String,
    /// The secret last path segment of the URL pasted into Exotel.
    pub token: Cached<Secret>,
    pub policy: AlertPolicy,
}

impl Config {
    /// The environment, and the URL token from the secret `EXOTEL_HEARTBEAT_TOKEN_SECRET_ID` names.
    pub async fn load(secrets: &SecretsManager) -> Result<Self, ConfigError> {
        let token = secrets.cached("EXOTEL_HEARTBEAT_TOKEN_SECRET_ID").await?;
        let repeat = config::seconds_or(
            "ALERT_REPEAT_SECONDS",
            std::time::Duration::from_secs(4 * 3600),
        )?;
        Ok(Self {
            table_name: config::required("TABLE_NAME")?,
            token,
            policy: AlertPolicy {
                repeat_interval: Duration::from_std(repeat).map_err(|e| ConfigError::Invalid {
                    name: "ALERT_REPEAT_SECONDS",
                    reason: e.to_string(),
                })?,
            },
        })
    }
}

/// The heartbeat's part of the shared pipeline.
#[derive(Debug)]
pub struct HeartbeatReceiver {
    pub token: Cached<Secret>,
    pub policy: AlertPolicy,
}

impl Receiver for HeartbeatReceiver {
    type Event = HeartbeatEvent;
    type State = HeartbeatRow;
    const SOURCE: &'static str = "exotel-heartbeat";
    const ALERT_SOURCE: Source = Source::ExotelHeartbeat;
    /// Exotel sends every affected line (up to 10 MB before it says PAYLOAD_TOO_LARGE);
    /// Lambda takes at most 6 MB, so that is the only limit here.
    const MAX_BODY_BYTES: usize = 6 * 1024 * 1024;

    /// Exotel signs nothing: the secret is the URL's last segment.
    async fn verify(&self, request: &Request, _now: DateTime<Utc>) -> Verification {
        pipeline::verify_url_token(request, &self.token).await
    }

    fn parse(&self, request: &Request, now: DateTime<Utc>) -> Result<HeartbeatEvent, Rejection> {
        let hb = HeartbeatEvent::parse(request.body().as_ref())
            .map_err(|e| Rejection::Invalid(e.to_string()))?;
        not_from_the_future(hb.at_utc(), now)?;
        Ok(hb)
    }

    /// Exotel: "the timestamp field ... can be used to uniquely identify" a heartbeat. The
    /// instant, not the text, so `+05:30` and `Z` spellings of one moment are one heartbeat.
    fn dedup_key(&self, hb: &HeartbeatEvent) -> String {
        hb.at_utc().to_rfc3339()
    }

    /// The account's one monitor, then the watchdog that may have called Exotel silent.
    fn next_state_key(
        &self,
        hb: &HeartbeatEvent,
        loaded: &[Option<HeartbeatRow>],
    ) -> Option<StateKey> {
        if let HeartbeatEvent::Unrecognised { .. } = hb {
            return None;
        }
        match loaded.len() {
            0 => Some(StateKey::HeartbeatMonitor),
            1 => Some(StateKey::HeartbeatWatchdog),
            _ => None,
        }
    }

    fn decide(
        &self,
        prev: &[Option<HeartbeatRow>],
        event: &HeartbeatEvent,
        _now: DateTime<Utc>,
    ) -> Verdict<HeartbeatRow> {
        let hb = match event {
            HeartbeatEvent::Status(hb) => hb,
            HeartbeatEvent::Unrecognised { raw, .. } => {
                let mut verdict = Verdict::new(unrecognised_history(raw), event.at_utc());
                verdict.outcome = "unrecognised";
                return verdict;
            }
        };
        let monitor = match prev.first() {
            Some(Some(HeartbeatRow::Monitor(m))) => Some(m),
            _ => None,
        };
        let silence = match prev.get(1) {
            Some(Some(HeartbeatRow::Watchdog(w))) => w.clone(),
            _ => WatchdogState::default(),
        };
        let history = json!({
            "timestamp": hb.timestamp.to_rfc3339(),
            "status": hb.status,
            "incoming_affected": first(&hb.incoming_affected),
            "outgoing_affected": first(&hb.outgoing_affected),
            "incoming_affected_count": hb.incoming_affected.len(),
            "outgoing_affected_count": hb.outgoing_affected.len(),
            "lines_reported": hb.data.len(),
        });
        let mut verdict = Verdict::new(history, hb.at_utc());
        match decide(monitor, hb, &self.policy) {
            Decision::Advance { state, mut alerts } => {
                let recovered = watchdog::heard(&silence, hb.at_utc());
                if let Some((_, alert)) = &recovered {
                    alerts.insert(0, alert.clone());
                }
                verdict.states = vec![
                    Some(HeartbeatRow::Monitor(state)),
                    recovered.map(|(w, _)| HeartbeatRow::Watchdog(w)),
                ];
                verdict.alerts = alerts;
            }
            Decision::Stale { .. } => verdict.outcome = "stale",
        }
        verdict
    }

    fn unrecognised<'e>(&self, hb: &'e HeartbeatEvent) -> Option<&'e str> {
        match hb {
            HeartbeatEvent::Unrecognised { status_type, .. } => Some(status_type),
            HeartbeatEvent::Status(_) => None,
        }
    }
}

/// An unrecognised heartbeat is kept whole in the history unless that would pass
/// DynamoDB's item limit (a fleet's list of lines): then its fields but for the largest
/// ones, and the size of each left out.
const HISTORY_WHOLE_BYTES: usize = 64 * 1024;

fn unrecognised_history(raw: &serde_json::Value) -> serde_json::Value {
    let whole = raw.to_string().len();
    let Some(fields) = raw.as_object().filter(|_| whole > HISTORY_WHOLE_BYTES) else {
        return raw.clone();
    };
    let mut kept = serde_json::Map::new();
    let mut left_out = serde_json::Map::new();
    for (name, value) in fields {
        let bytes = value.to_string().len();
        if bytes > 1024 {
            left_out.insert(name.clone(), json!(bytes));
        } else {
            kept.insert(name.clone(), value.clone());
        }
    }
    json!({ "fields": kept, "fields_left_out_bytes": left_out, "body_bytes": whole })
}

/// The history keeps the first SIDs of each list (and the counts): its row is written by
/// every heartbeat, in the transaction, so it stays under 1 KB (2 write units); the alerts
/// and the monitor state carry the lines themselves.
const HISTORY_SIDS: usize = 10;

fn first(sids: &std::collections::BTreeSet<crate::exophone::ExoPhoneSid>) -> Vec<&str> {
    sids.iter().take(HISTORY_SIDS).map(|s| s.as_str()).collect()
}

/// The receiver and store, built once at cold start.
pub fn deps(
    config: Config,
    dynamodb: aws_sdk_dynamodb::Client,
) -> Deps<HeartbeatReceiver, DynamoStore> {
    Deps {
        receiver: HeartbeatReceiver {
            token: config.token,
            policy: config.policy,
        },
        store: DynamoStore::new(dynamodb, config.table_name),
    }
}
