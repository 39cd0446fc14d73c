//! Bulk Call Details records as they really come: `Duration` and `Price` as strings,
//! numbers or null, `DateCreated` as `YYYY-MM-DD HH:MM:SS` in the account's time zone.
//!
//! A page is read by serde_json into typed records of the six fields dialtone uses, their
//! text borrowed from the page where it holds no escape (any other field is skipped). A
//! record of the wrong shape (not an object, a wanted field of the wrong type or given
//! twice, no `Sid`) or with an unreadable `DateCreated` is an error of that record alone:
//! a page one of whose records serde refuses is read again with each record kept as its
//! JSON text, then read on its own. Only a page that is not JSON (or not UTF-8), or has no
//! `Calls` array, fails as a whole. A record given as an array is a shape error too (serde
//! would take a struct from an array of its fields in order).

use chrono::{Months, NaiveDateTime};
use serde::de::{Deserializer, Error as _, Unexpected, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

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

/// A record whose `DateCreated` could not be read: the rest of it. The tutorial still
/// counts such a call in its total (its `new Date(…)` is invalid, its hour `NaN`), and so
/// does the aggregator, in no hour (`call_log::tally`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Undated {
    pub sid: String,
    pub status: String,
    pub direction: String,
    pub exophone: Option<String>,
    pub duration_seconds: Option<u64>,
}

/// Why a record could not be read whole; it is reported, never bucketed somewhere
/// arbitrary.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("record is not an object with the expected fields: {0}")]
    Shape(String),
    #[error("DateCreated {text:?} is not YYYY-MM-DD HH:MM:SS")]
    DateCreated { text: String, call: Box<Undated> },
}

impl RecordError {
    /// A short, stable label for counting reasons.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Shape(_) => "shape",
            Self::DateCreated { .. } => "date_created",
        }
    }
}

/// A record's wanted fields as Exotel writes them (serde's own duplicate and missing field
/// checks apply; unknown fields are skipped).
#[derive(Deserialize)]
#[serde(expecting = "a call record object")]
struct WireRecord<'a> {
    #[serde(rename = "Sid", borrow, deserialize_with = "sid")]
    sid: Cow<'a, str>,
    #[serde(
        rename = "DateCreated",
        default,
        borrow,
        deserialize_with = "date_created"
    )]
    date_created: Option<Cow<'a, str>>,
    #[serde(rename = "Status", default, borrow, deserialize_with = "status")]
    status: Option<Cow<'a, str>>,
    #[serde(rename = "Direction", default, borrow, deserialize_with = "direction")]
    direction: Option<Cow<'a, str>>,
    #[serde(
        rename = "PhoneNumberSid",
        default,
        borrow,
        deserialize_with = "phone_number_sid"
    )]
    phone_number_sid: Option<Cow<'a, str>>,
    /// A string, a number or null, as written: read by [`seconds`], which never fails.
    #[serde(rename = "Duration", default, borrow)]
    duration: Option<&'a RawValue>,
}

/// A text field: a string (borrowed when it holds no escape) or null; another type is an
/// error that names the field.
struct Text(&'static str);

impl<'de> Visitor<'de> for Text {
    type Value = Option<Cow<'de, str>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "`{}` as a string", self.0)
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v.to_owned())))
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

fn sid<'de, D: Deserializer<'de>>(d: D) -> Result<Cow<'de, str>, D::Error> {
    d.deserialize_option(Text("Sid"))?
        .ok_or_else(|| D::Error::invalid_type(Unexpected::Unit, &Text("Sid")))
}

fn date_created<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Cow<'de, str>>, D::Error> {
    d.deserialize_option(Text("DateCreated"))
}

fn status<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Cow<'de, str>>, D::Error> {
    d.deserialize_option(Text("Status"))
}

fn direction<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Cow<'de, str>>, D::Error> {
    d.deserialize_option(Text("Direction"))
}

fn phone_number_sid<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Cow<'de, str>>, D::Error> {
    d.deserialize_option(Text("PhoneNumberSid"))
}

impl<'a> WireRecord<'a> {
    fn record(self) -> Result<CallRecord<'a>, RecordError> {
        let text = self
            .date_created
            .as_deref()
            .map(str::trim)
            .unwrap_or_default();
        let created = crate::time_text::date_and_time(text);
        let call = CallRecord {
            sid: self.sid,
            created: created.unwrap_or_default(),
            status: self.status.unwrap_or_default(),
            direction: self.direction.unwrap_or(Cow::Borrowed("unknown")),
            exophone: self.phone_number_sid.filter(|s| !s.is_empty()),
            duration_seconds: seconds(self.duration.map(RawValue::get)),
        };
        match created {
            Some(_) => Ok(call),
            None => Err(RecordError::DateCreated {
                text: text.to_owned(),
                call: Box::new(Undated {
                    sid: call.sid.into_owned(),
                    status: call.status.into_owned(),
                    direction: call.direction.into_owned(),
                    exophone: call.exophone.map(Cow::into_owned),
                    duration_seconds: call.duration_seconds,
                }),
            }),
        }
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

/// A record read from a JSON object only: serde would also take a struct from an array of
/// its fields in order.
struct Record<'a>(WireRecord<'a>);

impl<'de: 'a, 'a> Deserialize<'de> for Record<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        WireRecord::deserialize(Object(deserializer)).map(Record)
    }
}

/// A deserializer that offers its value as a map whatever is asked of it.
struct Object<D>(D);

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Object<D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

impl<'a> CallRecord<'a> {
    /// One record, from its JSON text (not JSON at all is a Shape error).
    pub fn from_json(text: &'a str) -> Result<Self, RecordError> {
        serde_json::from_str::<Record>(text)
            .map_err(|e| RecordError::Shape(e.to_string()))?
            .0
            .record()
    }
}

/// One Bulk Call Details page, read: each record or why it cannot be counted (one bad
/// record never loses the page), and the `NextPageUri` as Exotel wrote it.
#[derive(Debug, PartialEq, Eq)]
pub struct PageRecords<'a> {
    pub calls: Vec<Result<CallRecord<'a>, RecordError>>,
    pub next_page_uri: Option<String>,
}

/// A page whose records serde all reads.
#[derive(Deserialize)]
struct WirePage<'a> {
    #[serde(rename = "Calls", borrow)]
    calls: Vec<Record<'a>>,
    #[serde(rename = "Metadata", default, borrow)]
    metadata: Option<WireMetadata<'a>>,
}

/// The same page with each record kept as its JSON text, to be read on its own.
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
pub fn read_page(body: &[u8]) -> Result<PageRecords<'_>, serde_json::Error> {
    // Checked as a whole once, so the records borrow from text known to be UTF-8.
    let text = std::str::from_utf8(body).map_err(|e| {
        serde_json::Error::custom(format!("invalid UTF-8 at byte {}", e.valid_up_to()))
    })?;
    if let Ok(page) = serde_json::from_str::<WirePage>(text) {
        return Ok(PageRecords {
            calls: page.calls.into_iter().map(|r| r.0.record()).collect(),
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

#[cfg(test)]
#[path = "records_test.rs"]
mod tests;
