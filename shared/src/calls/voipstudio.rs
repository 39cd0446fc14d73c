//! VoIPstudio's webhooks: one JSON body per event, `event_name` saying which, times in
//! `Y-m-d H:i:s` UTC, numbers without their `+`.

use super::model::{
    line_of, normalise_phone, number_or_string, raw_json, seconds, CallContext, CallDirection,
    CallEvent, ParseError, Provider, Step,
};
use chrono::{DateTime, Utc};
use serde::Deserialize;

/// VoIPstudio's `Y-m-d H:i:s`, in UTC.
fn voipstudio_time(field: &'static str, value: &str) -> Result<DateTime<Utc>, ParseError> {
    crate::time_text::date_and_time(value.trim())
        .map(|t| t.and_utc())
        .ok_or_else(|| ParseError::Time {
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

pub(super) fn parse(body: &[u8]) -> Result<CallEvent, ParseError> {
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
    let context = wire.context.as_deref().map(CallContext::parse);
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
            queue: context == Some(CallContext::Queue),
        },
        // Upper-cased as the document writes the states, so a `Start` is still a start.
        "queue.wrapup" => Step::WrapUp {
            state: wire
                .state
                .as_deref()
                .map(|s| s.trim().to_ascii_uppercase())
                .unwrap_or_default(),
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
    Ok(CallEvent {
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
        context,
        user_id: None,
        answered_by: None,
        device: None,
        recording_available: None,
        raw,
    })
}
