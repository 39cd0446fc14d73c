//! A fleet of any size a heartbeat Lambda can deliver is applied, and a steady one costs
//! little; an event no retry could ever store (an item DynamoDB refuses) is answered 200
//! so that the provider stops retrying, its body quarantined, and a person told, once an
//! hour at most; only transient failures are 5xx.

mod common;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{Duration, Utc};
use common::*;
use dialtone_shared::alert::{Alert, AlertKind, DedupKey, Severity, Source};
use dialtone_shared::heartbeat::HeartbeatRow;
use dialtone_shared::pipeline::handler;
use dialtone_shared::store::{Commit, DynamoStore, EventStore, StoreError};
use dialtone_testkit::sample::warning_with_lines;
use serde_json::json;

const WARNING: &str = include_str!("../../events/heartbeat-warning.json");

async fn lines_stored(store: &DynamoStore) -> usize {
    match store
        .load_state::<HeartbeatRow>(&state_key(MONITOR_KEY))
        .await
        .expect("load")
        .expect("stored")
        .value
    {
        HeartbeatRow::Monitor(m) => m.lines.len(),
        HeartbeatRow::Watchdog(_) => 0,
    }
}

/// 40 000 and 85 000 affected lines (the largest is some 5.9 MB, about what Lambda
/// delivers): applied, alerted, and their repeats cost a handful of write units.
#[tokio::test]
async fn a_fleet_as_large_as_lambda_delivers_is_applied_and_its_repeat_is_cheap() {
    let stack = stack("fleet-size").await;
    let deps = heartbeat_deps(&stack);
    let start = Utc::now() - Duration::minutes(30);
    let mut minute = 0;
    for lines in [40_000, 85_000] {
        let mut units = Vec::new();
        for _ in 0..2 {
            let body = warning_with_lines(lines, start + Duration::minutes(minute));
            minute += 1;
            let before = deps.store.write_units();
            let (status, answer) = answer(
                handler(&deps, with_body(WARNING, &body))
                    .await
                    .expect("answers"),
            );
            assert_eq!((status, answer["result"].as_str()), (200, Some("accepted")));
            units.push(deps.store.write_units() - before);
        }
        assert_eq!(lines_stored(&deps.store).await, lines);
        assert!(units[1] <= 10, "{lines} lines: steady cost {units:?}");
    }
    let sizes = warning_with_lines(85_000, start).len();
    assert!(sizes > 5_500_000, "{sizes}");
    let alerts = publish_pending(&stack).await;
    assert!(!alerts.is_empty());
    assert!(alerts
        .iter()
        .all(|a| a.attributes["kind"] != "event_unstorable"));
}

/// A line whose state alone is over what an item holds (here an alternate ExoPhone of
/// 500 KB) cannot be stored however often it is retried.
#[tokio::test]
async fn an_event_no_retry_could_store_is_acknowledged_quarantined_and_alerted_once() {
    let stack = stack("unstorable").await;
    let deps = heartbeat_deps(&stack);
    let start = Utc::now() - Duration::minutes(30);
    for n in 0..3 {
        let body = json!({
            "timestamp": (start + Duration::minutes(n)).to_rfc3339(),
            "status_type": "WARNING",
            "incoming_affected": ["07930061010"],
            "outgoing_affected": null,
            "data": { "07930061010": {
                "phone_number": "+917930061010",
                "connectivity": { "incoming_call": {
                    "status": "major_outage",
                    "alternate_exophone": "0".repeat(500 * 1024),
                } },
            } },
        });
        let response = handler(&deps, with_body(WARNING, &body.to_string()))
            .await
            .expect("answers");
        assert_eq!(answer(response), (200, json!({"result": "quarantined"})));
    }
    let items = scan(&stack).await;
    let kept = of_entity(&items, "quarantine");
    assert_eq!(kept.len(), 3, "each body kept");
    assert!(kept.iter().all(|q| s(q, "reason").contains("over the")
        && q.get("body_truncated") == Some(&AttributeValue::Bool(true))));
    assert!(of_entity(&items, "history").is_empty());
    let alerts = publish_pending(&stack).await;
    let hours: std::collections::BTreeSet<String> = alerts
        .iter()
        .map(|a| a.alert.occurred_at.to_rfc3339())
        .collect();
    assert_eq!(alerts.len(), hours.len(), "one alert per hour: {alerts:?}");
    let alert = &alerts[0];
    assert_eq!(alert.attributes["kind"], "event_unstorable");
    assert_eq!(alert.attributes["severity"], "critical");
    assert!(
        alert.alert.notes[0].contains("bytes as JSON, over the"),
        "names the cause: {:?}",
        alert.alert.notes
    );
}

/// A heartbeat of a kind not known yet, too large to keep whole (a fleet's lines under a
/// new status): its small fields are kept and the sizes of the rest, and it is raised.
#[tokio::test]
async fn a_large_heartbeat_of_a_new_kind_is_kept_in_brief_and_raised() {
    let stack = stack("unrecognised-large").await;
    let deps = heartbeat_deps(&stack);
    let body = json!({
        "timestamp": (Utc::now() - Duration::minutes(3)).to_rfc3339(),
        "status_type": "DEGRADED",
        "detail": "x".repeat(500 * 1024),
    });
    let response = handler(&deps, with_body(WARNING, &body.to_string()))
        .await
        .expect("answers");
    assert_eq!(answer(response).1["result"], "unrecognised");
    let items = scan(&stack).await;
    let history = of_entity(&items, "history");
    assert_eq!(history.len(), 1);
    let record: serde_json::Value =
        serde_dynamo::from_attribute_value(history[0]["record"].clone()).expect("record");
    assert_eq!(record["fields"]["status_type"], "DEGRADED");
    assert!(record["fields_left_out_bytes"]["detail"].as_u64() > Some(500_000));
    let alerts = publish_pending(&stack).await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].attributes["kind"], "event_unrecognised");
}

/// DynamoDB's own refusal (an item over 400 KB) is told apart from an outage: permanent.
#[tokio::test]
async fn an_item_dynamodb_refuses_is_a_permanent_failure() {
    let stack = stack("rejected").await;
    let store = DynamoStore::new(stack.dynamodb.clone(), &stack.table);
    let mut commit = Commit::new("exotel-heartbeat", "huge-alert".into(), Utc::now());
    commit.alerts.push(Alert {
        dedup_key: DedupKey::fleet(Source::ExotelHeartbeat),
        source: Source::ExotelHeartbeat,
        kind: AlertKind::FleetStatus,
        severity: Severity::Warning,
        status: "WARNING".into(),
        occurred_at: Utc::now(),
        lines: Vec::new(),
        lines_omitted: 0,
        lines_affected: 0,
        outage_seconds: None,
        notes: vec!["x".repeat(500 * 1024)],
    });
    let err = store.commit(commit).await.expect_err("refused");
    assert!(matches!(err, StoreError::Rejected(_)), "{err:?}");
    assert!(err.is_permanent());
    assert!(scan(&stack).await.is_empty());
}
