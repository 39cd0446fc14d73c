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
fn bad_bodies_say_what_is_wrong() {
    for (body, expect) in [
        (&b"{}"[..], "missing field"),
        (br#"{"id":"x","event_time":"28/04/2021","event_name":"call.hangup","call_id":1}"#, "event_time"),
        (br#"{"id":"x","event_time":"2021-04-28 08:46:13","event_name":"call.teleport","call_id":1}"#, "unknown event_name"),
        (br#"{"id":"x","event_time":"2021-04-28 08:46:13","event_name":"call.ringing"}"#, "call_id"),
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
