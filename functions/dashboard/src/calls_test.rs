use super::*;

#[test]
fn each_agent_of_the_day_is_read_from_their_counter_and_moved_away_ones_are_left_out() {
    let day: NaiveDate = "2026-11-01".parse().unwrap();
    let key = |agent: &str, day: NaiveDate| CounterKey::CallAgent {
        provider: "exotel-webrtc".into(),
        agent: agent.into(),
        day,
    };
    let fields = |pairs: &[(&str, i64)]| -> BTreeMap<String, i64> {
        pairs.iter().map(|(f, n)| ((*f).to_owned(), *n)).collect()
    };
    let counters = BTreeMap::from([
        (
            key("agent_002", day),
            fields(&[
                ("total", 7),
                ("calls", 3),
                ("answered", 2),
                ("missed", 1),
                ("talk_seconds", 355),
                ("talked", 2),
                ("recorded", 1),
                ("device:sip", 2),
            ]),
        ),
        // Its one call moved to the agent who answered it.
        (
            key("agent_001", day),
            fields(&[("total", 2), ("calls", 0), ("missed", 0)]),
        ),
        (
            key("agent_003", day.pred_opt().unwrap()),
            fields(&[("calls", 1)]),
        ),
    ]);
    assert_eq!(
        agents(day, &counters),
        [AgentFigures {
            provider: "exotel-webrtc".into(),
            agent: "agent_002".into(),
            calls: 3,
            answered: 2,
            missed: 1,
            unanswered: 0,
            talk_seconds: 355,
            average_talk: Some("2m 57s".into()),
            recorded: 1,
            devices: BTreeMap::from([("sip".to_owned(), 2)]),
        }]
    );
}

#[test]
fn a_calls_address_names_a_known_provider_and_one_id() {
    assert_eq!(
        call_key("/api/calls/exotel-webrtc/call_in_abc123"),
        Some(StateKey::Call {
            provider: "exotel-webrtc".into(),
            id: "call_in_abc123".into()
        })
    );
    assert!(call_key("/api/calls/voipstudio/139543232").is_some());
    for refused in [
        "/api/calls/exotel/c1",
        "/api/calls/voipstudio/",
        "/api/calls/voipstudio/1/2",
        "/api/calls/voipstudio",
        "/api/dashboard",
    ] {
        assert_eq!(call_key(refused), None, "{refused}");
    }
}

#[test]
fn a_call_shows_its_agent_recording_and_outcome() {
    use dialtone_shared::calls::{decide, CallEvent};
    let tz = chrono_tz::Asia::Kolkata;
    let bodies = [
        r#"{"event":"call_completed","call_sid":"c1","status":"completed","duration":300,"talk_time":295,"recording_available":true,"timestamp":"2024-06-15T10:35:05.000Z"}"#,
        r#"{"event":"call_answered","call_sid":"c1","status":"in-progress","answered_by":"agent_001","device":"sip","timestamp":"2024-06-15T10:30:05.000Z"}"#,
        r#"{"event":"incoming_call","call_sid":"c1","direction":"inbound","from":"+919876543210","user_id":"agent_001","exophone":"+911234567890","timestamp":"2024-06-15T10:30:00.000Z"}"#,
    ];
    let mut call = None;
    for body in bodies {
        let event = CallEvent::parse_exotel(body.as_bytes()).unwrap();
        call = decide(call.as_ref(), None, &event, tz).call.or(call);
    }
    let view = serde_json::to_value(CallView::from(&call.unwrap())).unwrap();
    assert_eq!(view["provider"], "exotel-webrtc");
    assert_eq!(view["outcome"], "answered");
    assert_eq!(view["agent"], "agent_001");
    assert_eq!(view["device"], "sip");
    assert_eq!(view["recordingAvailable"], true);
    assert_eq!(
        (view["talkSeconds"].clone(), view["ringSeconds"].clone()),
        (295.into(), 5.into())
    );
    assert_eq!(view["customer"], "+919876543210");
}
