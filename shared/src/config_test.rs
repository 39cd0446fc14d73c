use super::*;

#[test]
fn missing_variable_is_named() {
    let err = required("DIALTONE_TEST_SURELY_UNSET").unwrap_err();
    assert_eq!(
        err.to_string(),
        "environment variable DIALTONE_TEST_SURELY_UNSET is not set"
    );
}

#[test]
fn absent_duration_takes_default() {
    let d = seconds_or("DIALTONE_TEST_SURELY_UNSET_TOO", Duration::from_secs(7)).unwrap();
    assert_eq!(d, Duration::from_secs(7));
}

/// `ACCOUNT_TIMEZONE` is one process-wide variable: the tests that set it take turns.
static ACCOUNT_TIMEZONE_VAR: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// `account_timezone()` with `ACCOUNT_TIMEZONE` set to `value` (unset for `None`).
fn account_timezone_with(value: Option<&str>) -> Result<chrono_tz::Tz, ConfigError> {
    let _turn = ACCOUNT_TIMEZONE_VAR
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    match value {
        Some(v) => std::env::set_var("ACCOUNT_TIMEZONE", v),
        None => std::env::remove_var("ACCOUNT_TIMEZONE"),
    }
    let tz = account_timezone();
    std::env::remove_var("ACCOUNT_TIMEZONE");
    tz
}

/// The local date of a UTC instant in `tz`: the day a counter of that instant falls on.
fn local_day(tz: chrono_tz::Tz, utc: &str) -> chrono::NaiveDate {
    utc.parse::<chrono::DateTime<chrono::Utc>>()
        .unwrap()
        .with_timezone(&tz)
        .date_naive()
}

#[test]
fn the_account_time_zone_defaults_to_kolkata() {
    assert_eq!(
        account_timezone_with(None).unwrap(),
        chrono_tz::Asia::Kolkata
    );
}

#[test]
fn europe_london_is_an_account_time_zone() {
    let tz = account_timezone_with(Some("Europe/London")).unwrap();
    assert_eq!(tz, chrono_tz::Europe::London);
    // British Summer Time: 23:30 UTC on 1 July is already 2 July in London...
    assert_eq!(
        local_day(tz, "2026-07-01T23:30:00Z"),
        "2026-07-02".parse().unwrap()
    );
    // ...and in winter London keeps UTC's day.
    assert_eq!(
        local_day(tz, "2026-01-01T23:30:00Z"),
        "2026-01-01".parse().unwrap()
    );
}

#[test]
fn america_new_york_is_an_account_time_zone() {
    let tz = account_timezone_with(Some("America/New_York")).unwrap();
    assert_eq!(tz, chrono_tz::America::New_York);
    // 03:00 UTC on 1 January is still 31 December in New York (UTC-5).
    assert_eq!(
        local_day(tz, "2026-01-01T03:00:00Z"),
        "2025-12-31".parse().unwrap()
    );
}

#[test]
fn a_mistyped_account_time_zone_is_refused_by_name() {
    for typo in ["Europe/Londn", "Asia/Kolkatta", "america/new_york", "IST"] {
        let err = account_timezone_with(Some(typo)).unwrap_err().to_string();
        assert!(err.contains("ACCOUNT_TIMEZONE"), "{typo}: {err}");
        assert!(err.contains(typo), "{typo}: {err}");
    }
}

#[test]
fn every_zone_of_the_tz_database_is_known() {
    assert!(chrono_tz::TZ_VARIANTS.len() > 500);
    for tz in chrono_tz::TZ_VARIANTS {
        assert_eq!(
            tz.name().parse::<chrono_tz::Tz>().ok(),
            Some(tz),
            "{}",
            tz.name()
        );
    }
}
