use super::*;
use serde_json::json;

fn t(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
}

#[test]
fn durations_come_as_strings_numbers_or_null() {
    let base = json!({"Sid":"a","DateCreated":"2026-11-01 09:15:00","Status":"completed","Direction":"inbound","PhoneNumberSid":"08030752522"});
    for (duration, want) in [
        (json!("134"), Some(134)),
        (json!(134), Some(134)),
        (json!(null), None),
        (json!("12.7"), Some(12)),
        (json!("n/a"), None),
    ] {
        let mut v = base.clone();
        v["Duration"] = duration;
        assert_eq!(
            CallRecord::from_json(&v.to_string())
                .unwrap()
                .duration_seconds,
            want
        );
    }
    let r = CallRecord::from_json(&base.to_string()).unwrap();
    assert_eq!(
        (r.created, r.exophone.as_deref()),
        (t("2026-11-01 09:15:00"), Some("08030752522"))
    );
}

#[test]
fn an_unreadable_record_is_an_error_not_hour_zero() {
    let err = CallRecord::from_json(
        &json!({"Sid":"a","DateCreated":"01/11/2026 09:15","Status":"completed"}).to_string(),
    )
    .unwrap_err();
    assert_eq!(err.label(), "date_created");
    assert_eq!(
        CallRecord::from_json(r#"{"Sid":"a"}"#).unwrap_err().label(),
        "date_created"
    );
    assert_eq!(CallRecord::from_json("[1]").unwrap_err().label(), "shape");
}

#[test]
fn ranges_are_split_by_month_and_clamped_to_six_months() {
    let now = t("2026-11-22 12:00:00");
    let pieces = split_range(t("2026-01-01 00:00:00"), t("2026-12-31 00:00:00"), now);
    assert_eq!(
        pieces.first().unwrap().0,
        t("2026-05-22 12:00:00"),
        "nothing older than six months"
    );
    assert_eq!(pieces.last().unwrap().1, now, "nothing from the future");
    for (from, to) in &pieces {
        assert!(*to < from.checked_add_months(Months::new(1)).unwrap());
    }
    for pair in pieces.windows(2) {
        assert_eq!(
            pair[1].0,
            pair[0].1 + chrono::Duration::seconds(1),
            "no gap, no overlap"
        );
    }
    assert!(split_range(t("2026-11-23 00:00:00"), t("2026-11-24 00:00:00"), now).is_empty());
}
