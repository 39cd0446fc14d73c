//! The ExoPhones' health as the dashboard shows it: the tutorial's `health` (status, last
//! update, the affected lines), whether Exotel's heartbeats are arriving, and for each
//! affected line what Exotel's details said when its alert went out.

use chrono::{DateTime, Utc};
use dialtone_shared::alert::{Alert, LineImpact, Source};
use dialtone_shared::exophone::Direction;
use dialtone_shared::heartbeat::watchdog::{Silence, WatchdogState};
use dialtone_shared::heartbeat::{HeartbeatStatus, MonitorState};
use serde::Serialize;
use std::collections::BTreeMap;

/// One affected line as the dashboard shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LineHealth {
    pub sid: String,
    pub phone_number: Option<String>,
    pub incoming: &'static str,
    pub outgoing: &'static str,
    pub incoming_since: Option<DateTime<Utc>>,
    pub outgoing_since: Option<DateTime<Utc>>,
    pub alternate_exophones: Vec<String>,
    /// How each direction fails, Exotel's word (`major_outage`, `partial_network_outage`),
    /// and when Exotel last checked: from the ExoPhone details read when the line's alert
    /// went out; `null` until then.
    pub incoming_outage: Option<&'static str>,
    pub outgoing_outage: Option<&'static str>,
    pub last_check_time: Option<DateTime<Utc>>,
}

impl Health {
    /// The affected lines with what Exotel's details said when their alerts went out: per
    /// direction, the newest alert since the line started failing that way. Details read
    /// in an earlier outage of the line are not shown. `alerts` is oldest first.
    pub fn with_line_details(mut self, alerts: &[Alert]) -> Self {
        let mut told: BTreeMap<(&str, Direction), (&LineImpact, DateTime<Utc>)> = BTreeMap::new();
        for alert in alerts
            .iter()
            .filter(|a| a.source == Source::ExotelHeartbeat)
        {
            for line in &alert.lines {
                if line.outage.is_some() || line.last_check_time.is_some() {
                    told.insert(
                        (line.sid.as_str(), line.direction),
                        (line, alert.occurred_at),
                    );
                }
            }
        }
        for line in &mut self.details {
            for (direction, since) in [
                (Direction::Incoming, line.incoming_since),
                (Direction::Outgoing, line.outgoing_since),
            ] {
                let Some((said, at)) = told.get(&(line.sid.as_str(), direction)) else {
                    continue;
                };
                if since.is_none_or(|since| *at < since) {
                    continue;
                }
                let outage = said.outage.map(|o| o.as_str());
                match direction {
                    Direction::Incoming => line.incoming_outage = outage,
                    Direction::Outgoing => line.outgoing_outage = outage,
                }
                line.last_check_time = line.last_check_time.max(said.last_check_time);
                for alternate in &said.alternate_exophones {
                    if !line.alternate_exophones.contains(alternate) {
                        line.alternate_exophones.push(alternate.clone());
                    }
                }
            }
        }
        self
    }
}

/// The ExoPhone health snapshot (`health` in the tutorial's shape, and `/api/health`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    /// `OK`, `WARNING`, `CRITICAL`, `PAYLOAD_TOO_LARGE`, or `UNKNOWN` before any heartbeat.
    pub status: String,
    /// When the newest heartbeat was generated (Exotel's clock).
    pub last_updated: Option<DateTime<Utc>>,
    /// The affected lines.
    pub details: Vec<LineHealth>,
    pub last_heartbeat_age_seconds: Option<i64>,
    /// `HEARD`, `LATE` or `DOWN`: whether Exotel's heartbeats are arriving.
    pub silence: &'static str,
    pub outage_started_at: Option<DateTime<Utc>>,
}

pub fn health(
    monitor: Option<&MonitorState>,
    watchdog: Option<&WatchdogState>,
    now: DateTime<Utc>,
) -> Health {
    let state = |since: Option<DateTime<Utc>>| if since.is_some() { "affected" } else { "ok" };
    Health {
        status: monitor.map_or("UNKNOWN", |m| m.status.as_str()).to_owned(),
        last_updated: monitor.map(|m| m.last_heartbeat_at),
        details: monitor
            .map(|m| {
                m.lines
                    .iter()
                    .map(|(sid, line)| LineHealth {
                        sid: sid.to_string(),
                        phone_number: line.phone_number.as_ref().map(|p| p.as_str().to_owned()),
                        incoming: state(line.incoming_since),
                        outgoing: state(line.outgoing_since),
                        incoming_since: line.incoming_since,
                        outgoing_since: line.outgoing_since,
                        alternate_exophones: line.alternate_exophones.clone(),
                        incoming_outage: None,
                        outgoing_outage: None,
                        last_check_time: None,
                    })
                    .collect()
            })
            .unwrap_or_default(),
        last_heartbeat_age_seconds: monitor.map(|m| (now - m.last_heartbeat_at).num_seconds()),
        silence: watchdog.map_or(Silence::Heard, |w| w.silence).as_str(),
        outage_started_at: monitor
            .filter(|m| m.status != HeartbeatStatus::Ok)
            .and_then(|m| m.outage_started_at),
    }
}
