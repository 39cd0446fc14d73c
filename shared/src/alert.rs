//! Alerts: what a decision emits and what is stored as an alert row. How a person reads
//! one (its subject and text) is `notice`'s, which asks the provider that raised it.

use crate::exophone::{Direction, ExoPhoneSid, Outage};
use crate::phone::E164;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Critical => "critical",
        }
    }
}

/// Which part of dialtone raised the alert (an SNS filter attribute).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    ExotelHeartbeat,
    Telerivet,
    Calls,
    CallLog,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ExotelHeartbeat => "exotel-heartbeat",
            Self::Telerivet => "telerivet",
            Self::Calls => "calls",
            Self::CallLog => "call-log",
        }
    }
}

/// What happened (an SNS filter attribute).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// The fleet's status changed to WARNING or CRITICAL (escalation or de-escalation).
    FleetStatus,
    /// Within an unchanged WARNING, one line and direction started failing.
    LineAffected,
    /// Within an unchanged WARNING, one line and direction recovered.
    LineRecovered,
    /// Every line is healthy again; carries how long the outage lasted.
    Resolved,
    /// Exotel could not list the lines: their state is unknown until the next full heartbeat.
    PayloadTooLarge,
    /// Still firing after the repeat interval.
    Reminder,
    /// Outgoing messages failed (or were not delivered) beyond the threshold in a window.
    SmsFailures,
    /// A Telerivet phone's outgoing messages wait and none of them moves: it is not sending.
    SmsGatewayNotSending,
    /// That phone sends again.
    SmsGatewaySending,
    /// Requests kept arriving with a wrong or empty secret: the webhook is set up wrong.
    WebhookMisconfigured,
    /// A missed caller has not been called back within the deadline.
    CallbackOverdue,
    /// No heartbeat for longer than expected: LATE, then DOWN.
    HeartbeatMissing,
    /// Heartbeats are arriving again after a silence.
    HeartbeatRecovered,
    /// Today's answer rate fell below the threshold (with enough calls to judge).
    AnswerRateLow,
    /// Today's answer rate is back above the threshold.
    AnswerRateRecovered,
    /// On a past day, Exotel's call log lists calls on an ExoPhone that no call
    /// notification reported, beyond the threshold: the webhook stopped arriving.
    WebhooksMissing,
    /// A provider's event that no retry could store: answered 200, quarantined.
    EventUnstorable,
    /// A provider sent an event of a kind dialtone does not know yet.
    EventUnrecognised,
}

impl AlertKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FleetStatus => "fleet_status",
            Self::LineAffected => "line_affected",
            Self::LineRecovered => "line_recovered",
            Self::Resolved => "resolved",
            Self::PayloadTooLarge => "payload_too_large",
            Self::Reminder => "reminder",
            Self::SmsFailures => "sms_failures",
            Self::SmsGatewayNotSending => "sms_gateway_not_sending",
            Self::SmsGatewaySending => "sms_gateway_sending",
            Self::WebhookMisconfigured => "webhook_misconfigured",
            Self::CallbackOverdue => "callback_overdue",
            Self::HeartbeatMissing => "heartbeat_missing",
            Self::HeartbeatRecovered => "heartbeat_recovered",
            Self::AnswerRateLow => "answer_rate_low",
            Self::AnswerRateRecovered => "answer_rate_recovered",
            Self::WebhooksMissing => "webhooks_missing",
            Self::EventUnstorable => "event_unstorable",
            Self::EventUnrecognised => "event_unrecognised",
        }
    }
}

/// The stable identity of the condition an alert is about (Alertmanager's fingerprint):
/// every alert about the same fleet, or the same line and direction, carries the same key.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DedupKey(String);

impl DedupKey {
    pub fn fleet(source: Source) -> Self {
        Self(format!("{}:fleet", source.as_str()))
    }

    /// A condition of the source's own naming, e.g. `telerivet:sms-failures:<project>`.
    pub fn scoped(source: Source, scope: &str) -> Self {
        Self(format!("{}:{scope}", source.as_str()))
    }

    pub fn line(source: Source, sid: &ExoPhoneSid, direction: Direction) -> Self {
        Self(format!(
            "{}:line:{sid}:{}",
            source.as_str(),
            direction.as_str()
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DedupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a line stands in an alert.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineChange {
    NewlyAffected,
    StillAffected,
    Recovered,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineImpact {
    pub sid: ExoPhoneSid,
    pub phone_number: Option<E164>,
    pub direction: Direction,
    pub change: LineChange,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alternate_exophones: Vec<String>,
    /// How this direction fails, as Exotel's ExoPhone details API says (read for lines
    /// newly affected, when the alert is published).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outage: Option<Outage>,
    /// When Exotel's monitoring last checked this direction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_check_time: Option<DateTime<Utc>>,
}

/// No alert lists more lines than this.
pub const MAX_ALERT_LINES: usize = 100;

fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    pub dedup_key: DedupKey,
    pub source: Source,
    pub kind: AlertKind,
    pub severity: Severity,
    /// The fleet status this alert reports, e.g. `CRITICAL`.
    pub status: String,
    pub occurred_at: DateTime<Utc>,
    /// The lines, at most [`MAX_ALERT_LINES`] of them (an alert row must stay well inside
    /// DynamoDB's 400 KB item limit); `lines_omitted` says how many more there were.
    pub lines: Vec<LineImpact>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub lines_omitted: usize,
    /// How many distinct lines are affected (listed or not).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub lines_affected: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outage_seconds: Option<i64>,
    /// Further facts a person needs, one per line (e.g. the most common error messages).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Alert {
    /// Unique per transition: one condition (dedup key), one kind, one instant. Two kinds
    /// about one condition at one instant (a silence and its recovery) are two alerts.
    pub fn id(&self) -> String {
        format!(
            "{}@{}@{}",
            self.dedup_key,
            self.kind.as_str(),
            self.occurred_at.to_rfc3339()
        )
    }
}

impl LineImpact {
    /// `+917930061010 (07930061010)`, or the SID alone when the number is unknown.
    pub fn label(&self) -> String {
        match &self.phone_number {
            Some(phone) => format!("{phone} ({})", self.sid),
            None => self.sid.to_string(),
        }
    }

    /// What Exotel's monitoring says of this direction, for a person: `major outage, calls
    /// are not connecting (checked 2026-11-20 05:40 UTC)`; `None` when the details were not
    /// read.
    pub fn exotel_says(&self) -> Option<String> {
        let checked = self
            .last_check_time
            .map(|t| format!(" (checked {})", t.format("%Y-%m-%d %H:%M UTC")));
        match (self.outage, checked) {
            (Some(outage), checked) => Some(format!(
                "{}{}",
                outage.describe(),
                checked.unwrap_or_default()
            )),
            (None, Some(checked)) => Some(format!("Exotel reports it active{checked}")),
            (None, None) => None,
        }
    }
}

/// `3h 5m`, `4m 10s`, `12s`.
pub fn human_duration(seconds: i64) -> String {
    let s = seconds.max(0);
    let (d, h, m, sec) = (s / 86_400, (s % 86_400) / 3600, (s % 3600) / 60, s % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{sec}s"),
        (0, 0, _) => format!("{m}m {sec}s"),
        (0, _, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

#[cfg(test)]
#[path = "alert_test.rs"]
mod tests;
