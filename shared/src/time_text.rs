//! Dates and times as text, through chrono (and the `iso8601` crate for the ISO 8601 forms
//! chrono's RFC 3339 reader does not take). Instants in stored state go through chrono's
//! own serde (RFC 3339, `2026-11-01T10:00:00Z`).

use chrono::format::{Item, Parsed, StrftimeItems};
use chrono::{DateTime, NaiveDateTime, Utc};
use std::sync::LazyLock;

/// chrono's format of [`date_and_time`].
const DATE_AND_TIME: &str = "%Y-%m-%d %H:%M:%S";

/// chrono's reading of [`DATE_AND_TIME`], done once rather than for each of a backfill's
/// million records (`NaiveDateTime::parse_from_str` reads the format at every call).
static DATE_AND_TIME_ITEMS: LazyLock<Vec<Item<'static>>> = LazyLock::new(|| {
    StrftimeItems::new(DATE_AND_TIME)
        .parse()
        .unwrap_or_default()
});

/// `YYYY-MM-DD HH:MM:SS` (Exotel's `DateCreated`, VoIPstudio's times), by chrono's parser:
/// what `NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")` reads.
pub fn date_and_time(text: &str) -> Option<NaiveDateTime> {
    let mut parsed = Parsed::new();
    chrono::format::parse(&mut parsed, text, DATE_AND_TIME_ITEMS.iter()).ok()?;
    parsed.to_naive_datetime_with_offset(0).ok()
}

/// An instant written in an ISO 8601 form with a calendar or ordinal date and a time:
/// RFC 3339 (the common case, read by chrono to the nanosecond), and through the
/// `iso8601` crate the other forms (basic `20240615T103000Z`, `+0530` or `+05` offsets,
/// ordinal dates, a decimal comma; to the millisecond). A time with no offset is read as
/// UTC, the zone of every example Exotel documents. Week dates are refused: the crate
/// reads their day one day late.
pub fn iso8601(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&Utc));
    }
    // The whole text, not a prefix of it (the crate's `datetime` stops where it can).
    let (rest, at) = iso8601::parsers::parse_datetime(text.as_bytes()).ok()?;
    if !rest.is_empty() || matches!(at.date, iso8601::Date::Week { .. }) {
        return None;
    }
    at.into_fixed_offset().map(|at| at.with_timezone(&Utc))
}

#[cfg(test)]
#[path = "time_text_test.rs"]
mod tests;
