//! Exotel WebRTC call notifications: `incoming_call` / `outbound_call` name the call's
//! ExoPhone, numbers and user; the status updates carry the call's Sid, a timestamp and
//! what is new (`answered_by` and `device`, `talk_time` and `recording_available`).

use super::model::{
    line_of, normalise_phone, raw_json, seconds, CallDirection, CallEvent, ParseError, Provider,
    Step,
};
use chrono::{DateTime, Utc};
use serde::Deserialize;

/// Exotel's call notifications: "ISO 8601 timestamp" (see `time_text::iso8601`).
fn iso8601(field: &'static str, value: &str) -> Result<DateTime<Utc>, ParseError> {
    crate::time_text::iso8601(value).ok_or_else(|| ParseError::Time {
        field,
        value: value.to_owned(),
    })
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
    #[serde(default, deserialize_with = "super::model::number_or_string")]
    user_id: Option<String>,
    #[serde(default, deserialize_with = "super::model::number_or_string")]
    answered_by: Option<String>,
    #[serde(default, deserialize_with = "super::model::number_or_string")]
    device: Option<String>,
    #[serde(default, deserialize_with = "flag")]
    recording_available: Option<bool>,
}

/// `true`/`false`, and the strings `"true"`/`"false"` a form-minded sender might use;
/// anything else is as good as absent (a recording flag is not worth refusing a call for).
fn flag<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(d)? {
        Some(serde_json::Value::Bool(b)) => Some(b),
        Some(serde_json::Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        },
        _ => None,
    })
}

/// An agent's id as a counter key can hold it: trimmed, at most 128 characters.
fn agent_id(raw: Option<String>) -> Option<String> {
    let id = raw?.trim().chars().take(128).collect::<String>();
    (!id.is_empty()).then_some(id)
}

/// A device name as a counter field can hold it: lower case letters, digits, `-` and `_`,
/// at most 32 of them (it becomes part of a field name, so nothing else gets through).
fn device_name(raw: Option<String>) -> Option<String> {
    let name: String = raw?
        .trim()
        .to_ascii_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        .take(32)
        .collect();
    (!name.is_empty()).then_some(name)
}

pub(super) fn parse(body: &[u8]) -> Result<CallEvent, ParseError> {
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
    Ok(CallEvent {
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
        context: None,
        user_id: agent_id(wire.user_id),
        answered_by: agent_id(wire.answered_by),
        device: device_name(wire.device),
        recording_available: wire.recording_available,
        raw,
    })
}
