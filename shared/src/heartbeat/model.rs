use crate::exophone::{Direction, ExoPhoneSid, InvalidSid, LineInfo};
use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Exotel's overall status of all ExoPhones in one heartbeat.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HeartbeatStatus {
    /// Every ExoPhone is healthy.
    Ok,
    /// Some ExoPhones are affected, incoming, outgoing or both.
    Warning,
    /// Every ExoPhone is affected.
    Critical,
    /// The heartbeat was too large to list the lines: their state is unknown.
    PayloadTooLarge,
}

impl HeartbeatStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "OK",
            Self::Warning => "WARNING",
            Self::Critical => "CRITICAL",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
        }
    }
}

impl fmt::Display for HeartbeatStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A heartbeat, parsed: every field typed, sets deduplicated, `null` lists empty.
#[derive(Clone, Debug, PartialEq)]
pub struct Heartbeat {
    /// When Exotel generated it, with the offset it was sent with.
    pub timestamp: DateTime<FixedOffset>,
    pub status: HeartbeatStatus,
    pub incoming_affected: BTreeSet<ExoPhoneSid>,
    pub outgoing_affected: BTreeSet<ExoPhoneSid>,
    pub data: BTreeMap<ExoPhoneSid, LineInfo>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("body is not valid JSON for a heartbeat: {0}")]
    Json(String),
    #[error("timestamp is not RFC 3339: {0}")]
    Timestamp(String),
    /// Well formed, with a `status_type` other than the four documented: not an error to
    /// the receiver, which keeps it as an [`HeartbeatEvent::Unrecognised`].
    #[error("status_type {0:?} is not one of OK, WARNING, CRITICAL, PAYLOAD_TOO_LARGE")]
    UnrecognisedStatus(String, DateTime<FixedOffset>),
    #[error(transparent)]
    InvalidSid(#[from] InvalidSid),
}

/// Top-level fields Exotel may add later are ignored, not fatal.
#[derive(Deserialize)]
struct Wire {
    timestamp: String,
    status_type: String,
    #[serde(default)]
    incoming_affected: Option<Vec<ExoPhoneSid>>,
    #[serde(default)]
    outgoing_affected: Option<Vec<ExoPhoneSid>>,
    #[serde(default)]
    data: Option<BTreeMap<ExoPhoneSid, LineInfo>>,
}

/// What a heartbeat request holds: a status the monitor decides on, or a well-formed
/// heartbeat whose `status_type` Exotel added after this was written, kept whole.
#[derive(Clone, Debug, PartialEq)]
pub enum HeartbeatEvent {
    Status(Heartbeat),
    Unrecognised {
        status_type: String,
        timestamp: DateTime<FixedOffset>,
        raw: serde_json::Value,
    },
}

impl HeartbeatEvent {
    pub fn parse(body: &[u8]) -> Result<Self, ParseError> {
        match Heartbeat::parse(body) {
            Ok(hb) => Ok(Self::Status(hb)),
            Err(ParseError::UnrecognisedStatus(status_type, timestamp)) => Ok(Self::Unrecognised {
                status_type,
                timestamp,
                raw: serde_json::from_slice(body).map_err(|e| ParseError::Json(e.to_string()))?,
            }),
            Err(other) => Err(other),
        }
    }

    pub fn timestamp(&self) -> DateTime<FixedOffset> {
        match self {
            Self::Status(hb) => hb.timestamp,
            Self::Unrecognised { timestamp, .. } => *timestamp,
        }
    }

    pub fn at_utc(&self) -> DateTime<Utc> {
        self.timestamp().with_timezone(&Utc)
    }
}

impl Heartbeat {
    /// Strict JSON: the documentation's hand-written examples (trailing commas, a
    /// timestamp ending in `Z>`) are rejected, and the handler quarantines what it rejects.
    pub fn parse(body: &[u8]) -> Result<Self, ParseError> {
        let wire: Wire =
            serde_json::from_slice(body).map_err(|e| ParseError::Json(e.to_string()))?;
        let timestamp = DateTime::parse_from_rfc3339(wire.timestamp.trim())
            .map_err(|e| ParseError::Timestamp(format!("{:?}: {e}", wire.timestamp)))?;
        let status = match wire.status_type.as_str() {
            "OK" => HeartbeatStatus::Ok,
            "WARNING" => HeartbeatStatus::Warning,
            "CRITICAL" => HeartbeatStatus::Critical,
            "PAYLOAD_TOO_LARGE" => HeartbeatStatus::PayloadTooLarge,
            _ => return Err(ParseError::UnrecognisedStatus(wire.status_type, timestamp)),
        };
        Ok(Self {
            timestamp,
            status,
            incoming_affected: wire
                .incoming_affected
                .unwrap_or_default()
                .into_iter()
                .collect(),
            outgoing_affected: wire
                .outgoing_affected
                .unwrap_or_default()
                .into_iter()
                .collect(),
            data: wire.data.unwrap_or_default(),
        })
    }

    pub fn at_utc(&self) -> DateTime<Utc> {
        self.timestamp.with_timezone(&Utc)
    }

    pub fn affected(&self, direction: Direction) -> &BTreeSet<ExoPhoneSid> {
        match direction {
            Direction::Incoming => &self.incoming_affected,
            Direction::Outgoing => &self.outgoing_affected,
        }
    }
}

/// The `Event` of its metric line: the status, or the unrecognised status as sent.
impl crate::metrics::EventName for HeartbeatEvent {
    fn event_name(&self) -> &str {
        match self {
            Self::Status(hb) => hb.status.as_str(),
            Self::Unrecognised { status_type, .. } => status_type,
        }
    }
}

#[cfg(test)]
#[path = "model_test.rs"]
mod tests;
