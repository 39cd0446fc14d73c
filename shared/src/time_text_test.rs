use super::*;
use chrono::TimeZone;
use proptest::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Ours {
    #[serde(with = "utc")]
    at: DateTime<Utc>,
    #[serde(default, with = "utc::option")]
    since: Option<DateTime<Utc>>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Chrono {
    at: DateTime<Utc>,
    #[serde(default)]
    since: Option<DateTime<Utc>>,
}

/// Any instant chrono can write as RFC 3339, whole seconds or not.
fn any_instant() -> impl Strategy<Value = DateTime<Utc>> {
    let year_one = Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap().timestamp();
    let year_10000 = Utc
        .with_ymd_and_hms(9999, 12, 31, 23, 59, 59)
        .unwrap()
        .timestamp()
        + 10;
    (
        year_one - 10..year_10000,
        prop_oneof![3 => Just(0u32), 1 => 0u32..1_000_000_000, 1 => Just(1_500_000_000u32)],
    )
        .prop_map(|(seconds, nanos)| {
            DateTime::from_timestamp(seconds, nanos)
                .or_else(|| DateTime::from_timestamp(seconds, 0))
                .expect("in chrono's range")
        })
}

proptest! {
    /// Written the same as chrono writes it, and read back the same by both.
    #[test]
    fn writes_and_reads_as_chrono_does(at in any_instant(), since in prop::option::of(any_instant())) {
        let ours = serde_json::to_string(&Ours { at, since }).unwrap();
        let chrono = serde_json::to_string(&Chrono { at, since }).unwrap();
        prop_assert_eq!(&ours, &chrono);
        prop_assert_eq!(serde_json::from_str::<Ours>(&chrono).unwrap(), Ours { at, since });
    }

    /// A day is written as chrono's `%Y-%m-%d` writes it, for any date chrono holds
    /// (years before 0 and after 9999 too).
    #[test]
    fn writes_a_day_as_chrono_does(
        days in prop_oneof![4 => 0i32..3_652_060, 1 => -800_000i32..4_400_000]
    ) {
        let date = NaiveDate::from_num_days_from_ce_opt(days).unwrap();
        prop_assert_eq!(day(date), date.format("%Y-%m-%d").to_string());
    }

    /// Any text of the fixed form, digits anywhere: read as chrono reads it, or refused by
    /// both.
    #[test]
    fn reads_fixed_width_text_as_chrono_does(digits in "[0-9]{14}", zone in prop::sample::select(vec!["Z", "z", "+00:00", "+05:30"])) {
        let d = |range: std::ops::Range<usize>| &digits[range];
        let text = format!(
            "{}-{}-{}T{}:{}:{}{zone}",
            d(0..4), d(4..6), d(6..8), d(8..10), d(10..12), d(12..14)
        );
        prop_assert_eq!(utc::read(&text).ok(), text.parse::<DateTime<Utc>>().ok(), "{}", text);
    }
}

#[test]
fn reads_what_chrono_reads_beyond_the_fixed_form() {
    for text in [
        "2026-11-01T10:00:00.5Z",
        "2026-11-01t10:00:00z",
        "2026-11-01 10:00:00Z",
        "2026-11-01T15:30:00+05:30",
        "2016-12-31T23:59:60Z",
        "2026-02-30T10:00:00Z",
        "2026-11-01T10:00:00",
        "",
    ] {
        assert_eq!(
            utc::read(text).ok(),
            text.parse::<DateTime<Utc>>().ok(),
            "{text}"
        );
        let json = format!(r#"{{"at":{text:?},"since":null}}"#);
        assert_eq!(
            serde_json::from_str::<Ours>(&json).ok().map(|o| o.at),
            serde_json::from_str::<Chrono>(&json).ok().map(|c| c.at),
            "{json}"
        );
    }
    let absent: Ours = serde_json::from_str(r#"{"at":"2026-11-01T10:00:00Z"}"#).unwrap();
    assert_eq!(absent.since, None);
    assert!(serde_json::from_str::<Ours>(r#"{"at":17}"#).is_err());
}

#[test]
fn fixed_width_takes_only_its_own_separator() {
    let date = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
    assert_eq!(
        fixed_width(b"2026-11-01 09:15:00", b' '),
        date.and_hms_opt(9, 15, 0)
    );
    assert_eq!(fixed_width(b"2026-11-01T09:15:00", b' '), None);
    assert_eq!(fixed_width(b"2026-11-01 09:15:0", b' '), None);
    assert_eq!(fixed_width(b"2026-13-01 09:15:00", b' '), None);
}

proptest::proptest! {
    /// The fixed-width reading of a date and time (Exotel's DateCreated, VoIPstudio's event_time) agrees with chrono's parser: on the shape
    /// (in and just out of range: month 13, day 32, hour 24, second 60, …) and on near
    /// misses (another character somewhere, one missing).
    #[test]
    fn date_and_time_reads_as_chrono_does(
        fields in (0u32..10_000, 0u32..14, 0u32..33, 0u32..26, 0u32..61, 0u32..62),
        mutate in proptest::option::of((0usize..19, proptest::sample::select(
            vec!['-', ':', ' ', 'T', '0', '9', 'x', '+'],
        ))),
        cut in proptest::option::of(0usize..19),
    ) {
        let (year, month, day, hour, minute, second) = fields;
        let mut text =
            format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02}");
        if let Some((at, c)) = mutate {
            text.replace_range(at..=at, &c.to_string());
        }
        if let Some(at) = cut {
            text.remove(at);
        }
        proptest::prop_assert_eq!(
            date_and_time(&text),
            NaiveDateTime::parse_from_str(&text, DATE_AND_TIME).ok(),
            "{:?}", text
        );
    }
}

#[test]
fn date_and_time_edges_read_as_chrono_does() {
    for text in [
        "2024-02-29 00:00:00",
        "2023-02-29 00:00:00",
        "0000-01-01 00:00:00",
        "9999-12-31 23:59:59",
        "2026-11-01 23:59:60",
        "2026-11-01 09:15:0",
        "2026-1-01 09:15:00",
        "+2026-11-01 09:15:00",
        "2026-11-01  09:15:00",
        "2026-11-01 09:15:00.5",
        "2026-11-01 9:15:00",
        "",
    ] {
        assert_eq!(
            date_and_time(text),
            NaiveDateTime::parse_from_str(text, DATE_AND_TIME).ok(),
            "{text:?}"
        );
    }
}
