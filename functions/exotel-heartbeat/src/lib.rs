//! The Exotel ExoPhone Heartbeat receiver: `POST /exotel/heartbeat/{token}`.

use chrono::{DateTime, Duration, Utc};
use dialtone_shared::config::{self, ConfigError};
use dialtone_shared::heartbeat::{decide, AlertPolicy, Decision, Heartbeat, MonitorState};
use dialtone_shared::pipeline::{self, Deps, Receiver, Rejection, Verdict, Verification};
use dialtone_shared::secret::Secret;
use dialtone_shared::store::DynamoStore;
use lambda_http::Request;
use serde_json::json;

/// Settings, read once at cold start.
#[derive(Debug)]
pub struct Config {
    pub table_name: String,
    /// The secret last path segment of the URL pasted into Exotel.
    pub token: Secret,
    pub policy: AlertPolicy,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let token = Secret::new(config::required("EXOTEL_HEARTBEAT_TOKEN")?).map_err(|reason| {
            ConfigError::Invalid {
                name: "EXOTEL_HEARTBEAT_TOKEN",
                reason: reason.into(),
            }
        })?;
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
    pub token: Secret,
    pub policy: AlertPolicy,
}

impl Receiver for HeartbeatReceiver {
    type Event = Heartbeat;
    type State = MonitorState;
    const SOURCE: &'static str = "exotel-heartbeat";

    /// Exotel signs nothing: the secret is the URL's last segment.
    fn verify(&self, request: &Request, _now: DateTime<Utc>) -> Verification {
        pipeline::verify_url_token(request, &self.token)
    }

    fn parse(&self, request: &Request) -> Result<Heartbeat, Rejection> {
        Heartbeat::parse(request.body().as_ref()).map_err(|e| Rejection::Invalid(e.to_string()))
    }

    /// Exotel: "the timestamp field ... can be used to uniquely identify" a heartbeat. The
    /// instant, not the text, so `+05:30` and `Z` spellings of one moment are one heartbeat.
    fn dedup_key(&self, hb: &Heartbeat) -> String {
        hb.at_utc().to_rfc3339()
    }

    /// One monitor for the whole account.
    fn next_state_key(&self, _hb: &Heartbeat, loaded: &[Option<MonitorState>]) -> Option<String> {
        loaded.is_empty().then(|| Self::SOURCE.to_owned())
    }

    fn decide(
        &self,
        prev: &[Option<MonitorState>],
        hb: &Heartbeat,
        _now: DateTime<Utc>,
    ) -> Verdict<MonitorState> {
        let prev = prev.first().and_then(Option::as_ref);
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
        match decide(prev, hb, &self.policy) {
            Decision::Advance { state, alerts } => {
                verdict.states = vec![Some(state)];
                verdict.alerts = alerts;
            }
            Decision::Stale { .. } => verdict.outcome = "stale",
        }
        verdict
    }
}

/// The history keeps the first SIDs of each list (and the counts): a heartbeat listing
/// thousands of lines must not push its record past DynamoDB's 400 KB item limit.
const HISTORY_SIDS: usize = 100;

fn first(sids: &std::collections::BTreeSet<dialtone_shared::heartbeat::ExoPhoneSid>) -> Vec<&str> {
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
