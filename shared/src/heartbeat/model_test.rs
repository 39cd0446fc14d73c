use super::*;

fn sid(s: &str) -> ExoPhoneSid {
    ExoPhoneSid::parse(s).unwrap()
}

#[test]
fn parses_ok_with_null_lists() {
    let hb = Heartbeat::parse(
        br#"{"timestamp":"2018-08-22T15:19:23Z","status_type":"OK","incoming_affected":null,"outgoing_affected":null,"data":{}}"#,
    )
    .unwrap();
    assert_eq!(hb.status, HeartbeatStatus::Ok);
    assert!(hb.incoming_affected.is_empty() && hb.outgoing_affected.is_empty());
    assert_eq!(hb.at_utc().to_rfc3339(), "2018-08-22T15:19:23+00:00");
}

#[test]
fn parses_critical_with_offset_duplicates_and_extra_fields() {
    let hb = Heartbeat::parse(
        br#"{"timestamp":"2018-08-22T20:49:23+05:30","status_type":"CRITICAL",
            "incoming_affected":["07930061010","08030752522","07930061010"],
            "outgoing_affected":["07930061010"],
            "data":{"07930061010":{"phone_number":"+917930061010",
                    "connectivity":{"incoming_call":{"status":"major_outage","alternate_exophone":["+918030752599"]}}},
                    "08030752522":{"phone_number":"not a number","region":"KA"}}}"#,
    )
    .unwrap();
    assert_eq!(hb.at_utc().to_rfc3339(), "2018-08-22T15:19:23+00:00");
    assert_eq!(hb.incoming_affected.len(), 2);
    let line = &hb.data[&sid("07930061010")];
    assert_eq!(
        line.phone_number.as_ref().unwrap().as_str(),
        "+917930061010"
    );
    assert_eq!(line.alternates(Direction::Incoming), vec!["+918030752599"]);
    assert!(line.alternates(Direction::Outgoing).is_empty());
    let other = &hb.data[&sid("08030752522")];
    assert_eq!(other.phone_number, None);
    assert_eq!(other.extra["region"], "KA");
}

#[test]
fn missing_lists_and_data_are_empty() {
    let hb = Heartbeat::parse(
        br#"{"timestamp":"2018-08-22T15:19:23Z","status_type":"PAYLOAD_TOO_LARGE"}"#,
    )
    .unwrap();
    assert_eq!(hb.status, HeartbeatStatus::PayloadTooLarge);
    assert!(hb.data.is_empty());
}

#[test]
fn rejects_what_the_docs_get_wrong_and_other_bad_input() {
    let cases: [(&[u8], &str); 5] = [
        (br#"{"timestamp":"2018-08-22T15:19:23Z>","status_type":"OK"}"#, "timestamp"),
        (br#"{"timestamp":"2018-08-22T15:19:23Z","status_type":"OK","data":{"1":{"phone_number":"+917930061010",}}}"#, "JSON"),
        (br#"{"status_type":"OK"}"#, "JSON"),
        (br#"{"timestamp":"2018-08-22T15:19:23Z","status_type":"WARNING","incoming_affected":["07 93"]}"#, "SID"),
        (b"\xff\xfe", "JSON"),
    ];
    for (body, expect) in cases {
        let err = Heartbeat::parse(body).unwrap_err().to_string();
        assert!(err.contains(expect), "{err} should mention {expect}");
        let err = HeartbeatEvent::parse(body).unwrap_err().to_string();
        assert!(err.contains(expect), "{err} should mention {expect}");
    }
}

#[test]
fn a_status_exotel_adds_later_is_kept_whole_not_refused() {
    let body = br#"{"timestamp":"2018-08-22T15:19:23Z","status_type":"DEGRADED","extra":[1]}"#;
    let err = Heartbeat::parse(body).unwrap_err();
    assert!(
        matches!(&err, ParseError::UnrecognisedStatus(s, _) if s == "DEGRADED"),
        "{err}"
    );
    match HeartbeatEvent::parse(body).expect("well formed") {
        HeartbeatEvent::Unrecognised {
            status_type, raw, ..
        } => {
            assert_eq!(status_type, "DEGRADED");
            assert_eq!(raw["extra"], serde_json::json!([1]));
        }
        other => panic!("{other:?}"),
    }
    // Its instant is still the heartbeat's key: a retry of it is a duplicate.
    let event = HeartbeatEvent::parse(body).expect("well formed");
    assert_eq!(event.at_utc().to_rfc3339(), "2018-08-22T15:19:23+00:00");
}
