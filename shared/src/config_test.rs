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

#[test]
fn only_the_built_in_time_zones_are_known() {
    for known in [
        "Asia/Kolkata",
        "Asia/Singapore",
        "Asia/Dubai",
        "Etc/GMT-4",
        "UTC",
    ] {
        assert!(known.parse::<chrono_tz::Tz>().is_ok(), "{known}");
    }
    assert!("Europe/London".parse::<chrono_tz::Tz>().is_err());
}
