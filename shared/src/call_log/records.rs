//! Bulk Call Details records as they really come: `Duration` and `Price` as strings,
//! numbers or null, `DateCreated` as `YYYY-MM-DD HH:MM:SS` in the account's time zone.
//!
//! A page is read in one pass: each element of `Calls` is taken whatever JSON value it is,
//! and only the six fields dialtone uses are kept, borrowed from the page where they can
//! be. A record of the wrong shape (not an object, a wanted field of the wrong type or
//! given twice, no `Sid`) or with an unreadable `DateCreated` is an error of that record
//! alone; only a page that is not JSON (or not UTF-8), or has no `Calls` array, fails as a
//! whole. A record given as an array is a shape error too (a derived reader used to take
//! one from an array of its fields in order).

use chrono::{Months, NaiveDateTime};
use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Unexpected, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

/// One call, parsed; its text borrowed from the page it was read from where it can be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallRecord<'a> {
    pub sid: Cow<'a, str>,
    /// In the account's time zone (Exotel gives no offset).
    pub created: NaiveDateTime,
    /// completed, no-answer, busy, failed, … as Exotel says.
    pub status: Cow<'a, str>,
    /// inbound, outbound-dial, outbound-api, … as Exotel says.
    pub direction: Cow<'a, str>,
    /// The ExoPhone the call used (`PhoneNumberSid`), when given.
    pub exophone: Option<Cow<'a, str>>,
    pub duration_seconds: Option<u64>,
}

/// Why a record could not be counted; it is reported, never bucketed somewhere arbitrary.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("record is not an object with the expected fields: {0}")]
    Shape(String),
    #[error("DateCreated {0:?} is not YYYY-MM-DD HH:MM:SS")]
    DateCreated(String),
}

impl RecordError {
    /// A short, stable label for counting reasons.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Shape(_) => "shape",
            Self::DateCreated(_) => "date_created",
        }
    }
}

/// A wanted text field as the record gave it: its type is judged after the record is read,
/// so a wrong one costs that record, never the page.
enum Text<'a> {
    Str(Cow<'a, str>),
    Null,
    /// A number, boolean, array or object (read through and dropped), described.
    Other(String),
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TextVisitor(PhantomData))
    }
}

struct TextVisitor<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for TextVisitor<'a> {
    type Value = Text<'a>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Text::Str(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Text::Str(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Text::Str(Cow::Owned(v)))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Text::Null)
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Text::Null)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Text::Other(Unexpected::Bool(v).to_string()))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Text::Other(Unexpected::Signed(v).to_string()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Text::Other(Unexpected::Unsigned(v).to_string()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Text::Other(Unexpected::Float(v).to_string()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Text::Other(Unexpected::Seq.to_string()))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Text::Other(Unexpected::Map.to_string()))
    }
}

/// The fields of a record dialtone reads; any other is skipped without being built.
#[derive(Clone, Copy)]
enum Key {
    Sid,
    DateCreated,
    Status,
    Direction,
    PhoneNumberSid,
    Duration,
    Other,
}

impl Key {
    fn name(self) -> &'static str {
        match self {
            Self::Sid => "Sid",
            Self::DateCreated => "DateCreated",
            Self::Status => "Status",
            Self::Direction => "Direction",
            Self::PhoneNumberSid => "PhoneNumberSid",
            Self::Duration => "Duration",
            Self::Other => "",
        }
    }

    fn of(name: &[u8]) -> Self {
        match name {
            b"Sid" => Self::Sid,
            b"DateCreated" => Self::DateCreated,
            b"Status" => Self::Status,
            b"Direction" => Self::Direction,
            b"PhoneNumberSid" => Self::PhoneNumberSid,
            b"Duration" => Self::Duration,
            _ => Self::Other,
        }
    }
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

struct KeyVisitor;

impl Visitor<'_> for KeyVisitor {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E>(self, v: &str) -> Result<Key, E> {
        Ok(Key::of(v.as_bytes()))
    }

    fn visit_bytes<E>(self, v: &[u8]) -> Result<Key, E> {
        Ok(Key::of(v))
    }
}

/// One element of `Calls`: the record, or why it cannot be counted. Reading it fails only
/// when the JSON itself does (then the page is not JSON).
struct Element<'a>(Result<CallRecord<'a>, RecordError>);

impl<'de: 'a, 'a> Deserialize<'de> for Element<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ElementVisitor(PhantomData))
    }
}

struct ElementVisitor<'a>(PhantomData<&'a ()>);

/// A record that is not an object.
fn not_an_object<'a>(what: Unexpected) -> Element<'a> {
    Element(Err(RecordError::Shape(format!(
        "invalid type: {what}, expected a call record object"
    ))))
}

impl<'de: 'a, 'a> Visitor<'de> for ElementVisitor<'a> {
    type Value = Element<'a>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(not_an_object(Unexpected::Bool(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(not_an_object(Unexpected::Signed(v)))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(not_an_object(Unexpected::Unsigned(v)))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(not_an_object(Unexpected::Float(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(not_an_object(Unexpected::Str(v)))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(not_an_object(Unexpected::Unit))
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(not_an_object(Unexpected::Unit))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(not_an_object(Unexpected::Seq))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = Fields::default();
        // The first fault is kept; the rest of the record is still read through.
        let mut fault: Option<String> = None;
        while let Some(key) = map.next_key::<Key>()? {
            let seen = match key {
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
                Key::Duration => {
                    let raw = map.next_value::<&'a RawValue>()?;
                    fields.duration.replace(raw.get()).is_some()
                }
                Key::Sid => fields.sid.replace(map.next_value()?).is_some(),
                Key::DateCreated => fields.date_created.replace(map.next_value()?).is_some(),
                Key::Status => fields.status.replace(map.next_value()?).is_some(),
                Key::Direction => fields.direction.replace(map.next_value()?).is_some(),
                Key::PhoneNumberSid => fields.phone_number_sid.replace(map.next_value()?).is_some(),
            };
            if seen && fault.is_none() {
                fault = Some(format!("duplicate field `{}`", key.name()));
            }
        }
        Ok(Element(match fault {
            Some(fault) => Err(RecordError::Shape(fault)),
            None => fields.record(),
        }))
    }
}

/// A record's wanted fields as given, each at most once.
#[derive(Default)]
struct Fields<'a> {
    sid: Option<Text<'a>>,
    date_created: Option<Text<'a>>,
    status: Option<Text<'a>>,
    direction: Option<Text<'a>>,
    phone_number_sid: Option<Text<'a>>,
    /// A string, a number or null: its JSON text as written.
    duration: Option<&'a str>,
}

/// A text field that may be absent or null; another type is a Shape error.
fn optional<'a>(text: Option<Text<'a>>, name: &str) -> Result<Option<Cow<'a, str>>, RecordError> {
    match text {
        None | Some(Text::Null) => Ok(None),
        Some(Text::Str(s)) => Ok(Some(s)),
        Some(Text::Other(what)) => Err(RecordError::Shape(format!(
            "{name}: invalid type: {what}, expected a string"
        ))),
    }
}

impl<'a> Fields<'a> {
    fn record(self) -> Result<CallRecord<'a>, RecordError> {
        let sid = match self.sid {
            Some(Text::Str(s)) => s,
            None => return Err(RecordError::Shape("missing field `Sid`".into())),
            Some(Text::Null) => {
                return Err(RecordError::Shape(
                    "Sid: invalid type: null, expected a string".into(),
                ))
            }
            Some(Text::Other(what)) => {
                return Err(RecordError::Shape(format!(
                    "Sid: invalid type: {what}, expected a string"
                )))
            }
        };
        let date_created = optional(self.date_created, "DateCreated")?;
        let status = optional(self.status, "Status")?;
        let direction = optional(self.direction, "Direction")?;
        let exophone = optional(self.phone_number_sid, "PhoneNumberSid")?;
        let created = match date_created.as_deref().map(str::trim) {
            Some(text) => crate::time_text::date_and_time(text)
                .ok_or_else(|| RecordError::DateCreated(text.to_owned()))?,
            None => return Err(RecordError::DateCreated(String::new())),
        };
        Ok(CallRecord {
            sid,
            created,
            status: status.unwrap_or_default(),
            direction: direction.unwrap_or(Cow::Borrowed("unknown")),
            exophone: exophone.filter(|s| !s.is_empty()),
            duration_seconds: seconds(self.duration),
        })
    }
}

fn seconds(raw: Option<&str>) -> Option<u64> {
    let text = raw?;
    let number = match text.strip_prefix('"') {
        // A string without escapes is its own text.
        Some(inner) if !inner.contains('\\') => number(inner.strip_suffix('"')?.trim()),
        Some(_) => number(serde_json::from_str::<Cow<str>>(text).ok()?.trim()),
        None => number(text),
    };
    number
        .filter(|f| f.is_finite() && *f >= 0.0)
        .map(|f| f as u64)
}

fn number(text: &str) -> Option<f64> {
    text.parse::<f64>().ok()
}

impl<'a> CallRecord<'a> {
    /// One record, from its JSON text (not JSON at all is a Shape error).
    pub fn from_json(raw: &'a str) -> Result<Self, RecordError> {
        let mut deserializer = serde_json::Deserializer::from_str(raw);
        match Element::deserialize(&mut deserializer).and_then(|e| {
            deserializer.end()?;
            Ok(e)
        }) {
            Ok(Element(record)) => record,
            Err(e) => Err(RecordError::Shape(e.to_string())),
        }
    }
}

/// One Bulk Call Details page, read: each record or why it cannot be counted (one bad
/// record never loses the page), and the `NextPageUri` as Exotel wrote it.
#[derive(Debug, PartialEq, Eq)]
pub struct PageRecords<'a> {
    pub calls: Vec<Result<CallRecord<'a>, RecordError>>,
    pub next_page_uri: Option<String>,
}

/// A page read in one pass: every record is decoded as it is met.
#[derive(Deserialize)]
struct WirePage<'a> {
    #[serde(rename = "Calls", borrow)]
    calls: Vec<Element<'a>>,
    #[serde(rename = "Metadata", default, borrow)]
    metadata: Option<WireMetadata<'a>>,
}

/// The same page with each record kept as its JSON text, decoded afterwards one by one.
#[derive(Deserialize)]
struct WireRawPage<'a> {
    #[serde(rename = "Calls", borrow)]
    calls: Vec<&'a RawValue>,
    #[serde(rename = "Metadata", default, borrow)]
    metadata: Option<WireMetadata<'a>>,
}

#[derive(Deserialize)]
struct WireMetadata<'a> {
    #[serde(rename = "NextPageUri", default, borrow)]
    next_page_uri: Option<Cow<'a, str>>,
}

fn next_page_uri(metadata: Option<WireMetadata<'_>>) -> Option<String> {
    metadata
        .and_then(|m| m.next_page_uri)
        .filter(|uri| !uri.trim().is_empty())
        .map(Cow::into_owned)
}

/// Reads a page's body; an error says why it is not a Bulk Call Details page.
///
/// A page as Exotel writes it is read by [`scan_page`], one pass over its bytes; any page
/// that scan leaves (it stops at anything unusual) is read by [`parse_page`], which
/// decides. Both give the same records for every page the scan reads.
pub fn read_page(body: &[u8]) -> Result<PageRecords<'_>, serde_json::Error> {
    // Checked as a whole once, so no string needs checking on its own.
    let text = std::str::from_utf8(body).map_err(|e| {
        <serde_json::Error as serde::de::Error>::custom(format!(
            "invalid UTF-8 at byte {}",
            e.valid_up_to()
        ))
    })?;
    match scan_page(text) {
        Some(page) => Ok(page),
        None => parse_page(text),
    }
}

/// A page read by serde_json, whatever JSON it holds.
///
/// One pass reads every page Exotel writes. Reading a value as a number can fail where
/// skipping it does not (`1e400` is valid JSON, out of `f64`'s range), so a page the one
/// pass refuses is read again with each record first kept as text: that decides, one bad
/// record never losing the page, and only a page that is not JSON (or has no `Calls`
/// array) failing.
pub fn parse_page(text: &str) -> Result<PageRecords<'_>, serde_json::Error> {
    if let Ok(page) = serde_json::from_str::<WirePage>(text) {
        return Ok(PageRecords {
            calls: page.calls.into_iter().map(|e| e.0).collect(),
            next_page_uri: next_page_uri(page.metadata),
        });
    }
    let page: WireRawPage = serde_json::from_str(text)?;
    Ok(PageRecords {
        calls: page
            .calls
            .iter()
            .map(|raw| CallRecord::from_json(raw.get()))
            .collect(),
        next_page_uri: next_page_uri(page.metadata),
    })
}

/// Bulk Call Details answers at most one month per request and nothing older than six
/// months: the range `[start, end]` clamped to the horizon before `now`, in pieces.
pub fn split_range(
    start: NaiveDateTime,
    end: NaiveDateTime,
    now: NaiveDateTime,
) -> Vec<(NaiveDateTime, NaiveDateTime)> {
    let horizon = now.checked_sub_months(Months::new(6)).unwrap_or(now);
    let mut from = start.max(horizon);
    let end = end.min(now);
    let mut pieces = Vec::new();
    while from <= end {
        let to = from
            .checked_add_months(Months::new(1))
            .map(|t| t - chrono::Duration::seconds(1))
            .unwrap_or(end)
            .min(end);
        pieces.push((from, to));
        from = to + chrono::Duration::seconds(1);
    }
    pieces
}

#[path = "records_scan.rs"]
mod scan;
pub use scan::scan_page;

#[cfg(test)]
#[path = "records_test.rs"]
mod tests;
