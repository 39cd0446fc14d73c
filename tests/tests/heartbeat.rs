//! The heartbeat monitor end to end on the local stack: webhook → DynamoDB → stream →
//! dispatcher → SNS → the SQS inbox.

mod common;

use common::*;
use dialtone_local::inbox;
use dialtone_local::pump::StreamPump;
use dialtone_local::template::TableSpec;
use dialtone_shared::alert::{AlertKind, LineChange, Severity};
use dialtone_shared::store::DynamoStore;
use serde_json::json;
use std::time::Duration;

const OK: &str = include_str!("../../events/heartbeat-ok.json");
const WARNING: &str = include_str!("../../events/heartbeat-warning.json");
const CRITICAL: &str = include_str!("../../events/heartbeat-critical.json");
const DUPLICATE: &str = include_str!("../../events/heartbeat-duplicate.json");
const STALE: &str = include_str!("../../events/heartbeat-stale.json");
const RECOVERED: &str = include_str!("../../events/heartbeat-recovered.json");
const PAYLOAD_TOO_LARGE: &str = include_str!("../../events/heartbeat-payload-too-large.json");
const INVALID: &str = include_str!("../../events/heartbeat-invalid.json");
const WRONG_TOKEN: &str = include_str!("../../events/heartbeat-wrong-token.json");

const QUIET: Duration = Duration::from_secs(1);

#[tokio::test]
async fn six_step_sequence_yields_exactly_the_expected_alerts() {
    let stack = stack("sequence").await;
    let deps = heartbeat_deps(&stack);

    let expected = [
        (OK, json!({"result": "accepted", "alerts": 0})),
        (WARNING, json!({"result": "accepted", "alerts": 1})),
        (CRITICAL, json!({"result": "accepted", "alerts": 1})),
        (DUPLICATE, json!({"result": "duplicate", "alerts": 0})),
        (STALE, json!({"result": "stale", "alerts": 0})),
        (RECOVERED, json!({"result": "accepted", "alerts": 1})),
    ];
    for (envelope, want) in expected {
        assert_eq!(send(&deps, envelope).await, (200, want));
    }

    let items = scan(&stack).await;
    let state = of_entity(&items, "state");
    assert_eq!(state.len(), 1);
    assert_eq!(s(state[0], "pk"), "STATE#exotel-heartbeat");
    assert_eq!(
        s(state[0], "version"),
        "4",
        "OK, WARNING, CRITICAL, OK moved the state; the stale one did not"
    );
    let stored: dialtone_shared::heartbeat::MonitorState =
        serde_dynamo::from_attribute_value(state[0]["state"].clone()).unwrap();
    assert_eq!(
        stored.status,
        dialtone_shared::heartbeat::HeartbeatStatus::Ok
    );
    assert_eq!(
        stored.last_heartbeat_at.to_rfc3339(),
        "2026-11-01T10:05:00+00:00"
    );
    assert!(stored.lines.is_empty() && stored.outage_started_at.is_none());

    let dedup: Vec<String> = of_entity(&items, "dedup")
        .iter()
        .map(|i| s(i, "pk"))
        .collect();
    assert_eq!(
        dedup,
        [
            "DEDUP#exotel-heartbeat#2026-11-01T10:00:00+00:00",
            "DEDUP#exotel-heartbeat#2026-11-01T10:01:00+00:00",
            "DEDUP#exotel-heartbeat#2026-11-01T10:01:30+00:00",
            "DEDUP#exotel-heartbeat#2026-11-01T10:02:00+00:00",
            "DEDUP#exotel-heartbeat#2026-11-01T10:05:00+00:00",
        ]
    );
    assert_eq!(
        of_entity(&items, "history").len(),
        5,
        "the stale heartbeat is kept in the history"
    );
    for item in of_entity(&items, "dedup")
        .iter()
        .chain(&of_entity(&items, "history"))
    {
        assert!(s(item, "expires_at").parse::<i64>().unwrap() > chrono::Utc::now().timestamp());
    }
    let alert_ids: Vec<String> = of_entity(&items, "alert")
        .iter()
        .map(|i| s(i, "alert_id"))
        .collect();
    assert_eq!(
        alert_ids,
        [
            "exotel-heartbeat:fleet@fleet_status@2026-11-01T10:01:00+00:00",
            "exotel-heartbeat:fleet@fleet_status@2026-11-01T10:02:00+00:00",
            "exotel-heartbeat:fleet@resolved@2026-11-01T10:05:00+00:00",
        ]
    );
    assert!(of_entity(&items, "quarantine").is_empty());

    let dispatcher = dispatcher_deps(&stack, &stack.topic_arn);
    let mut pump = StreamPump::new(&stack).await.unwrap();
    let report = pump.drain(&InProcess(&dispatcher)).await.unwrap();
    assert_eq!((report.delivered, report.dead_lettered.len()), (3, 0));

    let received = inbox::drain(&stack.sqs, &stack.queue_url, QUIET)
        .await
        .unwrap();
    let got: Vec<(AlertKind, Severity, &str)> = received
        .iter()
        .map(|r| (r.alert.kind, r.alert.severity, r.alert.status.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (AlertKind::FleetStatus, Severity::Warning, "WARNING"),
            (AlertKind::FleetStatus, Severity::Critical, "CRITICAL"),
            (AlertKind::Resolved, Severity::Info, "OK"),
        ]
    );
    let critical = &received[1];
    assert_eq!(critical.attributes["severity"], "critical");
    assert_eq!(critical.attributes["source"], "exotel-heartbeat");
    assert_eq!(critical.attributes["kind"], "fleet_status");
    assert_eq!(
        critical.subject.as_deref(),
        Some("[CRITICAL] ExoPhones CRITICAL: 2 lines affected")
    );
    let first = &critical.alert.lines[0];
    assert_eq!(
        first.phone_number.as_ref().unwrap().as_str(),
        "+917930061010"
    );
    assert_eq!(first.change, LineChange::StillAffected);
    assert_eq!(first.alternate_exophones, ["+918030752599"]);
    assert_eq!(received[2].alert.outage_seconds, Some(240));

    // Everything went out once: the stream has nothing more, and a replay of the whole
    // stream (a fresh pump from TRIM_HORIZON) publishes nothing twice.
    assert_eq!(
        pump.drain(&InProcess(&dispatcher)).await.unwrap().delivered,
        0
    );
    let mut replay = StreamPump::new(&stack).await.unwrap();
    assert_eq!(
        replay
            .drain(&InProcess(&dispatcher))
            .await
            .unwrap()
            .delivered,
        3
    );
    assert!(inbox::drain(&stack.sqs, &stack.queue_url, QUIET)
        .await
        .unwrap()
        .is_empty());
    for alert in of_entity(&scan(&stack).await, "alert") {
        assert!(alert.contains_key("published_at"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_deliveries_change_state_once_and_alert_once() {
    let stack = stack("concurrent").await;
    let deps = std::sync::Arc::new(heartbeat_deps(&stack));
    assert_eq!(send(&deps, OK).await.0, 200);

    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let deps = deps.clone();
            tokio::spawn(async move { send(&deps, WARNING).await })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    assert!(
        results.iter().all(|(status, _)| *status == 200),
        "{results:?}"
    );
    let accepted = results
        .iter()
        .filter(|(_, b)| b["result"] == "accepted")
        .count();
    let duplicates = results
        .iter()
        .filter(|(_, b)| b["result"] == "duplicate")
        .count();
    assert_eq!((accepted, duplicates), (1, 19));

    let items = scan(&stack).await;
    assert_eq!(s(of_entity(&items, "state")[0], "version"), "2");
    assert_eq!(of_entity(&items, "alert").len(), 1);

    assert_eq!(publish_pending(&stack).await.len(), 1);
}

#[tokio::test]
async fn dynamodb_unreachable_answers_5xx_and_the_retry_succeeds() {
    let stack = stack("unreachable").await;
    let down = heartbeat_deps_with(DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&dialtone_local::aws::unreachable().await),
        &stack.table,
    ));
    let (status, body) = send(&down, WARNING).await;
    assert_eq!(status, 503);
    assert_eq!(
        body,
        json!({"error": "temporarily unable to store the event; retry later"})
    );
    assert!(
        scan(&stack).await.is_empty(),
        "nothing stored, so nothing alerted"
    );

    // Exotel retries the same heartbeat once DynamoDB is back.
    let up = heartbeat_deps(&stack);
    assert_eq!(
        send(&up, WARNING).await,
        (200, json!({"result": "accepted", "alerts": 1}))
    );
    let received = publish_pending(&stack).await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].alert.kind, AlertKind::FleetStatus);
}

#[tokio::test]
async fn a_wrong_token_is_not_found_and_stores_nothing() {
    let stack = stack("token").await;
    let deps = heartbeat_deps(&stack);
    assert_eq!(
        send(&deps, WRONG_TOKEN).await,
        (404, json!({"error": "not found"}))
    );

    let mut no_token = request(OK);
    *no_token.uri_mut() = "https://abc123.execute-api.ap-south-1.amazonaws.com/exotel/heartbeat/"
        .parse()
        .unwrap();
    let (status, _) = answer(
        dialtone_shared::pipeline::handler(&deps, no_token)
            .await
            .unwrap(),
    );
    assert_eq!(status, 404);

    let mut get = request(OK);
    *get.method_mut() = lambda_http::http::Method::GET;
    assert_eq!(
        answer(
            dialtone_shared::pipeline::handler(&deps, get)
                .await
                .unwrap()
        )
        .0,
        405
    );
    assert!(scan(&stack).await.is_empty());
}

#[tokio::test]
async fn an_invalid_payload_is_refused_and_quarantined_whole() {
    let stack = stack("invalid").await;
    let deps = heartbeat_deps(&stack);
    let (status, body) = send(&deps, INVALID).await;
    assert_eq!(status, 400);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .starts_with("invalid payload: body is not valid JSON"),
        "{body}"
    );

    let items = scan(&stack).await;
    assert_eq!(items.len(), 1, "only the quarantine row");
    let row = &items[0];
    assert_eq!(s(row, "entity"), "quarantine");
    assert_eq!(s(row, "pk"), "QUARANTINE#exotel-heartbeat");
    assert!(s(row, "reason").contains("JSON"));
    let envelope: serde_json::Value = serde_json::from_str(INVALID).unwrap();
    let raw = envelope["body"].as_str().unwrap();
    assert_eq!(row["body"].as_b().unwrap().as_ref(), raw.as_bytes());
    assert_eq!(s(row, "content_type"), "application/json");
}

#[tokio::test]
async fn payload_too_large_keeps_the_known_lines_and_alerts_once() {
    let stack = stack("too-large").await;
    let deps = heartbeat_deps(&stack);
    send(&deps, WARNING).await;
    assert_eq!(
        send(&deps, PAYLOAD_TOO_LARGE).await,
        (200, json!({"result": "accepted", "alerts": 1}))
    );
    let items = scan(&stack).await;
    let stored: dialtone_shared::heartbeat::MonitorState =
        serde_dynamo::from_attribute_value(of_entity(&items, "state")[0]["state"].clone()).unwrap();
    assert_eq!(
        stored.status,
        dialtone_shared::heartbeat::HeartbeatStatus::PayloadTooLarge
    );
    assert_eq!(
        stored.lines.len(),
        1,
        "the line known to be down stays down"
    );

    let received = publish_pending(&stack).await;
    let kinds: Vec<&str> = received
        .iter()
        .map(|r| r.attributes["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["fleet_status", "payload_too_large"]);
}

#[tokio::test]
async fn the_local_table_matches_the_template() {
    let stack = stack("drift").await;
    let template = TableSpec::from_template(dialtone_local::TEMPLATE, "MonitorTable").unwrap();
    assert_eq!(
        stack.describe_table().await.unwrap().normalized(),
        template.normalized()
    );
}

#[tokio::test]
async fn sns_failure_reports_the_record_dead_letters_it_and_recovery_publishes_once() {
    let stack = stack("sns-down").await;
    let deps = heartbeat_deps(&stack);
    send(&deps, OK).await;
    send(&deps, WARNING).await;
    send(&deps, CRITICAL).await;

    let missing_topic = format!("{}-gone", stack.topic_arn);
    let broken = dispatcher_deps(&stack, &missing_topic);
    let mut pump = StreamPump::new(&stack).await.unwrap();
    pump.max_attempts = 2;
    let report = pump.drain(&InProcess(&broken)).await.unwrap();
    assert_eq!(report.delivered, 2);
    assert_eq!(report.dead_lettered.len(), 2, "{report:?}");
    assert_eq!(
        report.invocations, 4,
        "two attempts for each record, in order"
    );
    assert!(inbox::drain(&stack.sqs, &stack.queue_url, QUIET)
        .await
        .unwrap()
        .is_empty());

    // Redriving the stream once SNS is back publishes every alert exactly once.
    let healthy = dispatcher_deps(&stack, &stack.topic_arn);
    for _ in 0..2 {
        StreamPump::new(&stack)
            .await
            .unwrap()
            .drain(&InProcess(&healthy))
            .await
            .unwrap();
    }
    let received = inbox::drain(&stack.sqs, &stack.queue_url, QUIET)
        .await
        .unwrap();
    assert_eq!(received.len(), 2);
}

#[tokio::test]
async fn silence_is_late_then_down_and_the_next_heartbeat_recovers_it() {
    use heartbeat_watchdog::{check_silence, Deps as WatchdogDeps};
    let stack = stack("silence").await;
    let deps = heartbeat_deps(&stack);
    let watchdog = WatchdogDeps {
        store: DynamoStore::new(stack.dynamodb.clone(), &stack.table),
        policy: dialtone_shared::heartbeat::watchdog::WatchdogPolicy {
            interval: chrono::Duration::minutes(5),
            grace: chrono::Duration::minutes(2),
        },
        details: None,
    };
    let at = |m: i64| {
        "2026-11-01T10:01:00Z"
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap()
            + chrono::Duration::minutes(m)
    };
    assert_eq!(
        check_silence(&watchdog, at(30)).await.unwrap(),
        None,
        "never heard: nothing to judge"
    );
    send(&deps, WARNING).await;

    let mut seen = Vec::new();
    for minute in [6, 8, 9, 18, 40] {
        seen.push(check_silence(&watchdog, at(minute)).await.unwrap());
    }
    assert_eq!(
        seen,
        [None, Some("LATE".into()), None, Some("DOWN".into()), None]
    );
    // A watchdog run repeated (a retried schedule) raises nothing twice.
    assert_eq!(check_silence(&watchdog, at(18)).await.unwrap(), None);

    // The next heartbeat is the CRITICAL one at 10:02 in Exotel's clock: it recovers the
    // silence; the WARNING line alert is not resolved by the silence, only by an OK.
    assert_eq!(
        send(&deps, CRITICAL).await,
        (200, json!({"result": "accepted", "alerts": 2}))
    );
    let received = publish_pending(&stack).await;
    let got: Vec<(&str, &str)> = received
        .iter()
        .map(|r| (r.attributes["kind"].as_str(), r.alert.status.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("fleet_status", "WARNING"),
            ("heartbeat_missing", "LATE"),
            ("heartbeat_missing", "DOWN"),
            ("heartbeat_recovered", "HEARD"),
            ("fleet_status", "CRITICAL"),
        ]
    );
    assert_eq!(received[2].attributes["severity"], "critical");
    assert_eq!(received[3].alert.outage_seconds, Some(60));
}
