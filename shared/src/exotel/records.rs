//! Bulk Call Details records as they really come: `Duration` and `Price` as strings,
//! numbers or null, `DateCreated` as `YYYY-MM-DD HH:MM:SS` in the account's time zone.

use chrono::{Months, NaiveDateTime};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;

/// One call, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallRecord {
    pub sid: String,
    /// In the account's time zone (Exotel gives no offset).
    pub created: NaiveDateTime,
    /// completed, no-answer, busy, failed, … as Exotel says.
    pub status: String,
    /// inbound, outbound-dial, outbound-api, … as Exotel says.
    pub direction: String,
    /// The ExoPhone the call used (`PhoneNumberSid`), when given.
    pub exophone: Option<String>,
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

/// Only the fields dialtone reads are decoded, borrowed from the page where they can be;
/// every other field is skipped without being built.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Wire<'a> {
    #[serde(borrow)]
    sid: Cow<'a, str>,
    #[serde(default, borrow)]
    date_created: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    status: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    direction: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    phone_number_sid: Option<Cow<'a, str>>,
    /// A string, a number or null: read as written.
    #[serde(default, borrow)]
    duration: Option<&'a RawValue>,
}

fn seconds(raw: Option<&RawValue>) -> Option<u64> {
    let text = raw?.get();
    let number = if text.starts_with('"') {
        serde_json::from_str::<Cow<str>>(text)
            .ok()?
            .trim()
            .parse::<f64>()
            .ok()
    } else {
        text.parse::<f64>().ok()
    };
    number
        .filter(|f| f.is_finite() && *f >= 0.0)
        .map(|f| f as u64)
}

impl CallRecord {
    /// One record, from its JSON text.
    pub fn from_json(raw: &str) -> Result<Self, RecordError> {
        let wire: Wire =
            serde_json::from_str(raw).map_err(|e| RecordError::Shape(e.to_string()))?;
        let created = match wire.date_created.as_deref().map(str::trim) {
            Some(text) => NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
                .map_err(|_| RecordError::DateCreated(text.to_owned()))?,
            None => return Err(RecordError::DateCreated(String::new())),
        };
        Ok(Self {
            sid: wire.sid.into_owned(),
            created,
            status: wire.status.map(Cow::into_owned).unwrap_or_default(),
            direction: wire
                .direction
                .map_or_else(|| "unknown".into(), Cow::into_owned),
            exophone: wire
                .phone_number_sid
                .filter(|s| !s.is_empty())
                .map(Cow::into_owned),
            duration_seconds: seconds(wire.duration),
        })
    }
}

/// One Bulk Call Details page, read: each record or why it cannot be counted (one bad
/// record never loses the page), and the `NextPageUri` as Exotel wrote it.
#[derive(Debug)]
pub struct PageRecords {
    pub calls: Vec<Result<CallRecord, RecordError>>,
    pub next_page_uri: Option<String>,
}

#[derive(Deserialize)]
struct WirePage<'a> {
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

/// Reads a page's body; an error says why it is not a Bulk Call Details page.
pub fn read_page(body: &[u8]) -> Result<PageRecords, serde_json::Error> {
    let page: WirePage = serde_json::from_slice(body)?;
    Ok(PageRecords {
        calls: page
            .calls
            .iter()
            .map(|raw| CallRecord::from_json(raw.get()))
            .collect(),
        next_page_uri: page
            .metadata
            .and_then(|m| m.next_page_uri)
            .filter(|uri| !uri.trim().is_empty())
            .map(Cow::into_owned),
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
