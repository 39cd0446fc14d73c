use crate::phone::E164;
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

/// Which way calls fail on a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Incoming,
    Outgoing,
}

impl Direction {
    pub const ALL: [Direction; 2] = [Direction::Incoming, Direction::Outgoing];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Incoming => "incoming",
            Self::Outgoing => "outgoing",
        }
    }
}

/// The identifier Exotel gives an ExoPhone; not always its number.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ExoPhoneSid(String);

impl ExoPhoneSid {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        Self::check(raw)?;
        Ok(Self(raw.to_owned()))
    }

    fn check(raw: &str) -> Result<(), ParseError> {
        let ok = !raw.is_empty()
            && raw.len() <= 64
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(())
        } else {
            Err(ParseError::InvalidSid)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ExoPhoneSid {
    type Error = ParseError;
    /// Keeps the string it is given: a 20 000-line heartbeat and its state hold some
    /// 70 000 SIDs, each copied once more before.
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::check(&value)?;
        Ok(Self(value))
    }
}

/// As a plain string; by hand rather than `into = "String"`, which clones every SID to
/// write it.
impl Serialize for ExoPhoneSid {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ExoPhoneSid {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::try_from(String::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

impl From<ExoPhoneSid> for String {
    fn from(value: ExoPhoneSid) -> Self {
        value.0
    }
}

impl fmt::Display for ExoPhoneSid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One direction's connectivity block, as in the Get ExoPhone Details API; some heartbeats
/// carry it per line.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connectivity {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub last_check_time: Option<String>,
    #[serde(default)]
    pub alternate_exophone: Option<serde_json::Value>,
}

/// What a heartbeat says about one affected line. Fields Exotel adds later are kept in
/// `extra` rather than dropped.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LineInfo {
    #[serde(default, deserialize_with = "lenient_phone")]
    pub phone_number: Option<E164>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connectivity: Option<BTreeMap<String, Connectivity>>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl LineInfo {
    /// Alternate ExoPhones Exotel suggests for this line and direction, when it offers any.
    pub fn alternates(&self, direction: Direction) -> Vec<String> {
        let key = match direction {
            Direction::Incoming => "incoming_call",
            Direction::Outgoing => "outgoing_call",
        };
        let Some(value) = self
            .connectivity
            .as_ref()
            .and_then(|c| c.get(key))
            .and_then(|c| c.alternate_exophone.as_ref())
        else {
            return Vec::new();
        };
        match value {
            serde_json::Value::String(s) => vec![s.clone()],
            serde_json::Value::Array(items) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// A number that is not E.164 does not make the heartbeat unreadable: the line is still
/// known by its SID, so an outage is still reported.
fn lenient_phone<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<E164>, D::Error> {
    let raw: Option<String> = Option::deserialize(d)?;
    Ok(raw.and_then(|r| E164::parse(r.trim()).ok()))
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
    #[error(
        "an ExoPhone SID is empty, too long or has characters other than letters, digits, - and _"
    )]
    InvalidSid,
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

#[cfg(test)]
#[path = "model_test.rs"]
mod tests;
