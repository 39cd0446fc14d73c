//! The keys of the state and counter rows, typed: every writer builds one, and what reads
//! them back (the dashboard, the callback watchdog's index) parses them. `Display` prints
//! exactly the strings stored since the first release, and `FromStr` reads them, so rows
//! already stored are still found.

use chrono::{DateTime, NaiveDate, Utc};
use std::fmt;
use std::str::FromStr;

/// What one counter row counts, and over which day or window.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CounterKey {
    /// `metrics:<day>:all|direction:<direction>|exophone:<ExoPhone>`: the call log's
    /// figures of one account day (Bulk Call Details).
    CallLog {
        day: NaiveDate,
        bucket: CallLogBucket,
    },
    /// `calls:<provider>:<line>|unknown-line|all:<day>`: the calls one provider's
    /// notifications reported on an account day.
    Calls {
        provider: String,
        line: CounterLine,
        day: NaiveDate,
    },
    /// `calls-agent:<provider>:<agent>:<day>`: the calls one agent (a WebRTC user) answered,
    /// missed and made on an account day.
    CallAgent {
        provider: String,
        agent: String,
        day: NaiveDate,
    },
    /// `telerivet:sms:<project>:<day>`: a Telerivet project's messages on a UTC day.
    Sms { project: String, day: NaiveDate },
    /// `telerivet:sms-failures:<project>:<window start>`: failed sends in one window.
    SmsFailures {
        project: String,
        window: DateTime<Utc>,
    },
    /// `telerivet:sms-sends:<project>:<window start>`: outgoing messages first heard of in
    /// one failure window, the denominator of the failure ratio.
    SmsSends {
        project: String,
        window: DateTime<Utc>,
    },
    /// `telerivet:auth-failures:<window start>`: requests refused for their secret.
    AuthFailures { window: DateTime<Utc> },
}

/// Which of a call-log day's buckets.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CallLogBucket {
    All,
    Direction(String),
    ExoPhone(String),
}

/// The line a call counter is kept under.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CounterLine {
    Line(String),
    /// A call whose line is not known (yet, or ever).
    Unknown,
    All,
}

impl CounterKey {
    /// The day a daily counter belongs to (it is indexed under it, so a day's counters are
    /// one query); `None` for a window's.
    pub fn day(&self) -> Option<NaiveDate> {
        match self {
            Self::CallLog { day, .. }
            | Self::Calls { day, .. }
            | Self::CallAgent { day, .. }
            | Self::Sms { day, .. } => Some(*day),
            Self::SmsFailures { .. } | Self::SmsSends { .. } | Self::AuthFailures { .. } => None,
        }
    }
}

impl fmt::Display for CounterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CallLog { day, bucket } => match bucket {
                CallLogBucket::All => write!(f, "metrics:{day}:all"),
                CallLogBucket::Direction(d) => write!(f, "metrics:{day}:direction:{d}"),
                CallLogBucket::ExoPhone(e) => write!(f, "metrics:{day}:exophone:{e}"),
            },
            Self::Calls {
                provider,
                line,
                day,
            } => {
                let line = match line {
                    CounterLine::Line(line) => line.as_str(),
                    CounterLine::Unknown => "unknown-line",
                    CounterLine::All => "all",
                };
                write!(f, "calls:{provider}:{line}:{day}")
            }
            Self::CallAgent {
                provider,
                agent,
                day,
            } => write!(f, "calls-agent:{provider}:{agent}:{day}"),
            Self::Sms { project, day } => write!(f, "telerivet:sms:{project}:{day}"),
            Self::SmsFailures { project, window } => {
                write!(
                    f,
                    "telerivet:sms-failures:{project}:{}",
                    window.to_rfc3339()
                )
            }
            Self::SmsSends { project, window } => {
                write!(f, "telerivet:sms-sends:{project}:{}", window.to_rfc3339())
            }
            Self::AuthFailures { window } => {
                write!(f, "telerivet:auth-failures:{}", window.to_rfc3339())
            }
        }
    }
}

/// A stored key that is none of the [`CounterKey`]s.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a counter key: {0:?}")]
pub struct UnknownCounterKey(pub String);

/// `<rest>:<YYYY-MM-DD>`, split at the day.
fn ending_in_day(text: &str) -> Option<(&str, NaiveDate)> {
    let (rest, day) = text.rsplit_once(':')?;
    Some((rest, day.parse().ok()?))
}

/// `<rest>:<RFC 3339 instant>`, split at the instant (which has colons of its own).
fn ending_in_instant(text: &str) -> Option<(&str, DateTime<Utc>)> {
    text.char_indices()
        .filter(|&(_, c)| c == ':')
        .find_map(|(i, _)| {
            let at = DateTime::parse_from_rfc3339(&text[i + 1..]).ok()?;
            Some((&text[..i], at.with_timezone(&Utc)))
        })
}

impl FromStr for CounterKey {
    type Err = UnknownCounterKey;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let unknown = || UnknownCounterKey(text.to_owned());
        // Free text may be empty: the writers keep what the provider sent (a call record's
        // `"Direction": ""`, a form's `project_id=`), and such a counter must still be read.
        let free = |s: &str| s.to_owned();
        if let Some(rest) = text.strip_prefix("metrics:") {
            let (day, bucket) = rest.split_once(':').ok_or_else(unknown)?;
            let day = day.parse().map_err(|_| unknown())?;
            let bucket = match bucket.split_once(':') {
                None if bucket == "all" => CallLogBucket::All,
                Some(("direction", d)) => CallLogBucket::Direction(free(d)),
                Some(("exophone", e)) => CallLogBucket::ExoPhone(free(e)),
                _ => return Err(unknown()),
            };
            return Ok(Self::CallLog { day, bucket });
        }
        if let Some(rest) = text.strip_prefix("calls:") {
            let (rest, day) = ending_in_day(rest).ok_or_else(unknown)?;
            let (provider, line) = rest.split_once(':').ok_or_else(unknown)?;
            let line = match line {
                "all" => CounterLine::All,
                "unknown-line" => CounterLine::Unknown,
                line => CounterLine::Line(free(line)),
            };
            return Ok(Self::Calls {
                provider: free(provider),
                line,
                day,
            });
        }
        if let Some(rest) = text.strip_prefix("calls-agent:") {
            // The provider has no colon; the agent's id may: it is the rest.
            let (rest, day) = ending_in_day(rest).ok_or_else(unknown)?;
            let (provider, agent) = rest.split_once(':').ok_or_else(unknown)?;
            return Ok(Self::CallAgent {
                provider: free(provider),
                agent: free(agent),
                day,
            });
        }
        if let Some(rest) = text.strip_prefix("telerivet:sms:") {
            let (project, day) = ending_in_day(rest).ok_or_else(unknown)?;
            return Ok(Self::Sms {
                project: free(project),
                day,
            });
        }
        if let Some(rest) = text.strip_prefix("telerivet:sms-failures:") {
            let (project, window) = ending_in_instant(rest).ok_or_else(unknown)?;
            return Ok(Self::SmsFailures {
                project: free(project),
                window,
            });
        }
        if let Some(rest) = text.strip_prefix("telerivet:sms-sends:") {
            let (project, window) = ending_in_instant(rest).ok_or_else(unknown)?;
            return Ok(Self::SmsSends {
                project: free(project),
                window,
            });
        }
        if let Some(window) = text.strip_prefix("telerivet:auth-failures:") {
            let window = DateTime::parse_from_rfc3339(window).map_err(|_| unknown())?;
            return Ok(Self::AuthFailures {
                window: window.with_timezone(&Utc),
            });
        }
        Err(unknown())
    }
}

/// Which state row (the text after `STATE#` in its `pk`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StateKey {
    /// `exotel-heartbeat`: the heartbeat monitor (the fleet and its lines).
    HeartbeatMonitor,
    /// `heartbeat-watchdog`: when the last heartbeat came, and the silence recorded.
    HeartbeatWatchdog,
    /// `call-log-aggregator`: the scheduled read's watermark.
    CallLogCursor,
    /// `call-log-aggregator:backfill`: a backfill's own cursor.
    CallLogBackfill,
    /// `call-log-aggregator:missing-webhooks`: the newest day whose listed calls were
    /// compared with the call notifications received, per ExoPhone.
    MissingWebhooks,
    /// `call:<provider>:<call id>`: one call as its notifications told it.
    Call { provider: String, id: String },
    /// `callback:<customer>`: the callback owed to one customer.
    Callback { customer: String },
    /// `telerivet:<object>:<id>`: one Telerivet message, its metadata, a contact, a
    /// broadcast, or a sending phone as the SMS watchdog judged it.
    Telerivet { object: TelerivetObject, id: String },
}

/// What a Telerivet state row is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TelerivetObject {
    Message,
    MessageMetadata,
    Contact,
    Broadcast,
    Phone,
}

impl TelerivetObject {
    const ALL: [Self; 5] = [
        Self::Message,
        Self::MessageMetadata,
        Self::Contact,
        Self::Broadcast,
        Self::Phone,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Message => "message",
            Self::MessageMetadata => "message-metadata",
            Self::Contact => "contact",
            Self::Broadcast => "broadcast",
            Self::Phone => "phone",
        }
    }
}

impl fmt::Display for StateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::HeartbeatMonitor => f.write_str("exotel-heartbeat"),
            Self::HeartbeatWatchdog => f.write_str("heartbeat-watchdog"),
            Self::CallLogCursor => f.write_str("call-log-aggregator"),
            Self::CallLogBackfill => f.write_str("call-log-aggregator:backfill"),
            Self::MissingWebhooks => f.write_str("call-log-aggregator:missing-webhooks"),
            Self::Call { provider, id } => write!(f, "call:{provider}:{id}"),
            Self::Callback { customer } => write!(f, "callback:{customer}"),
            Self::Telerivet { object, id } => write!(f, "telerivet:{}:{id}", object.as_str()),
        }
    }
}

/// A stored key that is none of the [`StateKey`]s.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a state key: {0:?}")]
pub struct UnknownStateKey(pub String);

impl FromStr for StateKey {
    type Err = UnknownStateKey;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let unknown = || UnknownStateKey(text.to_owned());
        // Ids are kept as the provider sent them, empty or not: every key printed reads back.
        let free = |s: &str| s.to_owned();
        match text {
            "exotel-heartbeat" => return Ok(Self::HeartbeatMonitor),
            "heartbeat-watchdog" => return Ok(Self::HeartbeatWatchdog),
            "call-log-aggregator" => return Ok(Self::CallLogCursor),
            "call-log-aggregator:backfill" => return Ok(Self::CallLogBackfill),
            "call-log-aggregator:missing-webhooks" => return Ok(Self::MissingWebhooks),
            _ => {}
        }
        if let Some(rest) = text.strip_prefix("call:") {
            let (provider, id) = rest.split_once(':').ok_or_else(unknown)?;
            return Ok(Self::Call {
                provider: free(provider),
                id: free(id),
            });
        }
        if let Some(customer) = text.strip_prefix("callback:") {
            return Ok(Self::Callback {
                customer: free(customer),
            });
        }
        if let Some(rest) = text.strip_prefix("telerivet:") {
            let (object, id) = rest.split_once(':').ok_or_else(unknown)?;
            let object = TelerivetObject::ALL
                .into_iter()
                .find(|o| o.as_str() == object)
                .ok_or_else(unknown)?;
            return Ok(Self::Telerivet {
                object,
                id: free(id),
            });
        }
        Err(unknown())
    }
}

#[cfg(test)]
#[path = "keys_test.rs"]
mod tests;
