//! Dates and times as text, read and written digit by digit in the fixed-width forms
//! dialtone meets most, everything else through chrono.
//!
//! chrono's general parser and its `fmt` path cost about 600 ns an instant each way here.
//! A fleet's monitor state holds two instants for each affected line, so at 20 000 lines
//! that was about 24 ms to read the stored state and as much to write the new one: most of
//! both. Exotel's call records hold one `DateCreated` each, a million in a backfill.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Timelike, Utc};

/// `YYYY-MM-DD?HH:MM:SS`, `?` being `separator`; `None` for any other text or an
/// impossible date or time (chrono's parser then decides, as it always has).
pub fn fixed_width(text: &[u8], separator: u8) -> Option<NaiveDateTime> {
    let [y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1, sep, h0, h1, b':', i0, i1, b':', s0, s1] =
        *text
    else {
        return None;
    };
    if sep != separator {
        return None;
    }
    let digit = |c: u8| c.is_ascii_digit().then(|| u32::from(c - b'0'));
    let two = |a: u8, b: u8| Some(digit(a)? * 10 + digit(b)?);
    let year = two(y0, y1)? * 100 + two(y2, y3)?;
    NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, two(m0, m1)?, two(d0, d1)?)?.and_hms_opt(
        two(h0, h1)?,
        two(i0, i1)?,
        two(s0, s1)?,
    )
}

/// chrono's format of [`date_and_time`].
const DATE_AND_TIME: &str = "%Y-%m-%d %H:%M:%S";

/// `YYYY-MM-DD HH:MM:SS` (Exotel's `DateCreated`, VoIPstudio's times): the fixed-width form
/// is read directly; anything else goes through chrono's parser, which decides as it
/// always has.
pub fn date_and_time(text: &str) -> Option<NaiveDateTime> {
    fixed_width(text.as_bytes(), b' ')
        .or_else(|| NaiveDateTime::parse_from_str(text, DATE_AND_TIME).ok())
}

/// `YYYY-MM-DD`, the text of chrono's `%Y-%m-%d` (a day's counter key is one a webhook).
pub fn day(date: NaiveDate) -> String {
    let mut text = *b"0000-00-00";
    match put_date(&mut text, date).and_then(|()| std::str::from_utf8(&text).ok()) {
        Some(text) => text.to_owned(),
        None => date.format("%Y-%m-%d").to_string(),
    }
}

/// Writes `YYYY-MM-DD` over the first ten bytes of `text`; `None` (nothing written) for a
/// year outside 0–9999, which chrono writes with a sign or more digits.
fn put_date(text: &mut [u8], date: NaiveDate) -> Option<()> {
    let year = u32::try_from(date.year()).ok().filter(|y| *y <= 9999)?;
    put_digits(text.get_mut(0..4)?, year);
    put_digits(text.get_mut(5..7)?, date.month());
    put_digits(text.get_mut(8..10)?, date.day());
    Some(())
}

/// The last `slots.len()` decimal digits of `n`, zero-padded.
fn put_digits(slots: &mut [u8], mut n: u32) {
    for slot in slots.iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

/// `DateTime<Utc>` in serde as chrono writes and reads it (RFC 3339), with
/// `2026-11-01T10:00:00Z`, the form chrono writes for a whole second, done digit by digit:
/// the same text, and every row written before still reads.
/// `#[serde(with = "crate::time_text::utc")]`.
pub mod utc {
    use super::*;
    use serde::de::{self, Deserializer, Visitor};
    use serde::{Serialize, Serializer};
    use std::fmt;

    pub fn serialize<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
        let text = whole_second(at);
        match text.as_ref().and_then(|t| std::str::from_utf8(t).ok()) {
            Some(text) => serializer.serialize_str(text),
            None => at.serialize(serializer),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<DateTime<Utc>, D::Error> {
        deserializer.deserialize_str(UtcVisitor)
    }

    /// `2026-11-01T10:00:00Z`, or `None` when chrono would write more (a fraction of a
    /// second) or other (a year outside 0–9999).
    fn whole_second(at: &DateTime<Utc>) -> Option<[u8; 20]> {
        if at.nanosecond() != 0 {
            return None;
        }
        let mut text = *b"0000-00-00T00:00:00Z";
        put_date(&mut text, at.date_naive())?;
        put_digits(&mut text[11..13], at.hour());
        put_digits(&mut text[14..16], at.minute());
        put_digits(&mut text[17..19], at.second());
        Some(text)
    }

    /// What chrono's reader takes: RFC 3339 with any offset, converted to UTC.
    pub fn read(text: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
        let whole = text
            .as_bytes()
            .split_last()
            .filter(|(last, _)| **last == b'Z')
            .and_then(|(_, naive)| fixed_width(naive, b'T'));
        match whole {
            Some(naive) => Ok(naive.and_utc()),
            None => text.parse(),
        }
    }

    struct UtcVisitor;

    impl Visitor<'_> for UtcVisitor {
        type Value = DateTime<Utc>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an RFC 3339 formatted date and time string")
        }

        fn visit_str<E: de::Error>(self, text: &str) -> Result<DateTime<Utc>, E> {
            read(text).map_err(E::custom)
        }
    }

    /// The same for `Option<DateTime<Utc>>`, `null` being `None`.
    pub mod option {
        use super::*;

        pub fn serialize<S: Serializer>(
            at: &Option<DateTime<Utc>>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            match at {
                Some(at) => super::serialize(at, serializer),
                None => serializer.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<DateTime<Utc>>, D::Error> {
            deserializer.deserialize_option(OptionVisitor)
        }

        struct OptionVisitor;

        impl<'de> Visitor<'de> for OptionVisitor {
            type Value = Option<DateTime<Utc>>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 formatted date and time string or null")
            }

            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }

            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }

            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                super::deserialize(d).map(Some)
            }
        }
    }
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
