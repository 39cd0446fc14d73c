//! Bulk Call Details records as they really come: `Duration` and `Price` as strings,
//! numbers or null, `DateCreated` as `YYYY-MM-DD HH:MM:SS` in the account's time zone.

use chrono::{Months, NaiveDateTime};
use serde::Deserialize;

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

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Wire {
    sid: String,
    date_created: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    direction: Option<String>,
    #[serde(default)]
    phone_number_sid: Option<String>,
    #[serde(default)]
    duration: Option<serde_json::Value>,
}

fn seconds(value: Option<&serde_json::Value>) -> Option<u64> {
    match value? {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|f| f.is_finite() && *f >= 0.0)
    .map(|f| f as u64)
}

impl CallRecord {
    pub fn from_value(value: &serde_json::Value) -> Result<Self, RecordError> {
        let wire = Wire::deserialize(value).map_err(|e| RecordError::Shape(e.to_string()))?;
        let raw = wire.date_created.unwrap_or_default();
        let created = NaiveDateTime::parse_from_str(raw.trim(), "%Y-%m-%d %H:%M:%S")
            .map_err(|_| RecordError::DateCreated(raw.clone()))?;
        Ok(Self {
            sid: wire.sid,
            created,
            status: wire.status.unwrap_or_default(),
            direction: wire.direction.unwrap_or_else(|| "unknown".into()),
            exophone: wire.phone_number_sid.filter(|s| !s.is_empty()),
            duration_seconds: seconds(wire.duration.as_ref()),
        })
    }
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
