//! The Telerivet receiver end to end on the local stack, driven by the envelopes in
//! `events/` (form bodies, one of them base64-encoded as API Gateway sends it).

mod common;

use common::*;
use dialtone_shared::telerivet::TelerivetState;
use serde_json::{json, Value};

const INCOMING: &str = include_str!("../../events/telerivet-incoming-message.json");
const SENT: &str = include_str!("../../events/telerivet-send-status-sent.json");
const DELIVERED: &str = include_str!("../../events/telerivet-send-status-delivered.json");
const NOT_DELIVERED: &str = include_str!("../../events/telerivet-send-status-not-delivered.json");
const EMPTY_SECRET: &str = include_str!("../../events/telerivet-send-status-empty-secret.json");
const BROADCAST: &str = include_str!("../../events/telerivet-send-broadcast.json");
const CONTACT_UPDATE: &str = include_str!("../../events/telerivet-contact-update.json");
const CONTACT_DELETE: &str = include_str!("../../events/telerivet-contact-delete.json");
const METADATA: &str = include_str!("../../events/telerivet-message-metadata.json");
const UNKNOWN: &str = include_str!("../../events/telerivet-unknown-event.json");
const BAD_SECRET: &str = include_str!("../../events/telerivet-bad-secret.json");

fn state_of(items: &[Item], pk: &str) -> TelerivetState {
    let row = items
        .iter()
        .find(|i| s(i, "pk") == pk)
        .unwrap_or_else(|| panic!("no {pk}"));
    serde_dynamo::from_attribute_value(row["state"].clone()).unwrap()
}

fn history(items: &[Item]) -> Vec<Value> {
    of_entity(items, "history")
        .iter()
        .map(|i| serde_dynamo::from_attribute_value(i["record"].clone()).unwrap())
        .collect()
}

#[tokio::test]
async fn every_event_type_is_stored_typed_and_whole() {
    let stack = stack("tr-all").await;
    let deps = telerivet_deps(&stack, None);
    for envelope in [
        INCOMING,
        SENT,
        DELIVERED,
        NOT_DELIVERED,
        BROADCAST,
        CONTACT_UPDATE,
        CONTACT_DELETE,
        METADATA,
        UNKNOWN,
    ] {
        let (status, _) = send_telerivet(&deps, request(envelope)).await;
        assert_eq!(status, 200, "{envelope}");
    }
    let items = scan(&stack).await;

    let Some(TelerivetState::Message(m)) =
        Some(state_of(&items, "STATE#telerivet:message:SMstatus00000001"))
    else {
        panic!()
    };
    assert_eq!((m.status.as_str(), m.statuses_seen.len()), ("delivered", 2));
    let TelerivetState::Message(failed) =
        state_of(&items, "STATE#telerivet:message:SMstatus00000002")
    else {
        panic!()
    };
    assert_eq!(
        failed.error_message.as_deref(),
        Some("Example delivery failure message.")
    );
    let TelerivetState::Broadcast(b) = state_of(&items, "STATE#telerivet:broadcast:BCe1f2a3b4c5")
    else {
        panic!()
    };
    assert_eq!(b.estimated_count, Some(1205));
    let TelerivetState::Contact(c) = state_of(&items, "STATE#telerivet:contact:CTf00dfeed01")
    else {
        panic!()
    };
    assert_eq!(
        (c.vars["plan"].as_str(), c.group_ids.len(), c.send_blocked),
        ("platinum", 2, Some(false))
    );
    let TelerivetState::Contact(gone) = state_of(&items, "STATE#telerivet:contact:CTf00dfeed09")
    else {
        panic!()
    };
    assert!(gone.deleted);
    let TelerivetState::Metadata(call) =
        state_of(&items, "STATE#telerivet:message-metadata:CAb7c8d9e0f1")
    else {
        panic!()
    };
    assert!(call.call_complete);
    assert_eq!(call.vars["menu_choice"], "2");

    let records = history(&items);
    assert_eq!(records.len(), 9, "one history row per event");
    let incoming = records
        .iter()
        .find(|r| r["event"] == "incoming_message")
        .unwrap();
    assert_eq!(
        incoming["fields"]["content"], "HOURS? नमस्ते + 50% off ✓",
        "unicode, + and % round-trip"
    );
    assert_eq!(incoming["fields"]["contact"]["vars"]["city"], "Pune");
    assert_eq!(incoming["fields"]["media"][0]["type"], "image/jpeg");
    assert_eq!(
        incoming["fields"]["simulated"], "0",
        "fields this code does not name are kept"
    );
    let unknown = records
        .iter()
        .find(|r| r["event"] == "route_health_changed")
        .unwrap();
    assert_eq!(unknown["fields"]["route_status"], "degraded");
    for item in &items {
        for (name, value) in item {
            let text = format!("{name}{value:?}");
            assert!(
                !text.contains("local-telerivet-secret"),
                "a secret was stored in {item:?}"
            );
        }
    }

    let today = chrono::Utc::now().format("%Y-%m-%d");
    let day = counter_json(&items, &format!("telerivet:sms:PJ2ad8f6c1:{today}"));
    assert_eq!(
        day,
        // Two outgoing messages: one sent then delivered, one not delivered.
        json!({"total": 4, "incoming": 1, "incoming:sms": 1, "sent": 1, "delivered": 1,
               "not_delivered": 1, "outgoing": 2, "outgoing:sms": 2})
    );
    assert_no_telerivet_secret(&stack).await;
}

#[tokio::test]
async fn wrong_or_missing_secrets_are_refused_counted_and_alerted_once() {
    let stack = stack("tr-auth").await;
    let deps = telerivet_deps(&stack, None);
    assert_eq!(
        send_telerivet(&deps, request(BAD_SECRET)).await,
        (403, json!({"error": "forbidden"}))
    );
    let no_secret = with_form(
        SENT,
        &[
            ("event", "incoming_message"),
            ("id", "SMx"),
            ("content", "hi"),
        ],
    );
    assert_eq!(send_telerivet(&deps, no_secret).await.0, 403);
    assert_eq!(
        send_telerivet(&deps, request(EMPTY_SECRET)).await,
        (
            200,
            json!({"result": "ignored", "reason": "status notification without a secret"})
        )
    );
    let junk = with_form(SENT, &[("hello", "world")]);
    assert_eq!(send_telerivet(&deps, junk).await.0, 403);
    let items = scan(&stack).await;
    // Only the refusal counter (its shard items) and the markers that count each request once.
    let (counters, markers): (Vec<&Item>, Vec<&Item>) =
        items.iter().partition(|i| s(i, "entity") == "counter");
    assert!(
        markers
            .iter()
            .all(|m| s(m, "pk").starts_with("DEDUP#telerivet#counted:")),
        "only the refusal counter: {items:?}"
    );
    assert_eq!(markers.len(), 3);
    let mut windows: Vec<String> = counters.iter().map(|c| s(c, "pk")).collect();
    windows.dedup();
    assert_eq!(windows.len(), 1, "one refusal counter: {items:?}");
    assert_eq!(
        counter_json(&items, windows[0].trim_start_matches("COUNTER#"))["total"],
        3,
        "the junk post without an event is not counted"
    );

    for _ in 0..10 {
        send_telerivet(&deps, request(BAD_SECRET)).await;
    }
    let items = scan(&stack).await;
    let alerts = of_entity(&items, "alert");
    assert_eq!(
        alerts.len(),
        1,
        "one misconfiguration alert for 13 refusals"
    );
    let published = publish_pending(&stack).await;
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].attributes["kind"], "webhook_misconfigured");
    // Raised when the fifth refusal in the window came in, with the counts at that moment.
    let alert = &published[0].alert;
    assert!(
        alert
            .status
            .starts_with("5 requests without the right secret"),
        "{}",
        alert.status
    );
    assert!(
        alert.notes[0].starts_with("4 with a wrong"),
        "{:?}",
        alert.notes
    );
    assert!(alert.notes[1].starts_with("1 status notifications with an empty secret"));
    assert_no_telerivet_secret(&stack).await;
}

#[tokio::test]
async fn a_rotated_secret_is_accepted_alongside_the_new_one() {
    let stack = stack("tr-rotate").await;
    let deps = telerivet_deps(&stack, Some(TELERIVET_OLD_SECRET));
    let old = with_form(
        SENT,
        &[
            ("event", "send_status"),
            ("id", "SMold"),
            ("status", "sent"),
            ("secret", TELERIVET_OLD_SECRET),
        ],
    );
    assert_eq!(send_telerivet(&deps, old).await.0, 200);
    assert_eq!(send_telerivet(&deps, request(SENT)).await.0, 200);
    let without_rotation = telerivet_deps(&stack, None);
    let old = with_form(
        SENT,
        &[
            ("event", "send_status"),
            ("id", "SMold2"),
            ("status", "sent"),
            ("secret", TELERIVET_OLD_SECRET),
        ],
    );
    assert_eq!(send_telerivet(&without_rotation, old).await.0, 403);
    assert_no_telerivet_secret(&stack).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_deliveries_store_once_and_reply_identically() {
    let stack = stack("tr-dup").await;
    let deps = std::sync::Arc::new(telerivet_deps(&stack, None));
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let deps = deps.clone();
            tokio::spawn(async move { send_telerivet(&deps, request(INCOMING)).await })
        })
        .collect();
    let mut bodies = Vec::new();
    for task in tasks {
        let (status, body) = task.await.unwrap();
        assert_eq!(status, 200);
        bodies.push(body);
    }
    let expected = json!({"messages": [{"content": "Open 9–6, Mon–Sat. नमस्ते!"}]});
    assert!(bodies.iter().all(|b| *b == expected), "{bodies:?}");

    let items = scan(&stack).await;
    assert_eq!(of_entity(&items, "history").len(), 1);
    assert_eq!(of_entity(&items, "dedup").len(), 1);
    let day = format!(
        "telerivet:sms:PJ2ad8f6c1:{}",
        chrono::Utc::now().format("%Y-%m-%d")
    );
    assert_eq!(counter_json(&items, &day)["incoming"], 1);
    assert_no_telerivet_secret(&stack).await;
}

#[tokio::test]
async fn statuses_out_of_order_settle_on_the_right_final_status() {
    let stack = stack("tr-order").await;
    let deps = telerivet_deps(&stack, None);
    let status = |s: &str| {
        with_form(
            SENT,
            &[
                ("event", "send_status"),
                ("id", "SMord"),
                ("status", s),
                ("project_id", "PJo"),
                ("secret", TELERIVET_SECRET),
            ],
        )
    };
    let mut outcomes = Vec::new();
    for s in ["delivered", "sent", "queued", "delivered"] {
        outcomes.push(send_telerivet(&deps, status(s)).await.1["result"].clone());
    }
    assert_eq!(
        outcomes,
        [
            json!("accepted"),
            json!("superseded"),
            json!("superseded"),
            json!("duplicate")
        ]
    );
    let items = scan(&stack).await;
    let TelerivetState::Message(m) = state_of(&items, "STATE#telerivet:message:SMord") else {
        panic!()
    };
    assert_eq!(m.status, "delivered");
    assert_eq!(m.statuses_seen, ["delivered", "sent", "queued"]);
    assert_no_telerivet_secret(&stack).await;
}

#[tokio::test]
async fn a_burst_of_fifty_failures_raises_one_alert_naming_the_errors() {
    let stack = stack("tr-burst").await;
    let deps = telerivet_deps(&stack, None);
    for i in 0..50 {
        let id = format!("SMfail{i:03}");
        let error = if i % 5 == 0 {
            "Carrier rejected"
        } else {
            "Example delivery failure message."
        };
        let status = if i % 2 == 0 {
            "failed"
        } else {
            "not_delivered"
        };
        let request = with_form(
            SENT,
            &[
                ("event", "send_status"),
                ("id", &id),
                ("status", status),
                ("error_message", error),
                ("project_id", "PJb"),
                ("secret", TELERIVET_SECRET),
            ],
        );
        assert_eq!(send_telerivet(&deps, request).await.0, 200);
    }
    // A single failure elsewhere is recorded but alerts nobody.
    send_telerivet(&deps, request(NOT_DELIVERED)).await;

    let items = scan(&stack).await;
    assert_eq!(of_entity(&items, "alert").len(), 1);
    let published = publish_pending(&stack).await;
    assert_eq!(published.len(), 1);
    let alert = &published[0].alert;
    assert_eq!(published[0].attributes["kind"], "sms_failures");
    assert!(
        alert.status.starts_with("10 SMS failed in project PJb"),
        "{}",
        alert.status
    );
    assert_eq!(
        alert.notes,
        [
            "8 × Example delivery failure message.",
            "2 × Carrier rejected"
        ]
    );
    // One window's counter (its items are shards of it), 50 in all.
    let mut failures: Vec<String> = items
        .iter()
        .map(|i| s(i, "pk"))
        .filter(|pk| pk.starts_with("COUNTER#telerivet:sms-failures:PJb:"))
        .collect();
    failures.dedup();
    assert_eq!(failures.len(), 1);
    let window = failures[0].trim_start_matches("COUNTER#");
    assert_eq!(counter_json(&items, window)["total"], 50);
    let TelerivetState::Message(single) =
        state_of(&items, "STATE#telerivet:message:SMstatus00000002")
    else {
        panic!()
    };
    assert_eq!(single.status, "not_delivered");
    assert_no_telerivet_secret(&stack).await;
}

#[tokio::test]
async fn bad_input_gets_the_right_status_and_is_quarantined() {
    let stack = stack("tr-bad").await;
    let deps = telerivet_deps(&stack, None);
    let mut json_body = with_form(
        SENT,
        &[
            ("event", "send_status"),
            ("id", "SM1"),
            ("status", "sent"),
            ("secret", TELERIVET_SECRET),
        ],
    );
    json_body
        .headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    assert_eq!(send_telerivet(&deps, json_body).await.0, 415);
    let broken = with_form(
        SENT,
        &[
            ("event", "send_status"),
            ("status", "sent"),
            ("secret", TELERIVET_SECRET),
        ],
    );
    let (status, body) = send_telerivet(&deps, broken).await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("id"), "{body}");
    let items = scan(&stack).await;
    let quarantined = of_entity(&items, "quarantine");
    assert_eq!(quarantined.len(), 2);
    assert_eq!(items.len(), 2, "nothing else stored");
    assert_no_telerivet_secret(&stack).await;
}

#[tokio::test]
async fn a_retried_failure_judges_the_window_its_first_delivery_was_counted_in() {
    let stack = stack("tr-window").await;
    let mut deps = telerivet_deps(&stack, None);
    // Windows of two seconds, so that a retry can land in the next one.
    deps.receiver.sms_failures = dialtone_shared::telerivet::receiver::Burst {
        at_least: 3,
        window: chrono::Duration::seconds(2),
    };
    let failure = |id: &str| {
        with_form(
            SENT,
            &[
                ("event", "send_status"),
                ("id", id),
                ("status", "failed"),
                ("error_message", "Carrier rejected"),
                ("project_id", "PJw"),
                ("secret", TELERIVET_SECRET),
            ],
        )
    };
    // Start just after a window opens: the three failures share it.
    let into_window = chrono::Utc::now().timestamp_millis().rem_euclid(2000) as u64;
    tokio::time::sleep(std::time::Duration::from_millis(2050 - into_window)).await;
    for id in ["SMw1", "SMw2", "SMw3"] {
        assert_eq!(send_telerivet(&deps, failure(id)).await.0, 200);
    }
    // The third failure's alert was never stored (its put failed, or the function stopped
    // before it): Telerivet retries that status, which is committed already.
    for alert in of_entity(&scan(&stack).await, "alert") {
        stack
            .dynamodb
            .delete_item()
            .table_name(&stack.table)
            .key("pk", alert["pk"].clone())
            .key("sk", alert["sk"].clone())
            .send()
            .await
            .expect("alert row removed");
    }
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let (status, answer) = send_telerivet(&deps, failure("SMw3")).await;
    assert_eq!(
        (status, answer["result"].as_str()),
        (200, Some("duplicate")),
        "{answer}"
    );

    let items = scan(&stack).await;
    let alerts = of_entity(&items, "alert");
    assert_eq!(alerts.len(), 1, "the retry raised the first window's alert");
    let alert: dialtone_shared::alert::Alert =
        serde_dynamo::from_attribute_value(alerts[0]["alert"].clone()).unwrap();
    assert!(
        alert.status.starts_with("3 SMS failed in project PJw"),
        "{}",
        alert.status
    );
    assert_no_telerivet_secret(&stack).await;
}

#[tokio::test]
async fn the_first_click_on_a_short_link_is_stored_and_counted_once() {
    let stack = stack("tr-click").await;
    let deps = telerivet_deps(&stack, None);
    // As Telerivet posts it: the message's status as it stands, plus `time_clicked`.
    let fields = |status: &str, clicked: Option<&str>| {
        let mut f = vec![
            ("event", "send_status"),
            ("id", "SMclick0001"),
            ("status", status),
            ("message_type", "sms"),
            ("phone_id", "PN4d2a1b7c"),
            ("project_id", "PJclick"),
            ("time_created", "1793527170"),
            ("time_sent", "1793527190"),
            ("secret", TELERIVET_SECRET),
        ];
        if let Some(t) = clicked {
            f.push(("time_clicked", t));
        }
        with_form(SENT, &f)
    };
    assert_eq!(send_telerivet(&deps, fields("sent", None)).await.0, 200);
    let (status, body) = send_telerivet(&deps, fields("sent", Some("1793527400"))).await;
    assert_eq!(
        (status, body["result"].as_str()),
        (200, Some("clicked")),
        "{body}"
    );
    // Telerivet's retry of the click, and a later status that carries the click too.
    let (_, retry) = send_telerivet(&deps, fields("sent", Some("1793527400"))).await;
    assert_eq!(retry["result"], "duplicate", "{retry}");
    let (_, delivered) = send_telerivet(&deps, fields("delivered", Some("1793527400"))).await;
    assert_eq!(delivered["result"], "accepted", "{delivered}");

    let items = scan(&stack).await;
    let Some(TelerivetState::Message(m)) =
        Some(state_of(&items, "STATE#telerivet:message:SMclick0001"))
    else {
        panic!()
    };
    assert_eq!(m.status, "delivered");
    assert_eq!(m.clicked_at.map(|t| t.timestamp()), Some(1793527400));
    let today = chrono::Utc::now().format("%Y-%m-%d");
    let day = counter_json(&items, &format!("telerivet:sms:PJclick:{today}"));
    assert_eq!(day["clicked"], 1, "{day}");
    assert_eq!(day["outgoing"], 1, "{day}");
}

#[tokio::test]
async fn calls_and_ussd_are_counted_apart_from_sms() {
    let stack = stack("tr-types").await;
    let deps = telerivet_deps(&stack, None);
    for (id, message_type) in [
        ("SMin1", "sms"),
        ("SMin2", "call"),
        ("SMin3", "ussd"),
        ("SMin4", "call"),
    ] {
        let request = with_form(
            INCOMING,
            &[
                ("event", "incoming_message"),
                ("id", id),
                ("message_type", message_type),
                ("direction", "incoming"),
                ("content", "hello"),
                ("from_number", "+15005550006"),
                ("to_number", "+918030752522"),
                ("phone_id", "PN4d2a1b7c"),
                ("project_id", "PJtypes"),
                ("secret", TELERIVET_SECRET),
            ],
        );
        assert_eq!(
            send_telerivet(&deps, request).await.0,
            200,
            "{message_type}"
        );
    }
    let items = scan(&stack).await;
    let today = chrono::Utc::now().format("%Y-%m-%d");
    let day = counter_json(&items, &format!("telerivet:sms:PJtypes:{today}"));
    assert_eq!(
        (
            &day["incoming"],
            &day["incoming:sms"],
            &day["incoming:call"],
            &day["incoming:ussd"]
        ),
        (&json!(4), &json!(1), &json!(2), &json!(1)),
        "{day}"
    );
}
