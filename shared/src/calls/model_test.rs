use super::*;

const VOIPSTUDIO_HANGUP: &[u8] = br#"{"id":"uk003.608920d55f7ac3.77053295","event_time":"2021-04-28 08:46:13","event_name":"call.hangup",
  "call_id":139543232,"state":"HANGUP","connected_at":"2021-04-28 08:46:02","start_time":"2021-04-28 08:45:55","context":"LOCAL_USER",
  "destination":"in","duration":11,"t_cause":"Normal Clearing","src":"447854740947","src_id":"0","dst":"441183211001","dst_id":"10002","dst_name":"John Smith"}"#;

#[test]
fn voipstudio_hangup_becomes_an_ended_inbound_call() {
    let e = CallEvent::parse_voipstudio(VOIPSTUDIO_HANGUP).unwrap();
    assert_eq!(e.call_id.as_deref(), Some("139543232"));
    assert_eq!(
        e.step,
        Step::Ended {
            talk_seconds: Some(11)
        }
    );
    assert_eq!(e.direction, Some(CallDirection::Inbound));
    assert_eq!(
        e.customer.as_ref().map(|c| c.as_str()),
        Some("+447854740947")
    );
    assert_eq!(e.line.as_deref(), Some("+441183211001"));
    assert_eq!(e.at.to_rfc3339(), "2021-04-28T08:46:13+00:00");
    assert_eq!(
        e.answered_at.unwrap().to_rfc3339(),
        "2021-04-28T08:46:02+00:00"
    );
    assert_eq!(e.dedup_key, "uk003.608920d55f7ac3.77053295");
}

#[test]
fn exotel_events_carry_their_numbers_where_they_have_them() {
    let e = CallEvent::parse_exotel(br#"{"event":"missed_call","call_sid":"c1","from":"+919876543210","to":"sip:agent_001@app.exotel.com","exophone":"+911234567890","ring_duration":30,"timestamp":"2024-06-15T10:30:31.000Z"}"#).unwrap();
    assert_eq!(
        e.step,
        Step::Missed {
            ring_seconds: Some(30),
            queue: false
        }
    );
    assert_eq!(
        e.customer.as_ref().map(|c| c.as_str()),
        Some("+919876543210")
    );
    assert_eq!(e.dedup_key, "c1:missed_call");
    let out = CallEvent::parse_exotel(br#"{"event":"outbound_call","call_sid":"c2","direction":"outbound","from":"sip:a@b","to":"+919876543210","exophone":"+911234567890","timestamp":"2024-06-15T10:35:00.000+05:30"}"#).unwrap();
    assert_eq!(
        (out.direction, out.customer.map(String::from)),
        (Some(CallDirection::Outbound), Some("+919876543210".into()))
    );
    assert_eq!(out.at.to_rfc3339(), "2024-06-15T05:05:00+00:00");
}

#[test]
fn phones_are_normalised_and_sip_uris_are_not_phones() {
    assert_eq!(
        normalise_phone("447854740947").map(String::from),
        Some("+447854740947".into())
    );
    assert_eq!(
        normalise_phone("+919812345678").map(String::from),
        Some("+919812345678".into())
    );
    assert_eq!(normalise_phone("sip:agent_001@app.exotel.com"), None);
    assert_eq!(normalise_phone("2002"), None);
}

#[test]
fn events_the_providers_add_later_are_kept_not_refused() {
    let voip = CallEvent::parse_voipstudio(
        br#"{"id":"x","event_time":"2021-04-28 08:46:13","event_name":"call.teleport","call_id":1}"#,
    )
    .expect("well formed");
    assert_eq!(voip.step, Step::Unrecognised);
    assert_eq!(voip.event, "call.teleport");
    assert_eq!(voip.dedup_key, "x");
    let exotel = CallEvent::parse_exotel(
        br#"{"event":"call_transferred","call_sid":"CA1","timestamp":"2024-06-15T10:30:00.000Z"}"#,
    )
    .expect("well formed");
    assert_eq!(exotel.step, Step::Unrecognised);
    assert_eq!(exotel.dedup_key, "CA1:call_transferred");
}

#[test]
fn exotel_timestamps_in_every_iso_8601_form() {
    let at = |t: &str| {
        CallEvent::parse_exotel(
            format!(r#"{{"event":"call_answered","call_sid":"CA1","timestamp":"{t}"}}"#).as_bytes(),
        )
        .map(|e| e.at.to_rfc3339())
    };
    for form in [
        "2024-06-15T10:30:00.000Z",
        "2024-06-15T10:30:00Z",
        "2024-06-15T16:00:00+05:30",
        "2024-06-15T16:00:00+0530",
        "2024-06-15T16:00:00.000+0530",
        "20240615T103000Z",
        "20240615T160000+0530",
        "2024-06-15T10:30:00,000Z",
        "2024-06-15T10:30:00",
        "2024-167T10:30:00Z",
    ] {
        assert_eq!(
            at(form).as_deref(),
            Ok("2024-06-15T10:30:00+00:00"),
            "{form}"
        );
    }
    assert!(at("2024-06-15T10:30:00Z>").is_err());
    assert!(at("2024-W24-6T10:30:00Z").is_err());
    assert!(at("15/06/2024 10:30").is_err());
}

#[test]
fn bad_bodies_say_what_is_wrong() {
    for (body, expect) in [
        (&b"{}"[..], "missing field"),
        (
            br#"{"id":"x","event_time":"28/04/2021","event_name":"call.hangup","call_id":1}"#,
            "event_time",
        ),
        (
            br#"{"id":"x","event_time":"2021-04-28 08:46:13","event_name":"call.ringing"}"#,
            "call_id",
        ),
        (br#"[1,2]"#, "object"),
    ] {
        let err = CallEvent::parse_voipstudio(body).unwrap_err().to_string();
        assert!(err.contains(expect), "{err}");
    }
    let err = CallEvent::parse_exotel(
        br#"{"event":"call_ringing","call_sid":"c","timestamp":"2024-06-15T10:30:31.000Z>"}"#,
    )
    .unwrap_err();
    assert!(err.to_string().contains("timestamp"));
}

#[test]
fn exotel_agents_devices_and_recordings_are_read_as_sent_or_left_out() {
    let answered = CallEvent::parse_exotel(br#"{"event":"call_answered","call_sid":"c1","status":"in-progress","answered_by":"agent_001","device":"SIP","timestamp":"2024-06-15T10:30:05.000Z"}"#).unwrap();
    assert_eq!(
        (answered.answered_by.as_deref(), answered.device.as_deref()),
        (Some("agent_001"), Some("sip"))
    );
    let completed = |recording: &str| {
        CallEvent::parse_exotel(
            format!(r#"{{"event":"call_completed","call_sid":"c1","talk_time":295,"recording_available":{recording},"timestamp":"2024-06-15T10:35:05.000Z"}}"#)
                .as_bytes(),
        )
        .unwrap()
        .recording_available
    };
    assert_eq!(completed("true"), Some(true));
    assert_eq!(completed(r#""false""#), Some(false));
    assert_eq!(completed("null"), None);
    assert_eq!(
        completed(r#""maybe""#),
        None,
        "not worth refusing the call for"
    );
    // A device name becomes part of a counter field: only letters, digits, `-` and `_`.
    let odd = CallEvent::parse_exotel(br#"{"event":"call_answered","call_sid":"c1","answered_by":"  ","device":"web rtc/2:x","timestamp":"2024-06-15T10:30:05.000Z"}"#).unwrap();
    assert_eq!(
        (odd.answered_by, odd.device.as_deref()),
        (None, Some("webrtc2x"))
    );
}
