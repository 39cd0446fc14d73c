//! The dashboard's view of stored data: pure functions from rows to the JSON the Exotel
//! tutorial's consumers read (`health`, `metrics`, `generatedAt`), plus dialtone's own
//! additions (per line and direction, SMS, callbacks owed, open alerts).

use crate::calls::AgentFigures;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use dialtone_shared::alert::{Alert, AlertKind, Severity, Source};
use dialtone_shared::call_log::metrics::{format_duration, Metrics, METRICS_HORIZON_DAYS};
use dialtone_shared::call_log::missing_webhooks::DayComparison;
use dialtone_shared::calls::CallbackState;
use dialtone_shared::store::{CallLogBucket, CounterKey, CounterLine};
use dialtone_shared::telerivet::gateway::PhoneState;
use dialtone_shared::telerivet::{is_waiting, TelerivetState};
use serde::Serialize;
use std::collections::BTreeMap;

/// Alerts older than this are not looked at for the open ones (a condition still firing is
/// announced again every `AlertRepeatSeconds`, so its newest alert is recent).
pub const OPEN_ALERT_HORIZON_DAYS: i64 = 30;
/// An alert about an event rather than a condition (SMS failures, a misconfigured webhook,
/// a low answer rate for the day) stays open this long.
const EVENT_ALERT_OPEN_HOURS: i64 = 24;
/// Days one range request may span.
pub const MAX_RANGE_DAYS: i64 = 93;

/// A day's call figures as the tutorial formats them.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TutorialMetrics {
    pub total_calls: u64,
    pub answered: u64,
    pub missed: u64,
    pub busy: u64,
    pub failed: u64,
    /// `"78.3%"`; `"0.0%"` with no calls.
    pub answer_rate: String,
    /// Average talk time of answered calls, `"2m 14s"`.
    pub avg_duration: String,
    /// `"11:00"`; `null` with no calls (where the tutorial would say `"0:00"`).
    pub peak_hour: Option<String>,
    pub hourly_distribution: [u64; 24],
}

impl From<&Metrics> for TutorialMetrics {
    fn from(m: &Metrics) -> Self {
        let seconds = m.average_seconds_rounded();
        Self {
            total_calls: m.total,
            answered: m.answered,
            missed: m.missed,
            busy: m.busy,
            failed: m.failed,
            answer_rate: format!("{}%", m.answer_rate_text()),
            avg_duration: format_duration(seconds),
            peak_hour: m.peak_hour().map(|h| format!("{h}:00")),
            hourly_distribution: m.hourly,
        }
    }
}

pub use crate::health::{health, Health};

/// An alert still firing.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenAlert {
    pub key: String,
    pub kind: &'static str,
    pub severity: &'static str,
    pub subject: String,
    pub occurred_at: DateTime<Utc>,
}

fn closes(kind: AlertKind) -> bool {
    matches!(
        kind,
        AlertKind::Resolved
            | AlertKind::LineRecovered
            | AlertKind::HeartbeatRecovered
            | AlertKind::AnswerRateRecovered
            | AlertKind::SmsGatewaySending
    )
}

fn is_event(kind: AlertKind) -> bool {
    matches!(
        kind,
        AlertKind::SmsFailures
            | AlertKind::WebhookMisconfigured
            | AlertKind::CallbackOverdue
            | AlertKind::AnswerRateLow
            | AlertKind::WebhooksMissing
            | AlertKind::EventUnstorable
            | AlertKind::EventUnrecognised
    )
}

/// The alerts still firing, most severe first, then newest: the newest alert of each
/// condition (dedup key) unless it was a recovery; the fleet's RESOLVED also closes its
/// lines; alerts about events stay open for a day. `alerts` is oldest first.
pub fn open_alerts(alerts: &[Alert], now: DateTime<Utc>) -> Vec<OpenAlert> {
    let mut newest: BTreeMap<&str, &Alert> = BTreeMap::new();
    for alert in alerts {
        if alert.kind == AlertKind::Resolved && alert.source == Source::ExotelHeartbeat {
            newest.retain(|_, a| {
                a.source != Source::ExotelHeartbeat || a.kind == AlertKind::HeartbeatMissing
            });
        }
        newest.insert(alert.dedup_key.as_str(), alert);
    }
    let mut open: Vec<&Alert> = newest
        .into_values()
        .filter(|a| !closes(a.kind))
        .filter(|a| {
            !is_event(a.kind) || now - a.occurred_at < Duration::hours(EVENT_ALERT_OPEN_HOURS)
        })
        .collect();
    let rank = |s: Severity| match s {
        Severity::Critical => 0,
        Severity::Warning => 1,
        Severity::Info => 2,
    };
    open.sort_by(|a, b| {
        rank(a.severity)
            .cmp(&rank(b.severity))
            .then(b.occurred_at.cmp(&a.occurred_at))
    });
    open.into_iter()
        .map(|a| OpenAlert {
            key: a.dedup_key.to_string(),
            kind: a.kind.as_str(),
            severity: a.severity.as_str(),
            subject: dialtone_shared::notice::subject(a),
            occurred_at: a.occurred_at,
        })
        .collect()
}

/// A caller who missed us and has not been called back.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallbackOwed {
    pub customer: String,
    pub missed_calls: usize,
    pub waiting_since: DateTime<Utc>,
    pub waiting_seconds: i64,
}

/// Callbacks owed, longest waiting first.
pub fn callbacks_owed(callbacks: &[CallbackState], now: DateTime<Utc>) -> Vec<CallbackOwed> {
    let mut owed: Vec<CallbackOwed> = callbacks
        .iter()
        .filter(|c| c.is_open())
        .map(|c| CallbackOwed {
            customer: c.customer.as_str().to_owned(),
            missed_calls: c.missed.len(),
            waiting_since: c.first_missed_at,
            waiting_seconds: (now - c.first_missed_at).num_seconds(),
        })
        .collect();
    owed.sort_by_key(|c| c.waiting_since);
    owed
}

/// SMS figures of a day, per Telerivet project and in all, with the day's summary and
/// the gateways' state now.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SmsFigures {
    pub day: String,
    /// Outgoing messages first heard of today (each once, whatever its statuses).
    pub sent: i64,
    pub delivered: i64,
    /// Failed to send, or not delivered.
    pub failed: i64,
    /// Delivered, in percent of the messages with a known outcome (delivered, failed, not
    /// delivered), with one decimal as the tutorial writes its answer rate (`"97.5"`);
    /// `None` until a delivery report came today (delivery reports are a Telerivet
    /// setting).
    pub delivery_rate: Option<String>,
    /// Messages whose short links were first clicked today.
    pub clicked: i64,
    /// Incoming and outgoing messages by type (`sms`, `mms`, `ussd`, `call`): calls and
    /// USSD sessions are not SMS.
    pub by_type: BTreeMap<String, MessageCounts>,
    pub gateways: SmsGateways,
    pub totals: BTreeMap<String, i64>,
    pub projects: BTreeMap<String, BTreeMap<String, i64>>,
}

impl SmsFigures {
    fn summarise(&mut self) {
        let field = |name: &str| self.totals.get(name).copied().unwrap_or_default();
        let (delivered, not_delivered) = (field("delivered"), field("not_delivered"));
        self.sent = field("outgoing");
        self.delivered = delivered;
        self.failed = field("failed") + not_delivered;
        self.clicked = field("clicked");
        self.by_type.clear();
        for (name, n) in &self.totals {
            let Some((direction, message_type)) = name.split_once(':') else {
                continue;
            };
            let counts = self.by_type.entry(message_type.to_owned()).or_default();
            match direction {
                "incoming" => counts.incoming += n,
                "outgoing" => counts.outgoing += n,
                _ => {}
            }
        }
        let known = delivered + self.failed;
        self.delivery_rate = (delivered + not_delivered > 0 && known > 0)
            .then(|| format!("{:.1}", 100.0 * delivered as f64 / known as f64));
    }
}

/// One message type's messages of the day.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MessageCounts {
    pub incoming: i64,
    pub outgoing: i64,
}

/// Outgoing SMS stuck now, and the phones not sending.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SmsGateways {
    /// Messages still queued past the threshold.
    pub stuck: usize,
    pub not_sending: Vec<PhoneNotSending>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PhoneNotSending {
    pub phone_id: String,
    pub since: DateTime<Utc>,
    pub oldest_message: String,
    pub messages: usize,
}

/// The gateways' figures from the waiting messages and the phones alerted (both read
/// from the index, eventually consistent).
pub fn sms_gateways(
    waiting: &[TelerivetState],
    phones: &[PhoneState],
    now: DateTime<Utc>,
    stuck_after: Duration,
) -> SmsGateways {
    let cutoff = now - stuck_after;
    let stuck = waiting
        .iter()
        .filter(|s| match s {
            TelerivetState::Message(m) => {
                is_waiting(&m.status) && m.queued_at.is_some_and(|t| t < cutoff)
            }
            _ => false,
        })
        .count();
    let not_sending = phones
        .iter()
        .filter(|p| p.resolved_at.is_none())
        .map(|p| PhoneNotSending {
            phone_id: p.phone_id.clone(),
            since: p.stuck_at,
            oldest_message: p.oldest_message.clone(),
            messages: p.messages,
        })
        .collect();
    SmsGateways { stuck, not_sending }
}

/// A day's figures read from its daily counters (see `DashboardStore::day_counters`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DayFigures {
    pub all: Metrics,
    pub by_direction: BTreeMap<String, Metrics>,
    pub by_line: BTreeMap<String, Metrics>,
    /// Live call events per provider (`calls:<provider>:all:<day>`), fields as counted.
    pub call_events: BTreeMap<String, BTreeMap<String, i64>>,
    /// The live calls per agent.
    pub agents: Vec<AgentFigures>,
    pub sms: SmsFigures,
}

/// Sorts a day's counters by what they count. `day` is the account's day for the call
/// metrics; SMS counters follow the UTC day, read from `sms_counters`.
pub fn day_figures(
    day: NaiveDate,
    counters: &BTreeMap<CounterKey, BTreeMap<String, i64>>,
    sms_day: NaiveDate,
    sms_counters: &BTreeMap<CounterKey, BTreeMap<String, i64>>,
) -> DayFigures {
    let mut figures = DayFigures::default();
    for (key, fields) in counters {
        match key {
            CounterKey::CallLog { day: d, bucket } if *d == day => {
                let metrics = Metrics::from_fields(fields);
                match bucket {
                    CallLogBucket::All => figures.all = metrics,
                    CallLogBucket::Direction(direction) => {
                        figures.by_direction.insert(direction.clone(), metrics);
                    }
                    CallLogBucket::ExoPhone(line) => {
                        figures.by_line.insert(line.clone(), metrics);
                    }
                }
            }
            CounterKey::Calls {
                provider,
                line: CounterLine::All,
                day: d,
            } if *d == day => {
                figures
                    .call_events
                    .insert(provider.clone(), without_bump_count(fields));
            }
            _ => {}
        }
    }
    figures.agents = crate::calls::agents(day, counters);
    figures.sms.day = sms_day.to_string();
    for (key, fields) in sms_counters {
        if let CounterKey::Sms { project, day: d } = key {
            if *d != sms_day {
                continue;
            }
            let fields = without_bump_count(fields);
            for (name, n) in &fields {
                *figures.sms.totals.entry(name.clone()).or_default() += n;
            }
            figures.sms.projects.insert(project.clone(), fields);
        }
    }
    figures.sms.summarise();
    figures
}

/// Counter rows also count how often they were bumped (`total`), which means nothing here.
fn without_bump_count(fields: &BTreeMap<String, i64>) -> BTreeMap<String, i64> {
    fields
        .iter()
        .filter(|(name, _)| name.as_str() != dialtone_shared::store::COUNTER_TOTAL)
        .map(|(name, n)| (name.clone(), *n))
        .collect()
}

/// `GET /api/dashboard`: the tutorial's `health`, `metrics` and `generatedAt`, then
/// dialtone's additions.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Dashboard {
    pub health: Health,
    pub metrics: TutorialMetrics,
    pub generated_at: DateTime<Utc>,
    /// The account's day the metrics are of, and its zone.
    pub day: NaiveDate,
    pub time_zone: String,
    pub by_direction: BTreeMap<String, TutorialMetrics>,
    pub by_line: BTreeMap<String, TutorialMetrics>,
    pub call_events: BTreeMap<String, BTreeMap<String, i64>>,
    /// The live calls per agent today (Exotel WebRTC users).
    pub agents: Vec<AgentFigures>,
    pub sms: SmsFigures,
    pub callbacks: Vec<CallbackOwed>,
    pub open_alerts: Vec<OpenAlert>,
    /// The newest day compared with the call notifications; `null` before the first.
    pub missing_webhooks: Option<MissingWebhooks>,
    /// How fresh the call-log figures are: the end of the newest range the aggregator read
    /// to its last page; `null` before its first.
    pub data_as_of: Option<DateTime<Utc>>,
}

impl Dashboard {
    pub fn new(
        health: Health,
        day: NaiveDate,
        time_zone: String,
        figures: DayFigures,
        callbacks: Vec<CallbackOwed>,
        open_alerts: Vec<OpenAlert>,
        now: DateTime<Utc>,
    ) -> Self {
        let formatted = |buckets: &BTreeMap<String, Metrics>| {
            buckets
                .iter()
                .map(|(k, m)| (k.clone(), TutorialMetrics::from(m)))
                .collect()
        };
        Self {
            health,
            metrics: TutorialMetrics::from(&figures.all),
            generated_at: now,
            day,
            time_zone,
            by_direction: formatted(&figures.by_direction),
            by_line: formatted(&figures.by_line),
            call_events: figures.call_events,
            agents: figures.agents,
            sms: figures.sms,
            callbacks,
            open_alerts,
            missing_webhooks: None,
            data_as_of: None,
        }
    }

    /// With the time the call log was read through, when it was.
    pub fn with_data_as_of(mut self, data_as_of: Option<DateTime<Utc>>) -> Self {
        self.data_as_of = data_as_of;
        self
    }

    /// With the newest day compared with the call notifications, when there is one.
    pub fn with_missing_webhooks(mut self, compared: Option<&DayComparison>) -> Self {
        self.missing_webhooks = compared.map(MissingWebhooks::from);
        self
    }
}

/// Calls Exotel's call log lists that no Exotel call notification reported, per ExoPhone,
/// on the newest day compared (a day is compared once it has ended and the lag passed, so
/// never today).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MissingWebhooks {
    pub day: NaiveDate,
    /// Over the ExoPhones compared.
    pub listed: u64,
    pub missing: u64,
    /// The ExoPhones compared, by number.
    pub lines: BTreeMap<String, LineNotifications>,
    /// Listed but not compared: no notification in 7 days (their flow sends none).
    pub silent_lines: Vec<String>,
    /// Listed but not compared: left out by `MissingWebhookLeftOutExoPhones`.
    pub left_out_lines: Vec<String>,
    /// Notified calls whose notifications never named their ExoPhone.
    pub notified_without_line: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LineNotifications {
    pub listed: u64,
    pub notified: u64,
    pub missing: u64,
}

impl From<&DayComparison> for MissingWebhooks {
    fn from(c: &DayComparison) -> Self {
        Self {
            day: c.day,
            listed: c.listed(),
            missing: c.missing(),
            lines: c
                .lines
                .iter()
                .map(|(line, l)| {
                    let figures = LineNotifications {
                        listed: l.listed,
                        notified: l.notified,
                        missing: l.missing,
                    };
                    (line.clone(), figures)
                })
                .collect(),
            silent_lines: c.silent_lines.clone(),
            left_out_lines: c.left_out_lines.clone(),
            notified_without_line: c.notified_without_line,
        }
    }
}

/// Why a range was refused: the text is the 400's message.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RangeError {
    #[error("start and end are required, as YYYY-MM-DD")]
    Missing,
    #[error("{0:?} is not a date of the form YYYY-MM-DD")]
    Malformed(String),
    #[error("start {start} is after end {end}")]
    Reversed { start: NaiveDate, end: NaiveDate },
    #[error("{0} is after today ({1}) in the account's time zone")]
    Future(NaiveDate, NaiveDate),
    #[error("{0} is older than the {METRICS_HORIZON_DAYS} days of stored metrics")]
    BeyondHorizon(NaiveDate),
    #[error("at most {MAX_RANGE_DAYS} days per request")]
    TooLong,
}

/// Reads `start` and `end` of a range request against `today` (the account's day).
pub fn parse_range(
    start: Option<&str>,
    end: Option<&str>,
    today: NaiveDate,
) -> Result<(NaiveDate, NaiveDate), RangeError> {
    let (Some(start), Some(end)) = (start, end) else {
        return Err(RangeError::Missing);
    };
    let date = |raw: &str| {
        let raw = raw.trim();
        // Exactly the documented form: chrono would also take `2026-1-5`.
        if raw.len() != 10 {
            return Err(RangeError::Malformed(raw.to_owned()));
        }
        NaiveDate::parse_from_str(raw, "%Y-%m-%d")
            .map_err(|_| RangeError::Malformed(raw.to_owned()))
    };
    let (start, end) = (date(start)?, date(end)?);
    if start > end {
        return Err(RangeError::Reversed { start, end });
    }
    if end > today {
        return Err(RangeError::Future(end, today));
    }
    if start < today - Duration::days(METRICS_HORIZON_DAYS - 1) {
        return Err(RangeError::BeyondHorizon(start));
    }
    if (end - start).num_days() + 1 > MAX_RANGE_DAYS {
        return Err(RangeError::TooLong);
    }
    Ok((start, end))
}

#[cfg(test)]
#[path = "view_test.rs"]
mod tests;
