//! Alerts: what a decision emits, what is stored as an alert row, and how a person reads it.

use crate::exophone::{Direction, ExoPhoneSid};
use crate::phone::E164;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt::{self, Write as _};

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
            Self::WebhookMisconfigured => "webhook_misconfigured",
            Self::CallbackOverdue => "callback_overdue",
            Self::HeartbeatMissing => "heartbeat_missing",
            Self::HeartbeatRecovered => "heartbeat_recovered",
            Self::AnswerRateLow => "answer_rate_low",
            Self::AnswerRateRecovered => "answer_rate_recovered",
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

    /// A one-line summary, fit for an email subject (SNS allows 100 characters).
    pub fn subject(&self) -> String {
        let affected = match self.lines_affected {
            1 => "1 line affected".to_owned(),
            n => format!("{n} lines affected"),
        };
        let label = self.severity.as_str().to_uppercase();
        let text = match self.kind {
            AlertKind::FleetStatus => format!("[{label}] ExoPhones {}: {affected}", self.status),
            AlertKind::LineAffected => format!("[{label}] ExoPhone {} failing", self.first_line()),
            AlertKind::LineRecovered => {
                format!("[{label}] ExoPhone {} recovered", self.first_line())
            }
            AlertKind::Resolved => format!(
                "[RESOLVED] ExoPhones OK again after {}",
                human_duration(self.outage_seconds.unwrap_or(0))
            ),
            AlertKind::PayloadTooLarge => {
                format!("[{label}] ExoPhone status unknown: heartbeat too large")
            }
            AlertKind::Reminder => format!("[{label}] ExoPhones still {}: {affected}", self.status),
            AlertKind::SmsFailures => format!("[{label}] Telerivet: {}", self.status),
            AlertKind::CallbackOverdue => format!("[{label}] Call back owed: {}", self.status),
            AlertKind::HeartbeatMissing => format!(
                "[{label}] Exotel heartbeat {}: silent for {}",
                self.status,
                human_duration(self.outage_seconds.unwrap_or(0))
            ),
            AlertKind::AnswerRateLow => format!("[{label}] Answer rate low: {}", self.status),
            AlertKind::AnswerRateRecovered => {
                format!("[RESOLVED] Answer rate recovered: {}", self.status)
            }
            AlertKind::HeartbeatRecovered => format!(
                "[RESOLVED] Exotel heartbeat back after {} of silence",
                human_duration(self.outage_seconds.unwrap_or(0))
            ),
            AlertKind::WebhookMisconfigured => {
                format!("[{label}] Telerivet webhook misconfigured: {}", self.status)
            }
            AlertKind::EventUnstorable => format!("[{label}] {}", self.status),
            AlertKind::EventUnrecognised => {
                format!("[{label}] Unrecognised event: {}", self.status)
            }
        };
        text.chars().take(100).collect()
    }

    fn first_line(&self) -> String {
        self.lines
            .first()
            .map(|l| format!("{} {}", line_label(l), l.direction.as_str()))
            .unwrap_or_default()
    }

    /// The plain-text body a person reads in email.
    pub fn text_body(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{}", self.subject());
        let _ = writeln!(out);
        let _ = writeln!(out, "Status:     {}", self.status);
        let _ = writeln!(out, "Severity:   {}", self.severity.as_str());
        let _ = writeln!(out, "At:         {}", self.occurred_at.to_rfc3339());
        if let Some(secs) = self.outage_seconds {
            let _ = writeln!(out, "Outage:     {}", human_duration(secs));
        }
        if !self.lines.is_empty() {
            let _ = writeln!(out);
            let _ = writeln!(out, "Lines:");
            for line in &self.lines {
                let change = match line.change {
                    LineChange::NewlyAffected => "newly affected",
                    LineChange::StillAffected => "still affected",
                    LineChange::Recovered => "recovered",
                };
                let _ = write!(
                    out,
                    "  - {} {}: {change}",
                    line_label(line),
                    line.direction.as_str()
                );
                if !line.alternate_exophones.is_empty() {
                    let _ = write!(out, " (alternate: {})", line.alternate_exophones.join(", "));
                }
                let _ = writeln!(out);
            }
            if self.lines_omitted > 0 {
                let _ = writeln!(out, "  …and {} more", self.lines_omitted);
            }
        }
        if !self.notes.is_empty() {
            let _ = writeln!(out);
            for note in &self.notes {
                let _ = writeln!(out, "  {note}");
            }
        }
        let _ = writeln!(out);
        let _ = writeln!(out, "Alert key:  {}", self.dedup_key);
        out
    }
}

fn line_label(line: &LineImpact) -> String {
    match &line.phone_number {
        Some(phone) => format!("{phone} ({})", line.sid),
        None => line.sid.to_string(),
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
