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
    /// VoIPstudio's post-call wrap-up panel: START, END or TIMEOUT.
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

fn number_or_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(d)? {
        Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

fn seconds<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(number_or_string(d)?
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|f| f.is_finite() && *f >= 0.0 && *f < 1.0e9)
        .map(|f| f as i64))
}

/// VoIPstudio's `Y-m-d H:i:s`, in UTC.
fn voipstudio_time(field: &'static str, value: &str) -> Result<DateTime<Utc>, ParseError> {
    crate::time_text::date_and_time(value.trim())
        .map(|t| t.and_utc())
        .ok_or_else(|| ParseError::Time {
            field,
            value: value.to_owned(),
        })
}

/// Exotel's call notifications: "ISO 8601 timestamp" (see `time_text::iso8601`).
fn iso8601(field: &'static str, value: &str) -> Result<DateTime<Utc>, ParseError> {
    crate::time_text::iso8601(value).ok_or_else(|| ParseError::Time {
        field,
        value: value.to_owned(),
    })
}

#[derive(Deserialize)]
struct VoipstudioWire {
    id: String,
    event_time: String,
    event_name: String,
    #[serde(default, deserialize_with = "number_or_string")]
    call_id: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    connected_at: Option<String>,
    #[serde(default)]
    start_time: Option<String>,
    #[serde(default)]
    context: Option<String>,
    #[serde(default)]
    destination: Option<String>,
    #[serde(default, deserialize_with = "seconds")]
    duration: Option<i64>,
    #[serde(default, deserialize_with = "number_or_string")]
    src: Option<String>,
    #[serde(default, deserialize_with = "number_or_string")]
    dst: Option<String>,
    #[serde(default)]
    dtmf_tag: Option<String>,
    #[serde(default)]
    dtmf_target: Option<String>,
    #[serde(default, deserialize_with = "number_or_string")]
    from_no: Option<String>,
    #[serde(default, deserialize_with = "number_or_string")]
    to_no: Option<String>,
}

#[derive(Deserialize)]
struct ExotelWire {
    event: String,
    call_sid: String,
    timestamp: String,
    #[serde(default)]
    direction: Option<String>,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    exophone: Option<String>,
    #[serde(default, deserialize_with = "seconds")]
    talk_time: Option<i64>,
    #[serde(default, deserialize_with = "seconds")]
    ring_time: Option<i64>,
    #[serde(default, deserialize_with = "seconds")]
    ring_duration: Option<i64>,
}

fn raw_json(body: &[u8]) -> Result<serde_json::Value, ParseError> {
    let raw: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| ParseError::Json(e.to_string()))?;
    if raw.is_object() {
        Ok(raw)
    } else {
        Err(ParseError::Json("expected a JSON object".into()))
    }
}

fn line_of(raw: Option<&str>) -> Option<String> {
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
        let raw = raw_json(body)?;
        // From the bytes, not from `raw`: a field given twice is refused, not last-wins.
        let wire: VoipstudioWire =
            serde_json::from_slice(body).map_err(|e| ParseError::Json(e.to_string()))?;
        let at = voipstudio_time("event_time", &wire.event_time)?;
        let optional_time = |field, v: &Option<String>| match v.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(t) => voipstudio_time(field, t).map(Some),
        };
        let started_at = optional_time("start_time", &wire.start_time)?;
        let answered_at = optional_time("connected_at", &wire.connected_at)?;
        let queue = wire.context.as_deref() == Some("QUEUE");
        let step = match wire.event_name.as_str() {
            "call.initial" => Step::Started,
            "call.ringing" => Step::Ringing,
            "call.connected" => Step::Answered,
            "call.hold" => Step::Held,
            "call.unhold" => Step::Resumed,
            "call.dtmf" => Step::Dtmf {
                tag: wire.dtmf_tag.clone(),
                target: wire.dtmf_target.clone(),
            },
            "call.hangup" => Step::Ended {
                talk_seconds: answered_at.and(wire.duration),
            },
            "call.missed" => Step::Missed {
                ring_seconds: None,
                queue,
            },
            "queue.wrapup" => Step::WrapUp {
                state: wire.state.clone().unwrap_or_default(),
            },
            "sms.received" => Step::Sms,
            _ => Step::Unrecognised,
        };
        let (direction, line, customer) = if step == Step::Sms {
            (
                Some(CallDirection::Inbound),
                line_of(wire.to_no.as_deref()),
                wire.from_no.as_deref().and_then(normalise_phone),
            )
        } else {
            match wire.destination.as_deref() {
                Some("out") => (
                    Some(CallDirection::Outbound),
                    line_of(wire.src.as_deref()),
                    wire.dst.as_deref().and_then(normalise_phone),
                ),
                Some("in") => (
                    Some(CallDirection::Inbound),
                    line_of(wire.dst.as_deref()),
                    wire.src.as_deref().and_then(normalise_phone),
                ),
                _ => (None, None, None),
            }
        };
        let call_id = if matches!(step, Step::Sms | Step::Unrecognised) {
            wire.call_id.clone()
        } else {
            Some(wire.call_id.clone().ok_or(ParseError::Missing("call_id"))?)
        };
        Ok(Self {
            provider: Provider::Voipstudio,
            call_id,
            event: wire.event_name,
            dedup_key: wire.id,
            at,
            step,
            direction,
            line,
            customer,
            started_at,
            answered_at,
            raw,
        })
    }

    pub fn parse_exotel(body: &[u8]) -> Result<Self, ParseError> {
        let raw = raw_json(body)?;
        let wire: ExotelWire =
            serde_json::from_slice(body).map_err(|e| ParseError::Json(e.to_string()))?;
        let at = iso8601("timestamp", &wire.timestamp)?;
        if wire.call_sid.trim().is_empty() {
            return Err(ParseError::Missing("call_sid"));
        }
        let (step, direction) = match wire.event.as_str() {
            "incoming_call" => (Step::Started, Some(CallDirection::Inbound)),
            "outbound_call" => (Step::Started, Some(CallDirection::Outbound)),
            "call_ringing" => (Step::Ringing, None),
            "call_answered" => (Step::Answered, None),
            "call_completed" => (
                Step::Ended {
                    talk_seconds: wire.talk_time,
                },
                None,
            ),
            "call_missed" => (
                Step::Missed {
                    ring_seconds: wire.ring_time,
                    queue: false,
                },
                None,
            ),
            "missed_call" => (
                Step::Missed {
                    ring_seconds: wire.ring_duration,
                    queue: false,
                },
                Some(CallDirection::Inbound),
            ),
            _ => (Step::Unrecognised, None),
        };
        let direction = direction.or(match wire.direction.as_deref() {
            Some("inbound") => Some(CallDirection::Inbound),
            Some("outbound") => Some(CallDirection::Outbound),
            _ => None,
        });
        let customer = match direction {
            Some(CallDirection::Inbound) => wire.from.as_deref().and_then(normalise_phone),
            Some(CallDirection::Outbound) => wire.to.as_deref().and_then(normalise_phone),
            None => None,
        };
        let started_at = (step == Step::Started).then_some(at);
        let answered_at = (step == Step::Answered).then_some(at);
        Ok(Self {
            provider: Provider::ExotelWebrtc,
            call_id: Some(wire.call_sid.clone()),
            dedup_key: format!("{}:{}", wire.call_sid, wire.event),
            event: wire.event,
            at,
            step,
            direction,
            line: line_of(wire.exophone.as_deref()),
            customer,
            started_at,
            answered_at,
            raw,
        })
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
