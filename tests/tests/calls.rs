//! VoIPstudio and Exotel call events end to end on the local stack: every event name, one
//! call model, duplicates, reordered lifecycles, queue abandons, the callback list and its
//! watchdog, and the daily counters.

mod common;

use callback_watchdog::{sweep, Deps as WatchdogDeps};
use common::*;
use dialtone_shared::calls::receiver::{ExotelCalls, Voipstudio};
use dialtone_shared::store::DynamoStore;
use serde_json::json;

macro_rules! events {
    ($($name:literal),* $(,)?) => {
        [$(($name, include_str!(concat!("../../events/", $name, ".json")))),*]
    };
}

const VOIPSTUDIO: [(&str, &str); 17] = events![
    "voipstudio-call-initial",
    "voipstudio-call-ringing",
    "voipstudio-call-connected",
    "voipstudio-call-hold",
    "voipstudio-call-unhold",
    "voipstudio-call-dtmf",
    "voipstudio-call-hangup",
    "voipstudio-queue-wrapup-start",
    "voipstudio-queue-wrapup-end",
    "voipstudio-queue-wrapup-timeout",
    "voipstudio-missed-initial",
    "voipstudio-missed-ringing",
    "voipstudio-call-missed",
    "voipstudio-queue-missed",
    "voipstudio-sms-received",
    "voipstudio-call-outbound-connected",
    "voipstudio-call-outbound-callback",
];

const EXOTEL: [(&str, &str); 10] = events![
    "exotel-call-incoming-call",
    "exotel-call-ringing",
    "exotel-call-answered",
    "exotel-call-completed",
    "exotel-call-missed-incoming",
    "exotel-call-missed",
    "exotel-call-missed-call",
    "exotel-call-outbound-call",
    "exotel-call-outbound-answered",
    "exotel-call-outbound-completed",
];

/// A day's call counters, without the counter's own bump count.
fn call_counts(items: &[Item], key: &str) -> serde_json::Value {
    let mut counts = counter_json(items, key);
    counts.as_object_mut().unwrap().remove("total");
    counts
}

/// The callback watchdog (deadline 30 minutes), its requests through a proxy that counts them.
async fn watchdog_through_proxy(
    stack: &dialtone_local::stack::Stack,
) -> (
    dialtone_local::faults::FaultProxy,
    WatchdogDeps<DynamoStore>,
) {
    let moto = std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL");
    let proxy = dialtone_local::faults::FaultProxy::start(&moto)
        .await
        .expect("proxy");
    let watchdog = WatchdogDeps {
        store: DynamoStore::new(
            dialtone_local::aws::dynamodb_through(proxy.url()).await,
            &stack.table,
        ),
        deadline: chrono::Duration::minutes(30),
        tz: chrono_tz::Asia::Kolkata,
    };
    (proxy, watchdog)
}

#[tokio::test]
async fn every_voipstudio_event_feeds_one_call_model() {
    let stack = stack("vs-all").await;
    let deps = call_deps::<Voipstudio>(&stack, VOIPSTUDIO_TOKEN);
    for (name, envelope) in VOIPSTUDIO {
        assert_eq!(
            send_call(&deps, envelope).await,
            (200, json!({"result": "accepted", "alerts": 0})),
            "{name}"
        );
    }
    let items = scan(&stack).await;

    let answered = state_json(&items, "STATE#call:voipstudio:139543232");
    assert_eq!(answered["direction"], "inbound");
    assert_eq!(answered["customer"], "+919812345678");
    assert_eq!(answered["line"], "+918030752522");
    assert_eq!(
        (
            answered["ring_seconds"].clone(),
            answered["talk_seconds"].clone()
        ),
        (json!(9), json!(120))
    );
    assert_eq!(answered["dtmf"], json!(["* U:123456"]));
    assert_eq!(answered["wrap_up"], "END");
    assert!(answered["held_at"].is_string() && answered["resumed_at"].is_string());
    assert_eq!(answered["counted"], "answered");

    let missed = state_json(&items, "STATE#call:voipstudio:139543240");
    assert_eq!(missed["counted"], "missed");
    let abandoned = state_json(&items, "STATE#call:voipstudio:139543250");
    assert_eq!(
        (
            abandoned["queue_abandoned"].clone(),
            abandoned["counted"].clone()
        ),
        (json!(true), json!("missed"))
    );

    // The missed caller was called back at 10:50:00, 29 min 29 s after the miss.
    let returned = state_json(&items, "STATE#callback:+919876500011");
    assert_eq!(returned["closed_by"], "139543270");
    assert_eq!(returned["waited_seconds"], 1769);
    // The caller who gave up in the queue is still owed a call.
    let owed = state_json(&items, "STATE#callback:+919876500022");
    assert!(owed["closed_at"].is_null());
    assert_eq!(owed["missed"][0]["queue_abandoned"], true);
    let open: Vec<String> = items
        .iter()
        .filter(|i| {
            i.get("gsi1pk")
                .and_then(|v| v.as_s().ok())
                .map(String::as_str)
                == Some("CALLBACKS_OPEN")
        })
        .map(|i| s(i, "pk"))
        .collect();
    assert_eq!(open, ["STATE#callback:+919876500022"]);

    assert_eq!(
        call_counts(&items, "calls:voipstudio:all:2026-11-01"),
        // The wrap-up TIMEOUT is the only event of call 139543260, and it says the call
        // was connected: an answered call with no talk time known.
        json!({"calls": 5, "answered": 3, "missed": 2, "talk_seconds": 240, "talked": 2, "sms": 1})
    );
    assert_eq!(
        counter_json(&items, "calls:voipstudio:+918030752522:2026-11-01")["calls"],
        5,
        "every call was on the one DID"
    );
    let sms = of_entity(&items, "history")
        .into_iter()
        .filter_map(|i| {
            serde_dynamo::from_attribute_value::<_, serde_json::Value>(i["record"].clone()).ok()
        })
        .find(|r| r["event"] == "sms.received")
        .expect("the SMS is kept");
    assert_eq!(sms["fields"]["text"], "Please call me back ✓");
}

#[tokio::test]
async fn every_exotel_event_feeds_the_same_model_and_a_call_back_closes_the_callback() {
    let stack = stack("ex-all").await;
    let deps = call_deps::<ExotelCalls>(&stack, EXOTEL_CALLS_TOKEN);
    for (name, envelope) in EXOTEL {
        assert_eq!(send_call(&deps, envelope).await.0, 200, "{name}");
    }
    let items = scan(&stack).await;
    let answered = state_json(&items, "STATE#call:exotel-webrtc:call_in_abc123");
    assert_eq!(
        (
            answered["talk_seconds"].clone(),
            answered["ring_seconds"].clone()
        ),
        (json!(295), json!(5))
    );
    let missed = state_json(&items, "STATE#call:exotel-webrtc:call_in_miss789");
    assert_eq!(
        (missed["counted"].clone(), missed["ring_seconds"].clone()),
        (json!("missed"), json!(30))
    );
    let callback = state_json(&items, "STATE#callback:+919876500033");
    assert_eq!(
        callback["missed"].as_array().unwrap().len(),
        1,
        "call_missed and missed_call are one miss"
    );
    assert_eq!(
        (
            callback["closed_by"].clone(),
            callback["waited_seconds"].clone()
        ),
        (json!("call_out_def456"), json!(1169))
    );
    assert_eq!(
        call_counts(&items, "calls:exotel-webrtc:all:2026-11-01"),
        // Both answered calls' `call_completed` say a recording is available.
        json!({"calls": 3, "answered": 2, "missed": 1, "talk_seconds": 383, "talked": 2,
               "recorded": 2})
    );
}

#[tokio::test]
async fn duplicates_and_reordered_lifecycles_settle_on_the_same_state_and_counts() {
    let in_order = stack("ex-order").await;
    let reordered = stack("ex-reorder").await;
    let a = call_deps::<ExotelCalls>(&in_order, EXOTEL_CALLS_TOKEN);
    let b = call_deps::<ExotelCalls>(&reordered, EXOTEL_CALLS_TOKEN);
    for (_, envelope) in &EXOTEL[..4] {
        send_call(&a, envelope).await;
    }
    // Completed first, then everything twice (Exotel retries at 5 s, 30 s and 5 min).
    for (_, envelope) in EXOTEL[..4].iter().rev().chain(EXOTEL[..4].iter()) {
        let (status, _) = send_call(&b, envelope).await;
        assert_eq!(status, 200);
    }
    let (x, y) = (scan(&in_order).await, scan(&reordered).await);
    let pk = "STATE#call:exotel-webrtc:call_in_abc123";
    assert_eq!(
        state_json(&x, pk),
        state_json(&y, pk),
        "the same call whatever the order"
    );
    let key = "calls:exotel-webrtc:all:2026-11-01";
    assert_eq!(counter_json(&x, key)["calls"], 1);
    assert_eq!(counter_json(&y, key)["calls"], 1);
    assert_eq!(counter_json(&y, key)["answered"], 1);
    assert_eq!(counter_json(&y, key)["talk_seconds"], 295);
    assert_eq!(
        of_entity(&y, "dedup").len(),
        4,
        "the repeats were duplicates"
    );
}

/// Every call counter of a stack, by key: its fields summed over its shards, without the
/// bump count (`total`) and fields at 0 (a counter the call's counts moved away from).
fn call_counters(items: &[Item]) -> std::collections::BTreeMap<String, serde_json::Value> {
    items
        .iter()
        .filter_map(|i| s(i, "pk").strip_prefix("COUNTER#calls:").map(str::to_owned))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .map(|key| {
            let mut fields = call_counts(items, &format!("calls:{key}"));
            fields.as_object_mut().unwrap().retain(|_, n| *n != 0);
            (key, fields)
        })
        .filter(|(_, fields)| !fields.as_object().unwrap().is_empty())
        .collect()
}

/// An Exotel call notification with this body; its status code.
async fn send_exotel_body(
    deps: &dialtone_shared::pipeline::Deps<
        dialtone_shared::calls::receiver::CallReceiver<ExotelCalls>,
        DynamoStore,
    >,
    body: &str,
) -> u16 {
    send_call_body(deps, EXOTEL[0].1, body).await
}

#[tokio::test]
async fn a_call_across_midnight_counts_under_its_line_and_first_day_whatever_the_order() {
    let in_order = stack("ex-midnight").await;
    let reordered = stack("ex-midnight-late").await;
    let a = call_deps::<ExotelCalls>(&in_order, EXOTEL_CALLS_TOKEN);
    let b = call_deps::<ExotelCalls>(&reordered, EXOTEL_CALLS_TOKEN);
    // Rang at 23:59:50 in Kolkata, missed at 00:00:20 but answered at 00:00:15 (answered
    // beats missed); only `incoming_call` names the ExoPhone and the call's first moment.
    let bodies = [
        r#"{"event":"incoming_call","call_sid":"mid","direction":"inbound","from":"+919812345678","exophone":"+918030752522","timestamp":"2026-11-01T18:29:50Z"}"#,
        r#"{"event":"call_ringing","call_sid":"mid","timestamp":"2026-11-01T18:29:51Z"}"#,
        r#"{"event":"call_answered","call_sid":"mid","timestamp":"2026-11-01T18:30:15Z"}"#,
        r#"{"event":"call_missed","call_sid":"mid","ring_time":30,"timestamp":"2026-11-01T18:30:20Z"}"#,
        r#"{"event":"call_completed","call_sid":"mid","talk_time":40,"timestamp":"2026-11-01T18:31:00Z"}"#,
    ];
    for body in bodies {
        assert_eq!(send_exotel_body(&a, body).await, 200);
    }
    // The missed call first (booked under no line, on the next day), the first event
    // last, as Exotel's 5-minute retry delivers it.
    for i in [3, 4, 1, 2, 0] {
        assert_eq!(send_exotel_body(&b, bodies[i]).await, 200);
    }
    let expected = json!({"calls": 1, "answered": 1, "talk_seconds": 40, "talked": 1});
    let counted = call_counters(&scan(&in_order).await);
    assert_eq!(
        counted,
        [
            (
                "exotel-webrtc:+918030752522:2026-11-01".to_owned(),
                expected.clone()
            ),
            ("exotel-webrtc:all:2026-11-01".to_owned(), expected),
        ]
        .into()
    );
    assert_eq!(call_counters(&scan(&reordered).await), counted);
}

#[tokio::test]
async fn a_missed_call_not_returned_in_time_alerts_exactly_once() {
    let stack = stack("callback").await;
    let deps = call_deps::<Voipstudio>(&stack, VOIPSTUDIO_TOKEN);
    for (name, envelope) in VOIPSTUDIO
        .iter()
        .filter(|(n, _)| n.starts_with("voipstudio-queue-missed"))
    {
        assert_eq!(send_call(&deps, envelope).await.0, 200, "{name}");
    }
    let watchdog = WatchdogDeps {
        store: DynamoStore::new(stack.dynamodb.clone(), &stack.table),
        deadline: chrono::Duration::minutes(30),
        tz: chrono_tz::Asia::Kolkata,
    };
    let missed_at: chrono::DateTime<chrono::Utc> = "2026-11-01T10:30:45Z".parse().unwrap();
    assert_eq!(
        sweep(&watchdog, missed_at + chrono::Duration::minutes(29))
            .await
            .unwrap(),
        0,
        "not yet due"
    );
    assert_eq!(
        sweep(&watchdog, missed_at + chrono::Duration::minutes(31))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        sweep(&watchdog, missed_at + chrono::Duration::minutes(45))
            .await
            .unwrap(),
        0,
        "once per call"
    );

    let published = publish_pending(&stack).await;
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].attributes["kind"], "callback_overdue");
    assert_eq!(published[0].attributes["source"], "calls");
    assert!(
        published[0]
            .alert
            .status
            .starts_with("+919876500022 waiting 31m"),
        "{}",
        published[0].alert.status
    );
    assert!(published[0].alert.notes[0].contains("gave up in the queue"));
}

/// An Exotel `missed_call` from `customer` at `at` (UTC, RFC 3339).
fn missed_call(sid: &str, customer: &str, at: &str) -> String {
    json!({
        "event": "missed_call", "call_sid": sid, "from": customer,
        "to": "sip:agent_001@app.exotel.com", "exophone": "+918030752522",
        "ring_duration": 30, "timestamp": at,
    })
    .to_string()
}

#[tokio::test]
async fn a_sweep_reads_and_writes_only_the_callbacks_it_still_has_to_decide() {
    let stack = stack("callback-work").await;
    let calls = call_deps::<ExotelCalls>(&stack, EXOTEL_CALLS_TOKEN);
    const ALERTED: usize = 12;
    for n in 0..ALERTED {
        let body = missed_call(
            &format!("old-{n}"),
            &format!("+9198765001{n:02}"),
            &format!("2026-11-01T10:{n:02}:00Z"),
        );
        assert_eq!(send_exotel_body(&calls, &body).await, 200);
    }
    // The watchdog's requests go through a proxy that counts them.
    let (proxy, watchdog) = watchdog_through_proxy(&stack).await;
    let at = |t: &str| t.parse::<chrono::DateTime<chrono::Utc>>().unwrap();
    assert_eq!(
        sweep(&watchdog, at("2026-11-01T11:00:00Z")).await.unwrap(),
        ALERTED
    );

    // Still owed, all of them, and alerted: one more caller misses us.
    let body = missed_call("new", "+919876500199", "2026-11-01T11:00:00Z");
    assert_eq!(send_exotel_body(&calls, &body).await, 200);
    let before = proxy.forwarded();
    assert_eq!(
        sweep(&watchdog, at("2026-11-01T11:31:00Z")).await.unwrap(),
        1
    );
    let requests = proxy.forwarded() - before;
    assert!(
        requests <= 3,
        "one due callback costs a query, a read and one write, not one per owed callback: {requests} requests"
    );
    let before = proxy.forwarded();
    assert_eq!(
        sweep(&watchdog, at("2026-11-01T11:40:00Z")).await.unwrap(),
        0
    );
    assert_eq!(
        proxy.forwarded() - before,
        1,
        "nothing left to decide: one query, nothing read or written"
    );

    // The dashboard still lists every callback owed, alerted or not.
    let owed = dialtone_shared::calls::open_callbacks(&DynamoStore::new(
        stack.dynamodb.clone(),
        &stack.table,
    ))
    .await
    .unwrap();
    assert_eq!(owed.len(), ALERTED + 1);
    assert_eq!(publish_pending(&stack).await.len(), ALERTED + 1);
}

#[tokio::test]
async fn a_callback_alerted_in_the_old_layout_is_swept_once_more_and_still_listed() {
    use dialtone_shared::calls::{callback_overdue, CallsState};
    use dialtone_shared::store::EventStore;
    let stack = stack("callback-legacy").await;
    let calls = call_deps::<ExotelCalls>(&stack, EXOTEL_CALLS_TOKEN);
    let body = missed_call("legacy", "+919876500177", "2026-11-01T10:00:00Z");
    assert_eq!(send_exotel_body(&calls, &body).await, 200);
    // As the watchdog left it before alerted callbacks had a partition of their own: the
    // alert raised, the row still under CALLBACKS_OPEN, with no mark.
    let store = DynamoStore::new(stack.dynamodb.clone(), &stack.table);
    let key = "callback:+919876500177";
    let Some(stored) = EventStore::load_state::<CallsState>(&store, &state_key(key))
        .await
        .unwrap()
    else {
        panic!("no callback row");
    };
    let CallsState::Callback(callback) = stored.value else {
        panic!("not a callback");
    };
    let then: chrono::DateTime<chrono::Utc> = "2026-11-01T10:31:00Z".parse().unwrap();
    let alert = callback_overdue(&callback, then, chrono_tz::Asia::Kolkata);
    assert!(EventStore::put_alert_once(&store, &alert).await.unwrap());

    let (proxy, watchdog) = watchdog_through_proxy(&stack).await;
    let now = then + chrono::Duration::minutes(30);
    assert_eq!(sweep(&watchdog, now).await.unwrap(), 0, "raised before");
    let items = scan(&stack).await;
    let row = items
        .iter()
        .find(|i| s(i, "pk") == format!("STATE#{key}"))
        .unwrap();
    assert_eq!(s(row, "gsi1pk"), "CALLBACKS_ALERTED");
    assert_eq!(
        state_json(&items, &format!("STATE#{key}"))["alerted_at"],
        json!(now)
    );
    let before = proxy.forwarded();
    assert_eq!(sweep(&watchdog, now).await.unwrap(), 0);
    assert_eq!(proxy.forwarded() - before, 1, "not read again");
    assert_eq!(
        dialtone_shared::calls::open_callbacks(&store)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(publish_pending(&stack).await.len(), 1, "one alert, ever");
}

#[tokio::test]
async fn bad_input_and_wrong_tokens_are_refused() {
    let stack = stack("calls-bad").await;
    let deps = call_deps::<Voipstudio>(&stack, VOIPSTUDIO_TOKEN);
    let other = call_deps::<Voipstudio>(&stack, EXOTEL_CALLS_TOKEN);
    assert_eq!(send_call(&other, VOIPSTUDIO[0].1).await.0, 404);
    assert!(scan(&stack).await.is_empty());

    let mut envelope: serde_json::Value = serde_json::from_str(VOIPSTUDIO[0].1).unwrap();
    envelope["body"] =
        json!(r#"{"id":"x","event_time":"yesterday","event_name":"call.initial","call_id":1}"#);
    let (status, body) = send_call(&deps, &envelope.to_string()).await;
    assert_eq!(status, 400);
    assert!(
        body["error"].as_str().unwrap().contains("event_time"),
        "{body}"
    );
    let items = scan(&stack).await;
    assert_eq!(of_entity(&items, "quarantine").len(), 1);
    assert_eq!(items.len(), 1);
}

#[tokio::test]
async fn the_watchdog_accepts_the_scheduled_event() {
    let stack = stack("watchdog-event").await;
    let deps = WatchdogDeps {
        store: DynamoStore::new(stack.dynamodb.clone(), &stack.table),
        deadline: chrono::Duration::minutes(30),
        tz: chrono_tz::Asia::Kolkata,
    };
    let event =
        serde_json::from_str(include_str!("../../events/eventbridge-schedule.json")).unwrap();
    let out = callback_watchdog::handler(
        &deps,
        lambda_runtime::LambdaEvent::new(event, lambda_runtime::Context::default()),
    )
    .await
    .unwrap();
    assert_eq!(out, json!({"raised": 0}));
}

/// VoIPstudio's queue: an agent's leg of a queue call going unanswered is not the caller
/// being missed; the queue's `call.missed` is. Either order: one missed call, one callback.
#[tokio::test]
async fn a_queue_calls_missed_agent_leg_and_its_queue_miss_are_one_missed_call() {
    let queue_miss = VOIPSTUDIO
        .iter()
        .find(|(n, _)| *n == "voipstudio-queue-missed")
        .unwrap()
        .1;
    let body = |envelope: &str| -> serde_json::Value {
        let envelope: serde_json::Value = serde_json::from_str(envelope).unwrap();
        serde_json::from_str(envelope["body"].as_str().unwrap()).unwrap()
    };
    let mut leg = body(queue_miss);
    leg["id"] = json!("uk003.6ae714d5251d31.88241400");
    leg["event_time"] = json!("2026-11-01 10:30:20");
    leg["context"] = json!("LOCAL_USER");
    leg["t_cause"] = json!("No Answer");
    let mut queue = body(queue_miss);
    queue["context"] = json!("Queue");
    for (name, order) in [
        ("leg-first", [&leg, &queue]),
        ("queue-first", [&queue, &leg]),
    ] {
        let stack = stack(&format!("vs-queue-{name}")).await;
        let deps = call_deps::<Voipstudio>(&stack, VOIPSTUDIO_TOKEN);
        for event in order {
            assert_eq!(
                send_call_body(&deps, queue_miss, &event.to_string()).await,
                200,
                "{name}"
            );
        }
        let items = scan(&stack).await;
        assert_eq!(
            call_counts(&items, "calls:voipstudio:all:2026-11-01"),
            json!({"calls": 1, "missed": 1}),
            "{name}"
        );
        let callback = state_json(&items, "STATE#callback:+919876500022");
        assert_eq!(callback["missed"].as_array().unwrap().len(), 1, "{name}");
        assert_eq!(callback["missed"][0]["queue_abandoned"], true, "{name}");
        assert_eq!(
            callback["first_missed_at"], "2026-11-01T10:30:45Z",
            "{name}"
        );
    }
}
