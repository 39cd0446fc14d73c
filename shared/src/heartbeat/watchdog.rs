//! Silence is an outage too: the heartbeat watchdog's decisions. No heartbeat for longer
//! than the expected interval plus a grace period is LATE; three intervals plus the grace
//! is DOWN; the next heartbeat recovers it, with how long the silence lasted. Silence
//! never resolves the lines' own alerts.

use crate::alert::{human_duration, Alert, AlertKind, DedupKey, Severity, Source};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Silence {
    #[default]
    Heard,
    Late,
    Down,
}

impl Silence {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Heard => "HEARD",
            Self::Late => "LATE",
            Self::Down => "DOWN",
        }
    }
}

/// What the watchdog remembers: how silent Exotel is, and since which heartbeat.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchdogState {
    pub silence: Silence,
    /// The last heartbeat heard before the silence began.
    #[serde(default)]
    pub last_heard: Option<DateTime<Utc>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WatchdogPolicy {
    /// How often Exotel was told to send a heartbeat.
    pub interval: Duration,
    /// How late one may be before it counts as missing.
    pub grace: Duration,
}

impl WatchdogPolicy {
    fn late_at(&self, last: DateTime<Utc>) -> DateTime<Utc> {
        last + self.interval + self.grace
    }

    fn down_at(&self, last: DateTime<Utc>) -> DateTime<Utc> {
        last + self.interval * 3 + self.grace
    }
}

fn silence_alert(silence: Silence, last: DateTime<Utc>, at: DateTime<Utc>) -> Alert {
    let severity = match silence {
        Silence::Down => Severity::Critical,
        _ => Severity::Warning,
    };
    Alert {
        dedup_key: DedupKey::scoped(Source::ExotelHeartbeat, "silence"),
        source: Source::ExotelHeartbeat,
        kind: AlertKind::HeartbeatMissing,
        severity,
        status: silence.as_str().to_owned(),
        // The moment the threshold was crossed: the same whichever run notices it.
        occurred_at: at,
        lines: Vec::new(),
        lines_omitted: 0,
        lines_affected: 0,
        outage_seconds: Some((at - last).num_seconds()),
        notes: vec![
            format!("last heartbeat {}", last.to_rfc3339()),
            "the lines' own alerts stay as they were: silence says nothing about them".into(),
        ],
    }
}

/// The watchdog's scheduled check: the state it moves to and the alert, if the silence
/// got worse. `last_heard` is the newest heartbeat applied (none yet: nothing to judge).
pub fn check(
    state: &WatchdogState,
    last_heard: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    policy: &WatchdogPolicy,
) -> Option<(WatchdogState, Alert)> {
    let last = last_heard?;
    let (silence, crossed) = if now >= policy.down_at(last) {
        (Silence::Down, policy.down_at(last))
    } else if now >= policy.late_at(last) {
        (Silence::Late, policy.late_at(last))
    } else {
        return None;
    };
    if silence <= state.silence {
        return None;
    }
    let next = WatchdogState {
        silence,
        last_heard: Some(last),
    };
    Some((next, silence_alert(silence, last, crossed)))
}

/// A heartbeat arrived: if the watchdog had called it missing, it is recovered, with how
/// long Exotel was silent.
pub fn heard(state: &WatchdogState, at: DateTime<Utc>) -> Option<(WatchdogState, Alert)> {
    if state.silence == Silence::Heard {
        return None;
    }
    let last = state.last_heard.unwrap_or(at);
    let silent_for = (at - last).num_seconds();
    let alert = Alert {
        dedup_key: DedupKey::scoped(Source::ExotelHeartbeat, "silence"),
        source: Source::ExotelHeartbeat,
        kind: AlertKind::HeartbeatRecovered,
        severity: Severity::Info,
        status: "HEARD".into(),
        occurred_at: at,
        lines: Vec::new(),
        lines_omitted: 0,
        lines_affected: 0,
        outage_seconds: Some(silent_for),
        notes: vec![format!(
            "silent for {} after {}",
            human_duration(silent_for),
            last.to_rfc3339()
        )],
    };
    Some((WatchdogState::default(), alert))
}

#[cfg(test)]
#[path = "watchdog_test.rs"]
mod tests;
