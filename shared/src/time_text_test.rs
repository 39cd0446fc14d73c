use super::*;
use chrono::NaiveDate;

fn at(y: i32, m: u32, d: u32, h: u32, i: u32, s: u32) -> Option<NaiveDateTime> {
    NaiveDate::from_ymd_opt(y, m, d).and_then(|date| date.and_hms_opt(h, i, s))
}

#[test]
fn date_and_time_reads_the_exotel_form_only() {
    assert_eq!(
        date_and_time("2026-11-01 09:15:00"),
        at(2026, 11, 1, 9, 15, 0)
    );
    assert_eq!(
        date_and_time("2024-02-29 00:00:00"),
        at(2024, 2, 29, 0, 0, 0)
    );
    assert_eq!(
        date_and_time("9999-12-31 23:59:59"),
        at(9999, 12, 31, 23, 59, 59)
    );
    for text in [
        "2026-11-01T09:15:00",
        "2026-13-01 09:15:00",
        "2023-02-29 00:00:00",
        "2026-11-01 24:00:00",
        "2026-11-01 09:15:00.5",
        "01/11/2026 09:15",
        "",
    ] {
        assert_eq!(date_and_time(text), None, "{text:?}");
    }
}

#[test]
fn date_and_time_is_chronos_parse_from_str() {
    assert!(!DATE_AND_TIME_ITEMS.is_empty());
    for text in [
        "2026-11-01 09:15:00",
        "2026-11-01  09:15:00",
        "2026-11-01 9:15:0",
        "2026-11-01 23:59:60",
        "2026-11-01T09:15:00",
        "+2026-11-01 09:15:00",
        "2026-11-01 09:15:00 ",
        "",
    ] {
        assert_eq!(
            date_and_time(text),
            NaiveDateTime::parse_from_str(text, DATE_AND_TIME).ok(),
            "{text:?}"
        );
    }
}
