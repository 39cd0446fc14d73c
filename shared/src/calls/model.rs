use crate::phone::E164;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Provider {
    Voipstudio,
    ExotelWebrtc,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Voipstudio => "voipstudio",
            Self::ExotelWebrtc => "exotel-webrtc",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CallDirection {
    Inbound,
    Outbound,
}

/// Which object of the PBX an event is about (VoIPstudio's `context`): the queue the call
/// waits in, or one user's phone (an agent's leg when the call came through a queue).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallContext {
    Queue,
    LocalUser,
    Other,
}

impl CallContext {
    /// Read case-insensitively: the document writes both `QUEUE` and `context:Queue`.
    pub fn parse(raw: &str) -> Self {
        let raw = raw.trim();
        if raw.eq_ignore_ascii_case("queue") {
            Self::Queue
        } else if raw.eq_ignore_ascii_case("local_user") {
            Self::LocalUser
        } else {
            Self::Other
        }
    }
}

/// What one event says happened to the call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    Started,
    Ringing,
    Answered,
    Held,
    Resumed,
    Dtmf {
        tag: Option<String>,
        target: Option<String>,
    },
    /// The call ended; `talk_seconds` when the provider says.
    Ended {
        talk_seconds: Option<i64>,
    },
    /// Nobody answered; `queue`: the caller gave up waiting in a queue.
    Missed {
        ring_seconds: Option<i64>,
        queue: bool,
    },
    /// VoIPstudio's post-call wrap-up panel: `START`, `END` or `TIMEOUT` (upper-cased).
    WrapUp {
        state: String,
    },
    /// A text message, not a call (VoIPstudio `sms.received`).
    Sms,
    /// An event the provider added after this was written: kept whole, it changes
    /// nothing (the receiver raises one warning per new name).
    Unrecognised,
}

/// A provider's event, normalised.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CallEvent {
    pub provider: Provider,
    /// The provider's id for the call (`None` for an SMS).
    pub call_id: Option<String>,
    /// The provider's name for the event, e.g. `call.hangup` or `call_missed`.
    pub event: String,
    /// Unique per delivery of this event: its idempotency key.
    pub dedup_key: String,
    pub at: DateTime<Utc>,
    pub step: Step,
    pub direction: Option<CallDirection>,
    /// Our number (ExoPhone / DID), E.164 where it can be normalised.
    pub line: Option<String>,
    /// The other party, when it is a phone number.
    pub customer: Option<E164>,
    pub started_at: Option<DateTime<Utc>>,
    pub answered_at: Option<DateTime<Utc>>,
    /// VoIPstudio's `context`: whether the event is the queue's or a user's.
    pub context: Option<CallContext>,
    /// Exotel WebRTC: the user the call rang for or was made by (`user_id`), who answered
    /// it (`answered_by`) and on which device (`device`).
    pub user_id: Option<String>,
    pub answered_by: Option<String>,
    pub device: Option<String>,
    /// Exotel WebRTC `call_completed`: whether a recording of the call is available.
    pub recording_available: Option<bool>,
    /// Every field the provider sent.
    pub raw: serde_json::Value,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("body is not valid JSON for this event: {0}")]
    Json(String),
    #[error("{field} is not a valid time: {value:?}")]
    Time { field: &'static str, value: String },
    #[error("{0} is missing")]
    Missing(&'static str),
}

/// `+9198…` stays; `9198…` (VoIPstudio's form) gains its `+`; SIP URIs and extensions are
/// not phone numbers.
pub fn normalise_phone(raw: &str) -> Option<E164> {
    let raw = raw.trim();
    if raw.starts_with('+') {
        E164::parse(raw).ok()
    } else {
        E164::parse(&format!("+{raw}")).ok()
    }
}

pub(super) fn number_or_string<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<String>, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(d)? {
        Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

pub(super) fn seconds<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(number_or_string(d)?
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|f| f.is_finite() && *f >= 0.0 && *f < 1.0e9)
        .map(|f| f as i64))
}

pub(super) fn raw_json(body: &[u8]) -> Result<serde_json::Value, ParseError> {
    let raw: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| ParseError::Json(e.to_string()))?;
    if raw.is_object() {
        Ok(raw)
    } else {
        Err(ParseError::Json("expected a JSON object".into()))
    }
}

pub(super) fn line_of(raw: Option<&str>) -> Option<String> {
    let raw = raw?.trim();
    if raw.is_empty() {
        return None;
    }
    Some(
        normalise_phone(raw)
            .map(String::from)
            .unwrap_or_else(|| raw.to_owned()),
    )
}

impl CallEvent {
    pub fn parse_voipstudio(body: &[u8]) -> Result<Self, ParseError> {
        super::voipstudio::parse(body)
    }

    pub fn parse_exotel(body: &[u8]) -> Result<Self, ParseError> {
        super::exotel_webrtc::parse(body)
    }
}

/// The `Event` of its metric line: the event as the provider named it.
impl crate::metrics::EventName for CallEvent {
    fn event_name(&self) -> &str {
        &self.event
    }
}

#[cfg(test)]
#[path = "model_test.rs"]
mod tests;
