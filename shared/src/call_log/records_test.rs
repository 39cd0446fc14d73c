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
    let text = base.to_string();
    let r = CallRecord::from_json(&text).unwrap();
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

/// The labels of a page's records, in order (`ok` for a readable one).
fn labels(page: &PageRecords<'_>) -> Vec<&'static str> {
    page.calls
        .iter()
        .map(|c| c.as_ref().map_or_else(RecordError::label, |_| "ok"))
        .collect()
}

#[test]
fn one_pass_keeps_each_bad_record_to_itself() {
    let body = r#"{"Metadata": {"NextPageUri": "/v1/Accounts/a/Calls.json?After=x", "Total": null},
      "Calls": [
        {"Sid": "good1", "DateCreated": "2026-11-01 09:15:00", "Status": "completed",
         "Direction": "inbound", "PhoneNumberSid": "0803", "Duration": "61",
         "Price": {"nested": [1, {"deep": null}]}, "RecordingUrl": null},
        17,
        "a string",
        null,
        [{"Sid": "in an array"}],
        {"Sid": 42, "DateCreated": "2026-11-01 09:15:00"},
        {"Sid": "dup", "Sid": "dup", "DateCreated": "2026-11-01 09:15:00"},
        {"Sid": "baddate", "DateCreated": "2026-11-01T09:15:00Z"},
        {"Sid": "nodate"},
        {"DateCreated": "2026-11-01 09:15:00"},
        {"Sid": "typed", "DateCreated": "2026-11-01 09:15:00", "Status": ["completed"]},
        {"Sid": "g\u006fod2", "DateCreated": " 2026-11-02 23:59:59 ", "Status": "busy",
         "Direction": null, "PhoneNumberSid": "", "Duration": 0, "Unknown": true,
         "Unknown": false},
        {"Sid": "nulldur", "DateCreated": "2026-11-03 00:00:00", "Duration": null,
         "Direction": "outbound-api", "Status": null}
      ]}"#;
    let page = read_page(body.as_bytes()).unwrap();
    assert_eq!(
        labels(&page),
        [
            "ok",
            "shape",
            "shape",
            "shape",
            "shape",
            "shape",
            "shape",
            "date_created",
            "date_created",
            "shape",
            "shape",
            "ok",
            "ok"
        ]
    );
    assert_eq!(
        page.next_page_uri.as_deref(),
        Some("/v1/Accounts/a/Calls.json?After=x")
    );
    let good: Vec<&CallRecord> = page.calls.iter().filter_map(|c| c.as_ref().ok()).collect();
    assert_eq!(
        *good[0],
        CallRecord {
            sid: "good1".into(),
            created: t("2026-11-01 09:15:00"),
            status: "completed".into(),
            direction: "inbound".into(),
            exophone: Some("0803".into()),
            duration_seconds: Some(61),
        }
    );
    // Text without escapes is borrowed from the page; an escaped Sid is unescaped.
    assert!(matches!(good[0].sid, Cow::Borrowed(_)));
    assert!(matches!(good[0].status, Cow::Borrowed(_)));
    assert_eq!(
        (
            &*good[1].sid,
            good[1].created,
            &*good[1].status,
            &*good[1].direction,
            good[1].exophone.as_deref(),
            good[1].duration_seconds
        ),
        (
            "good2",
            t("2026-11-02 23:59:59"),
            "busy",
            "unknown",
            None,
            Some(0)
        )
    );
    assert_eq!(
        (
            &*good[2].status,
            &*good[2].direction,
            good[2].duration_seconds
        ),
        ("", "outbound-api", None)
    );
    // The reasons name what was wrong.
    let reason = |i: usize| page.calls[i].as_ref().unwrap_err().to_string();
    assert!(reason(1).contains("integer `17`"), "{}", reason(1));
    assert!(reason(5).contains("Sid"), "{}", reason(5));
    assert!(reason(6).contains("duplicate field `Sid`"), "{}", reason(6));
    assert!(reason(7).contains("2026-11-01T09:15:00Z"), "{}", reason(7));
    assert!(reason(9).contains("missing field `Sid`"), "{}", reason(9));
    assert!(reason(10).contains("Status"), "{}", reason(10));
}

#[test]
fn each_record_reads_the_same_alone_and_in_a_page() {
    let records = [
        r#"{"Sid":"a","DateCreated":"2026-11-01 09:15:00","Duration":"12.7"}"#,
        r#"{"Sid":"a","DateCreated":"2026-11-01 09:15:00","Duration":"\u0031\u0032"}"#,
        r#"{"Sid":"a","DateCreated":"2026-11-01 09:15:00","Duration":-3}"#,
        r#"{"Sid":"a","DateCreated":"2026-11-01 09:15:00","Duration":1e3}"#,
        r#"{"Sid":"a","DateCreated":"2026-11-01 09:15:00","Duration":{"s":1}}"#,
        r#"{"Sid":"a","DateCreated":"2026-11-01 09:15:00","Duration":1,"Duration":2}"#,
        r#"{"Sid":"a","DateCreated":"2026-02-30 09:15:00"}"#,
        r#"{"Sid":"a","DateCreated":"2026-11-01 24:00:00"}"#,
        r#"{"Sid":"a","DateCreated":20261101}"#,
        r#"{"Sid":"a","DateCreated":null}"#,
        r#"{"Sid":null,"DateCreated":"2026-11-01 09:15:00"}"#,
        r#"{"Sid":"a","DateCreated":"2026-11-01 09:15:00","PhoneNumberSid":7}"#,
        r#"{"Sid":"a","DateCreated":"2026-11-01 09:15:00","Direction":false}"#,
        r#"[]"#,
        r#"{}"#,
    ];
    let body = format!(r#"{{"Calls":[{}]}}"#, records.join(","));
    let page = read_page(body.as_bytes()).unwrap();
    assert_eq!(page.calls.len(), records.len());
    for (text, in_page) in records.iter().zip(&page.calls) {
        assert_eq!(&CallRecord::from_json(text), in_page, "{text}");
    }
    let seconds: Vec<Option<u64>> = page.calls[..5]
        .iter()
        .map(|c| c.as_ref().unwrap().duration_seconds)
        .collect();
    assert_eq!(seconds, [Some(12), Some(12), None, Some(1000), None]);
    assert_eq!(
        labels(&page)[5..],
        [
            "shape",
            "date_created",
            "date_created",
            "shape",
            "date_created",
            "shape",
            "shape",
            "shape",
            "shape",
            "shape"
        ]
    );
}

#[test]
fn only_a_page_that_is_not_json_or_has_no_calls_fails_whole() {
    for body in [
        &br#"{"Calls":[{"Sid":"a","DateCreated":"2026-11-01 09:15:00"},{"Sid":"b",]}"#[..],
        br#"{"Calls":[{"Sid":"a","DateCreated":"2026-11-01 09:15:00"}"#,
        br#"{"Calls":[{"Sid":"a"} {"Sid":"b"}]}"#,
        br#"{"Calls":null}"#,
        br#"{"Metadata":{}}"#,
        br#"{"Calls":[],"Calls":[]}"#,
        b"{\"Calls\":[{\"Sid\":\"a\xff\"}]}",
        b"{\"Calls\":[{\"Sid\":\"a\",\"Uri\":\"\xc3\"}]}",
        b"",
    ] {
        assert!(
            read_page(body).is_err(),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
    assert!(read_page(br#"{"Calls":[]}"#).unwrap().calls.is_empty());
}

#[test]
fn a_number_too_large_to_read_costs_its_record_only() {
    // Valid JSON that cannot be read as an f64: the page is read again, record by record.
    let body = br#"{"Metadata":{"NextPageUri":"/next"},"Calls":[
        {"Sid":"a","DateCreated":"2026-11-01 09:15:00","Duration":1e400,"Price":-1e999},
        1e400,
        {"Sid":1e400,"DateCreated":"2026-11-01 09:15:00"},
        {"Sid":"b","DateCreated":"2026-11-01 09:15:00","Status":1e400},
        {"Sid":"c","DateCreated":"2026-11-01 10:00:00","Status":"busy"}
    ]}"#;
    let page = read_page(body).unwrap();
    assert_eq!(labels(&page), ["ok", "shape", "shape", "shape", "ok"]);
    assert_eq!(page.calls[0].as_ref().unwrap().duration_seconds, None);
    assert_eq!(&*page.calls[4].as_ref().unwrap().status, "busy");
    assert_eq!(page.next_page_uri.as_deref(), Some("/next"));
    assert!(read_page(br#"{"Calls":[1e400,]}"#).is_err());
}
