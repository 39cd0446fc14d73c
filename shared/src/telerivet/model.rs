use serde::{Deserialize, Deserializer};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Bracket nesting deeper than this is refused (`contact[vars][foo]` is 2).
pub const MAX_DEPTH: usize = 4;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("form body could not be decoded: {0}")]
    Form(String),
    #[error("the form has no `event` field")]
    NoEvent,
    #[error("{event}: {reason}")]
    Fields { event: String, reason: String },
}

/// One webhook request, parsed.
#[derive(Clone, Debug, PartialEq)]
pub struct TelerivetEvent {
    pub kind: EventKind,
    /// Every field Telerivet sent except `secret`, nested as its brackets say: the REST
    /// properties this code does not name are kept here, not dropped.
    pub raw: serde_json::Value,
}

#[derive(Clone, Debug, PartialEq)]
pub enum EventKind {
    IncomingMessage(IncomingMessage),
    SendStatus(SendStatus),
    SendBroadcast(SendBroadcast),
    ContactUpdate(ContactUpdate),
    MessageMetadata(MessageMetadata),
    /// Telerivet says new event types will come: kept and acknowledged.
    Unknown {
        event: String,
    },
}

impl EventKind {
    pub fn name(&self) -> &str {
        match self {
            Self::IncomingMessage(_) => "incoming_message",
            Self::SendStatus(_) => "send_status",
            Self::SendBroadcast(_) => "send_broadcast",
            Self::ContactUpdate(_) => "contact_update",
            Self::MessageMetadata(_) => "message_metadata",
            Self::Unknown { event } => event,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Contact {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient_i64")]
    pub time_created: Option<i64>,
    #[serde(default, deserialize_with = "lenient_i64")]
    pub message_count: Option<i64>,
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct State {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "lenient_i64")]
    pub time_created: Option<i64>,
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Phone {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub phone_type: Option<String>,
    #[serde(default)]
    pub country: Option<String>,
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Media {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default, rename = "type")]
    pub media_type: Option<String>,
    #[serde(default)]
    pub filename: Option<String>,
    #[serde(default, deserialize_with = "lenient_i64")]
    pub size: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct IncomingMessage {
    pub id: String,
    #[serde(default)]
    pub message_type: Option<String>,
    #[serde(default)]
    pub content: String,
    #[serde(default)]
    pub from_number: Option<String>,
    #[serde(default)]
    pub from_number_e164: Option<String>,
    #[serde(default)]
    pub to_number: Option<String>,
    #[serde(default, deserialize_with = "lenient_i64")]
    pub time_created: Option<i64>,
    #[serde(default, deserialize_with = "lenient_i64")]
    pub time_sent: Option<i64>,
    #[serde(default)]
    pub contact_id: Option<String>,
    #[serde(default)]
    pub phone_id: Option<String>,
    #[serde(default)]
    pub service_id: Option<String>,
    #[serde(default)]
    pub project_id: Option<String>,
    #[serde(default)]
    pub media: Vec<Media>,
    #[serde(default)]
    pub contact: Option<Contact>,
    #[serde(default)]
    pub state: Option<State>,
    #[serde(default)]
    pub phone: Option<Phone>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct SendStatus {
    pub id: String,
    pub status: String,
    #[serde(default)]
    pub error_message: Option<String>,
    #[serde(default)]
    pub message_type: Option<String>,
    #[serde(default)]
    pub from_number: Option<String>,
    #[serde(default)]
    pub to_number: Option<String>,
    #[serde(default)]
    pub contact_id: Option<String>,
    #[serde(default)]
    pub phone_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_i64")]
    pub time_created: Option<i64>,
    #[serde(default, deserialize_with = "lenient_i64")]
    pub time_sent: Option<i64>,
    #[serde(default, deserialize_with = "lenient_i64")]
    pub time_clicked: Option<i64>,
    #[serde(default)]
    pub project_id: Option<String>,
    #[serde(default)]
    pub contact: Option<Contact>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Recipient {
    #[serde(default, rename = "type")]
    pub recipient_type: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct SendBroadcast {
    pub id: String,
    #[serde(default)]
    pub recipients_str: Option<String>,
    #[serde(default)]
    pub recipients: Vec<Recipient>,
    #[serde(default, deserialize_with = "lenient_i64")]
    pub estimated_count: Option<i64>,
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default)]
    pub route_id: Option<String>,
    #[serde(default)]
    pub project_id: Option<String>,
    #[serde(default)]
    pub user_name: Option<String>,
    #[serde(default)]
    pub user_email: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct ContactUpdate {
    /// add, auto_add, update, update_field, add_group, remove_group, block_send,
    /// unblock_send or delete; others are kept as they come.
    pub update_type: String,
    pub id: String,
    #[serde(default)]
    pub phone_number: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub send_blocked: Option<bool>,
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
    #[serde(default)]
    pub group_ids: Vec<String>,
    #[serde(default)]
    pub project_id: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct MessageMetadata {
    /// star, unstar, add_label, remove_label, set_variable or call_complete.
    pub update_type: String,
    pub id: String,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub starred: Option<bool>,
    #[serde(default)]
    pub label_ids: Vec<String>,
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub in_progress: Option<bool>,
    #[serde(default)]
    pub project_id: Option<String>,
    #[serde(default)]
    pub contact: Option<Contact>,
}

/// Webhook values are all strings: `"1700000000"`, sometimes `"1700000000.25"`.
fn lenient_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let Some(raw) = Option::<String>::deserialize(d)? else {
        return Ok(None);
    };
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    if let Ok(n) = raw.parse::<i64>() {
        return Ok(Some(n));
    }
    match raw.parse::<f64>() {
        Ok(f) if f.is_finite() && f.abs() < 9.0e15 => Ok(Some(f.trunc() as i64)),
        _ => Err(serde::de::Error::custom(format!("{raw:?} is not a number"))),
    }
}

/// Booleans arrive as `1` / `0` (and `true` / `false` from some clients).
fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    let Some(raw) = Option::<String>::deserialize(d)? else {
        return Ok(None);
    };
    match raw.trim() {
        "" => Ok(None),
        "1" | "true" => Ok(Some(true)),
        "0" | "false" => Ok(Some(false)),
        other => Err(serde::de::Error::custom(format!("{other:?} is not 1 or 0"))),
    }
}

fn config() -> serde_qs::Config {
    // Form encoding: `+` is a space, `%2B` a plus.
    serde_qs::Config::new()
        .max_depth(MAX_DEPTH)
        .use_form_encoding(true)
}

/// One top-level field of a form body, decoded: the first pair whose key decodes to `name`
/// (the secret and the event name are needed before anything else, and a body serde_qs
/// refuses still has them).
pub fn form_field(body: &[u8], name: &str) -> Option<String> {
    form_urlencoded::parse(body)
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// The body with every `secret` field's value replaced by `[redacted]`: what may be kept of
/// a request (a body refused as unreadable is quarantined). A key is decoded before it is
/// compared, so an escaped `secr%65t` or a nested `secret[x]` is redacted too; a body with
/// no such field is returned as it is.
pub fn redact_secret(body: &[u8]) -> Cow<'_, [u8]> {
    fn is_secret(pair: &[u8]) -> bool {
        let key = pair.split(|b| *b == b'=').next().unwrap_or_default();
        form_urlencoded::parse(key)
            .next()
            .is_some_and(|(k, _)| k == "secret" || k.starts_with("secret["))
    }
    if !body.split(|b| *b == b'&').any(is_secret) {
        return Cow::Borrowed(body);
    }
    let mut kept = Vec::with_capacity(body.len());
    for (i, pair) in body.split(|b| *b == b'&').enumerate() {
        if i > 0 {
            kept.push(b'&');
        }
        match pair.split(|b| *b == b'=').next() {
            Some(key) if is_secret(pair) => {
                kept.extend_from_slice(key);
                kept.extend_from_slice(b"=%5Bredacted%5D");
            }
            _ => kept.extend_from_slice(pair),
        }
    }
    Cow::Owned(kept)
}

/// The typed event: serde_qs's reading of the body, with its leniencies.
fn typed<T: serde::de::DeserializeOwned>(body: &[u8], event: &str) -> Result<T, ParseError> {
    config()
        .deserialize_bytes(body)
        .map_err(|e| ParseError::Fields {
            event: event.to_owned(),
            reason: e.to_string(),
        })
}

/// Feeds what is written straight into a SHA-256, so the digest of a value needs no copy
/// of its JSON text.
struct HashWriter(Sha256);

impl std::io::Write for HashWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.update(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// serde_qs's reading of the whole body as fields, nested as its brackets say.
fn serde_qs_fields(body: &[u8]) -> Result<serde_json::Value, serde_qs::Error> {
    config().deserialize_bytes(body)
}

impl TelerivetEvent {
    pub fn parse(body: &[u8]) -> Result<Self, ParseError> {
        let mut raw = serde_qs_fields(body).map_err(|e| ParseError::Form(e.to_string()))?;
        let fields = raw
            .as_object_mut()
            .ok_or_else(|| ParseError::Form("not a set of fields".into()))?;
        fields.remove("secret");
        let event = match fields.get("event") {
            Some(serde_json::Value::String(e)) if !e.trim().is_empty() => e.trim().to_owned(),
            _ => return Err(ParseError::NoEvent),
        };
        let kind = match event.as_str() {
            "incoming_message" => EventKind::IncomingMessage(typed(body, &event)?),
            "send_status" => EventKind::SendStatus(typed(body, &event)?),
            "send_broadcast" => EventKind::SendBroadcast(typed(body, &event)?),
            "contact_update" => EventKind::ContactUpdate(typed(body, &event)?),
            "message_metadata" => EventKind::MessageMetadata(typed(body, &event)?),
            _ => EventKind::Unknown { event },
        };
        Ok(Self { kind, raw })
    }

    /// SHA-256 of `raw`'s JSON text (hex, first 32 characters): the idempotency key of
    /// events that carry no id of their own for the change they describe. Computed only
    /// for those (it was a fifth of the CPU of every message), and unchanged, so that a
    /// redelivery still matches the key stored before.
    pub fn digest(&self) -> String {
        let mut hasher = HashWriter(Sha256::new());
        // Writing a `Value` to an infallible writer cannot fail.
        let written = serde_json::to_writer(&mut hasher, &self.raw);
        debug_assert!(written.is_ok());
        let mut hex = String::with_capacity(32);
        for byte in hasher.0.finalize().iter().take(16) {
            const DIGITS: &[u8; 16] = b"0123456789abcdef";
            hex.push(char::from(DIGITS[usize::from(byte >> 4)]));
            hex.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
        }
        hex
    }

    pub fn project_id(&self) -> Option<&str> {
        match &self.kind {
            EventKind::IncomingMessage(m) => m.project_id.as_deref(),
            EventKind::SendStatus(s) => s.project_id.as_deref(),
            EventKind::SendBroadcast(b) => b.project_id.as_deref(),
            EventKind::ContactUpdate(c) => c.project_id.as_deref(),
            EventKind::MessageMetadata(m) => m.project_id.as_deref(),
            EventKind::Unknown { .. } => self.raw.get("project_id").and_then(|p| p.as_str()),
        }
    }
}

/// The `Event` of its metric line: the webhook's `event`.
impl crate::metrics::EventName for TelerivetEvent {
    fn event_name(&self) -> &str {
        self.kind.name()
    }
}

#[cfg(test)]
#[path = "model_test.rs"]
mod tests;
