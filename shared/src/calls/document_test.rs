//! The cases the providers' documents describe, each built from the document's own
//! payload: VoIPstudio's webhook example and Exotel WebRTC's call notifications.

use super::*;
use crate::store::CounterLine;
use chrono_tz::Tz;
use std::collections::BTreeMap;

const TZ: Tz = chrono_tz::Asia::Kolkata;

/// VoIPstudio's example body (`call.hangup` of an inbound call), with `changes` applied.
fn voipstudio(changes: serde_json::Value) -> CallEvent {
    let mut body = serde_json::json!({
        "id": "uk003.608920d55f7ac3.77053295",
        "event_time": "2021-04-28 08:46:13",
        "event_name": "call.hangup",
        "call_id": 139543232,
        "state": "HANGUP",
        "connected_at": "2021-04-28 08:46:02",
        "start_time": "2021-04-28 08:45:55",
        "context": "LOCAL_USER",
        "destination": "in",
        "duration": 11,
        "t_cause": "Normal Clearing",
        "src": "447854740947",
        "src_id": "0",
        "src_name": "\"442035141598\" <2035141598>",
        "src_hash": "fe5935cefbc82fc4e924bdaa21342a49c18c5dd9",
        "dst": "441183211001",
        "dst_id": "10002",
        "dst_name": "John Smith"
    });
    for (k, v) in changes.as_object().unwrap() {
        body[k] = v.clone();
    }
    CallEvent::parse_voipstudio(body.to_string().as_bytes()).unwrap()
}

/// A VoIPstudio miss of the example call, unanswered, in `context`.
fn voipstudio_missed(id: &str, at: &str, context: &str) -> CallEvent {
    voipstudio(serde_json::json!({
        "id": id, "event_time": at, "event_name": "call.missed", "context": context,
        "connected_at": null, "duration": 0, "t_cause": "No Answer",
    }))
}

/// The example call entering a queue (`call.initial` in the queue's context).
fn voipstudio_queued() -> CallEvent {
    voipstudio(serde_json::json!({
        "id": "i", "event_time": "2021-04-28 08:45:55", "event_name": "call.initial",
        "state": "INITIAL", "context": "QUEUE", "connected_at": null,
    }))
}

fn exotel(body: serde_json::Value) -> CallEvent {
    CallEvent::parse_exotel(body.to_string().as_bytes()).unwrap()
}

/// What a run of decisions leaves: the call, the customer's callback, and every counter
/// key's fields summed (fields at 0 left out).
struct Outcome_ {
    call: Option<CallState>,
    callback: Option<CallbackState>,
    counters: BTreeMap<String, BTreeMap<String, i64>>,
}

fn run(events: &[CallEvent]) -> Outcome_ {
    let mut out = Outcome_ {
        call: None,
        callback: None,
        counters: BTreeMap::new(),
    };
    for e in events {
        let d = decide(out.call.as_ref(), out.callback.as_ref(), e, TZ);
        for m in d.counts {
            let fields = out
                .counters
                .entry(m.key.counter_key().to_string())
                .or_default();
            for (f, n) in m.adds {
                *fields.entry(f).or_default() += n;
            }
        }
        out.call = d.call.or(out.call);
        out.callback = d.callback.or(out.callback);
    }
    for fields in out.counters.values_mut() {
        fields.retain(|_, n| *n != 0);
    }
    out.counters.retain(|_, f| !f.is_empty());
    out
}

pub(super) fn fields(pairs: &[(&str, i64)]) -> BTreeMap<String, i64> {
    pairs.iter().map(|(f, n)| ((*f).to_owned(), *n)).collect()
}

fn reversed(events: &[CallEvent]) -> Vec<CallEvent> {
    events.iter().rev().cloned().collect()
}

#[test]
fn an_sms_received_counts_on_its_line_and_day() {
    let sms = voipstudio(serde_json::json!({
        "event_name": "sms.received", "event_time": "2021-04-28 20:00:00",
        "customer_id": 4711, "user_id": null, "from_no": "447854740947",
        "to_no": "441183211001", "text": "call me",
    }));
    let out = run(&[sms]);
    assert!(out.call.is_none() && out.callback.is_none());
    // 20:00 UTC is 01:30 the next day in Kolkata.
    assert_eq!(
        out.counters,
        [
            (
                "calls:voipstudio:+441183211001:2021-04-29".to_owned(),
                fields(&[("sms", 1)])
            ),
            (
                "calls:voipstudio:all:2021-04-29".to_owned(),
                fields(&[("sms", 1)])
            ),
        ]
        .into()
    );
}

#[test]
fn dtmf_presses_are_kept_in_the_order_pressed_repeats_included() {
    let dtmf = |id: &str, at: &str, tag: &str| {
        voipstudio(serde_json::json!({
            "id": id, "event_time": at, "event_name": "call.dtmf", "state": "CONNECTED",
            "dtmf_tag": tag, "dtmf_target": "U:123456",
        }))
    };
    let presses = [
        dtmf("uk003.1", "2021-04-28 08:46:05", "1"),
        dtmf("uk003.2", "2021-04-28 08:46:06", "1"),
        dtmf("uk003.3", "2021-04-28 08:46:07", "*"),
    ];
    let expected = ["1 U:123456", "1 U:123456", "* U:123456"];
    let in_order = run(&presses).call.unwrap();
    assert_eq!(in_order.dtmf, expected);
    let mut late = reversed(&presses);
    late.extend(presses.iter().cloned());
    let late = run(&late).call.unwrap();
    assert_eq!(late.dtmf, expected, "out of order and redelivered");
    assert_eq!(late, in_order);
}

#[test]
fn the_wrap_up_lasts_from_its_start_to_its_end_and_a_late_start_never_reopens_it() {
    let wrap = |id: &str, at: &str, state: &str| {
        voipstudio(serde_json::json!({
            "id": id, "event_time": at, "event_name": "queue.wrapup", "state": state,
            "context": "QUEUE",
        }))
    };
    let events = [
        wrap("w1", "2021-04-28 08:46:13", "START"),
        wrap("w2", "2021-04-28 08:47:03", "END"),
    ];
    for order in [events.to_vec(), reversed(&events)] {
        let call = run(&order).call.unwrap();
        assert_eq!(call.wrap_up.as_deref(), Some("END"));
        assert_eq!(call.wrap_up_seconds(), Some(50));
    }
    let timed_out = run(&[
        wrap("w3", "2021-04-28 08:48:13", "timeout"),
        events[0].clone(),
    ]);
    let call = timed_out.call.unwrap();
    assert_eq!(
        (call.wrap_up.as_deref(), call.wrap_up_seconds()),
        (Some("TIMEOUT"), Some(120))
    );
}

#[test]
fn the_queue_context_is_read_whatever_its_case() {
    for context in ["QUEUE", "Queue", "queue"] {
        let miss = voipstudio_missed("q", "2021-04-28 08:46:40", context);
        assert_eq!(miss.context, Some(CallContext::Queue), "{context}");
        assert_eq!(
            miss.step,
            Step::Missed {
                ring_seconds: None,
                queue: true
            }
        );
    }
}

/// The document: "to identify an unanswered call within a queue instead of inspecting the
/// Context = User we will look for an event with context:Queue and event_name:call.missed".
#[test]
fn a_queue_call_whose_agent_leg_was_missed_is_one_missed_call_and_one_callback() {
    let agent_leg = voipstudio_missed("a", "2021-04-28 08:46:20", "LOCAL_USER");
    let queue_miss = voipstudio_missed("q", "2021-04-28 08:46:40", "Queue");
    for order in [
        vec![agent_leg.clone(), queue_miss.clone()],
        vec![queue_miss.clone(), agent_leg.clone()],
    ] {
        let out = run(&order);
        let call = out.call.unwrap();
        assert_eq!(call.outcome(), Some(Outcome::Missed));
        assert!(call.queue_abandoned);
        let callback = out.callback.unwrap();
        assert_eq!(callback.missed.len(), 1);
        assert_eq!(
            callback.first_missed_at.to_rfc3339(),
            "2021-04-28T08:46:40+00:00",
            "the queue's miss, not the agent's"
        );
        assert_eq!(
            out.counters["calls:voipstudio:all:2021-04-28"],
            fields(&[("calls", 1), ("missed", 1)])
        );
    }
}

#[test]
fn an_agent_leg_missed_before_the_queue_is_known_is_withdrawn_when_another_agent_answers() {
    let agent_leg = voipstudio_missed("a", "2021-04-28 08:46:00", "LOCAL_USER");
    let queued = voipstudio_queued();
    // The agent's miss alone looks like a missed direct call: owed a callback.
    let first = run(std::slice::from_ref(&agent_leg));
    assert!(first.callback.as_ref().unwrap().is_open());
    // The queue's event shows it was one agent's leg: the call is still waiting.
    let out = run(&[agent_leg.clone(), queued.clone()]);
    assert_eq!(out.call.as_ref().unwrap().outcome(), None);
    let callback = out.callback.unwrap();
    assert!(!callback.is_open() && callback.withdrawn);
    assert!(out.counters.is_empty(), "{:?}", out.counters);
    // Another agent answers and hangs up (the document's example): one answered call.
    let hangup = voipstudio(serde_json::json!({}));
    let out = run(&[agent_leg, queued, hangup]);
    assert_eq!(out.call.unwrap().outcome(), Some(Outcome::Answered));
    assert_eq!(
        out.counters["calls:voipstudio:all:2021-04-28"],
        fields(&[
            ("answered", 1),
            ("calls", 1),
            ("talk_seconds", 11),
            ("talked", 1)
        ])
    );
}

#[test]
fn a_callback_withdrawn_for_an_agent_leg_is_owed_again_when_the_queue_misses_the_caller() {
    // The caller hangs up at 08:46:40; the ringing agent's leg is torn down a second later.
    let agent_leg = voipstudio_missed("a", "2021-04-28 08:46:41", "LOCAL_USER");
    let queued = voipstudio_queued();
    let queue_miss = voipstudio_missed("q", "2021-04-28 08:46:40", "QUEUE");
    let withdrawn = run(&[agent_leg.clone(), queued.clone()]).callback.unwrap();
    assert!(withdrawn.withdrawn && withdrawn.closed_at.unwrap() > queue_miss.at);
    // A withdrawn callback was no call back: the queue's earlier miss still owes one.
    let out = run(&[agent_leg, queued, queue_miss]);
    let callback = out.callback.unwrap();
    assert!(callback.is_open() && !callback.withdrawn);
    assert_eq!(
        callback.first_missed_at.to_rfc3339(),
        "2021-04-28T08:46:40+00:00"
    );
    assert_eq!(
        out.counters["calls:voipstudio:all:2021-04-28"],
        fields(&[("calls", 1), ("missed", 1)])
    );
}

#[test]
fn an_outbound_call_missed_is_unanswered_and_owes_no_callback() {
    let out = run(&[voipstudio(serde_json::json!({
        "event_name": "call.missed", "destination": "out", "connected_at": null,
        "src": "441183211001", "dst": "447854740947", "duration": 0,
    }))]);
    assert_eq!(out.call.unwrap().outcome(), Some(Outcome::Unanswered));
    assert!(out.callback.is_none());
    assert_eq!(
        out.counters["calls:voipstudio:all:2021-04-28"],
        fields(&[("calls", 1), ("unanswered", 1)])
    );
}

fn exotel_outbound_missed() -> [CallEvent; 2] {
    [
        exotel(serde_json::json!({
            "event": "outbound_call", "call_sid": "call_out_def456", "direction": "outbound",
            "from": "sip:agent_001@app.exotel.com", "to": "+919876543210",
            "app_id": "app_abc123", "user_id": "agent_001", "exophone": "+911234567890",
            "timestamp": "2024-06-15T10:35:00.000Z",
        })),
        exotel(serde_json::json!({
            "event": "call_missed", "call_sid": "call_out_def456", "status": "no-answer",
            "ring_time": 30, "timestamp": "2024-06-15T10:35:31.000Z",
        })),
    ]
}

#[test]
fn an_exotel_outbound_call_missed_is_unanswered_whatever_the_order() {
    let events = exotel_outbound_missed();
    for order in [events.to_vec(), reversed(&events)] {
        let out = run(&order);
        assert_eq!(out.call.unwrap().outcome(), Some(Outcome::Unanswered));
        assert!(out.callback.is_none_or(|c| !c.is_open()));
        let unanswered = fields(&[("calls", 1), ("unanswered", 1)]);
        assert_eq!(
            out.counters,
            [
                (
                    "calls-agent:exotel-webrtc:agent_001:2024-06-15".to_owned(),
                    unanswered.clone()
                ),
                (
                    "calls:exotel-webrtc:+911234567890:2024-06-15".to_owned(),
                    unanswered.clone()
                ),
                ("calls:exotel-webrtc:all:2024-06-15".to_owned(), unanswered),
            ]
            .into()
        );
    }
}

/// The document's inbound call: rings for `agent_001`; `call_answered` names who answered
/// and on which device; `call_completed` the talk time and the recording.
fn exotel_answered(answered_by: &str) -> Vec<CallEvent> {
    vec![
        exotel(serde_json::json!({
            "event": "incoming_call", "call_sid": "call_in_abc123", "direction": "inbound",
            "from": "+919876543210", "to": "sip:agent_001@app.exotel.com",
            "app_id": "app_abc123", "user_id": "agent_001", "exophone": "+911234567890",
            "timestamp": "2024-06-15T10:30:00.000Z",
            "caller_info": {"name": "John Customer", "custom_field": "CRM_ID_12345"},
        })),
        exotel(serde_json::json!({
            "event": "call_ringing", "call_sid": "call_in_abc123", "status": "ringing",
            "timestamp": "2024-06-15T10:30:01.000Z",
        })),
        exotel(serde_json::json!({
            "event": "call_answered", "call_sid": "call_in_abc123", "status": "in-progress",
            "answered_by": answered_by, "device": "sip",
            "timestamp": "2024-06-15T10:30:05.000Z",
        })),
        exotel(serde_json::json!({
            "event": "call_completed", "call_sid": "call_in_abc123", "status": "completed",
            "duration": 300, "talk_time": 295, "recording_available": true,
            "timestamp": "2024-06-15T10:35:05.000Z",
        })),
    ]
}

#[test]
fn an_answered_call_counts_under_the_agent_who_answered_whatever_the_order_and_retries() {
    let events = exotel_answered("agent_002");
    let expected = fields(&[
        ("answered", 1),
        ("calls", 1),
        ("device:sip", 1),
        ("recorded", 1),
        ("talk_seconds", 295),
        ("talked", 1),
    ]);
    let mut retried = reversed(&events);
    retried.extend(events.iter().cloned());
    for order in [events.clone(), reversed(&events), retried] {
        let out = run(&order);
        let call = out.call.unwrap();
        assert_eq!(call.agent(), Some("agent_002"));
        assert_eq!(call.recording_available, Some(true));
        assert_eq!(
            out.counters["calls-agent:exotel-webrtc:agent_002:2024-06-15"],
            expected
        );
        assert!(
            !out.counters.keys().any(|k| k.contains("agent_001")),
            "the agent it rang for first holds nothing: {:?}",
            out.counters
        );
        assert_eq!(
            out.counters["calls:exotel-webrtc:all:2024-06-15"]["recorded"],
            1
        );
    }
}

#[test]
fn a_missed_call_counts_as_missed_for_the_agent_it_rang_for() {
    let events = [
        exotel_answered("agent_001").remove(0),
        exotel(serde_json::json!({
            "event": "call_missed", "call_sid": "call_in_abc123", "status": "no-answer",
            "ring_time": 30, "timestamp": "2024-06-15T10:30:31.000Z",
        })),
    ];
    for order in [events.to_vec(), reversed(&events)] {
        let out = run(&order);
        assert_eq!(
            out.counters["calls-agent:exotel-webrtc:agent_001:2024-06-15"],
            fields(&[("calls", 1), ("missed", 1)])
        );
        assert!(out.callback.unwrap().is_open());
    }
    let line_all = CounterLine::All;
    assert_eq!(
        crate::calls::CallCounterKey {
            provider: Provider::ExotelWebrtc,
            scope: CounterScope::Line(line_all),
            day: "2024-06-15".parse().unwrap(),
        }
        .counter_key()
        .to_string(),
        "calls:exotel-webrtc:all:2024-06-15"
    );
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// A queue call as VoIPstudio reports it: the queue's `call.initial`, two agents'
    /// legs going unanswered, then either the caller giving up (the queue's `call.missed`)
    /// or a third agent answering (the document's hangup).
    fn queue_call(answered: bool) -> Vec<CallEvent> {
        let mut events = vec![
            voipstudio_queued(),
            voipstudio_missed("a1", "2021-04-28 08:45:58", "LOCAL_USER"),
            voipstudio_missed("a2", "2021-04-28 08:46:41", "LOCAL_USER"),
        ];
        events.push(if answered {
            voipstudio(serde_json::json!({}))
        } else {
            voipstudio_missed("q", "2021-04-28 08:46:40", "Queue")
        });
        events
    }

    proptest! {
        /// Whatever the order and however often each is delivered (a redelivery of an
        /// event id is dropped before the decision, as the pipeline does): the counts of
        /// one in-order delivery, and one callback owed only if the queue missed them.
        #[test]
        fn a_queue_calls_legs_settle_the_same_in_any_order(
            answered in any::<bool>(),
            order in Just((0..4).collect::<Vec<usize>>()).prop_shuffle(),
            repeats in proptest::collection::vec(0usize..4, 0..4),
        ) {
            let events = queue_call(answered);
            let mut delivered: Vec<CallEvent> = order.iter().map(|i| events[*i].clone()).collect();
            delivered.extend(repeats.iter().map(|i| events[*i].clone()));
            let mut seen = std::collections::HashSet::new();
            delivered.retain(|e| seen.insert(e.dedup_key.clone()));
            let (forward, out) = (run(&events), run(&delivered));
            prop_assert_eq!(&out.counters, &forward.counters);
            let owed: Vec<_> = out.callback.iter().filter(|c| c.is_open()).collect();
            if answered {
                prop_assert!(owed.is_empty());
            } else {
                prop_assert_eq!(owed.len(), 1);
                prop_assert_eq!(owed[0].missed.len(), 1);
                prop_assert_eq!(owed[0].first_missed_at.to_rfc3339(), "2021-04-28T08:46:40+00:00");
            }
        }
    }
}

/// Exotel drops a notification after its third retry: a `call_completed` with `talk_time`
/// ("Call ended normally") is an answered call even when its `call_answered` never came.
#[test]
fn a_completed_call_with_talk_time_is_answered_though_its_answer_was_lost() {
    let mut events = exotel_answered("agent_001");
    events.remove(2);
    for order in [events.clone(), reversed(&events)] {
        let out = run(&order);
        assert!(
            out.callback.is_none_or(|c| !c.is_open()),
            "no callback owed"
        );
        let all = &out.counters["calls:exotel-webrtc:all:2024-06-15"];
        assert_eq!(
            (
                all.get("answered"),
                all.get("missed"),
                all.get("talk_seconds")
            ),
            (Some(&1), None, Some(&295))
        );
    }
}

/// The same lost answer on a later call of a customer owed a callback: the call was talked
/// on, so the callback is paid at the answer its talk time implies, whatever the order.
#[test]
fn a_call_talked_on_though_its_answer_was_lost_pays_the_callers_callback() {
    let missed = run(&[
        exotel_answered("agent_001").remove(0),
        exotel(serde_json::json!({
            "event": "call_missed", "call_sid": "call_in_abc123", "status": "no-answer",
            "ring_time": 30, "timestamp": "2024-06-15T10:30:31.000Z",
        })),
    ]);
    let owed = missed.callback.unwrap();
    assert!(owed.is_open());
    let later = [
        exotel(serde_json::json!({
            "event": "incoming_call", "call_sid": "call_in_def456", "direction": "inbound",
            "from": "+919876543210", "to": "sip:agent_001@app.exotel.com",
            "app_id": "app_abc123", "user_id": "agent_001", "exophone": "+911234567890",
            "timestamp": "2024-06-15T11:00:00.000Z",
        })),
        exotel(serde_json::json!({
            "event": "call_completed", "call_sid": "call_in_def456", "status": "completed",
            "duration": 300, "talk_time": 120, "timestamp": "2024-06-15T11:05:00.000Z",
        })),
    ];
    for order in [later.to_vec(), reversed(&later)] {
        let (mut call, mut callback) = (None, Some(owed.clone()));
        for event in &order {
            let d = decide(call.as_ref(), callback.as_ref(), event, TZ);
            call = d.call.or(call);
            callback = d.callback.or(callback);
        }
        let paid = callback.unwrap();
        assert!(!paid.is_open(), "paid by the call talked on");
        assert_eq!(paid.closed_by.as_deref(), Some("call_in_def456"));
        assert_eq!(
            paid.closed_at.map(|t| t.to_rfc3339()),
            Some("2024-06-15T11:03:00+00:00".to_owned()),
            "at its end less its talk time"
        );
    }
}
