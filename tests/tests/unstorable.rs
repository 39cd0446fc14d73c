//! An event no retry could ever store (a state over what one transaction carries, an item
//! DynamoDB refuses as invalid) is answered 200 so that the provider stops retrying, its
//! body quarantined, and a person told, once an hour at most; only transient failures are
//! 5xx.

mod common;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{Duration, Utc};
use common::*;
use dialtone_shared::alert::{Alert, AlertKind, DedupKey, Severity, Source};
use dialtone_shared::heartbeat::sample::warning_with_lines;
use dialtone_shared::heartbeat::MONITOR_KEY;
use dialtone_shared::pipeline::handler;
use dialtone_shared::store::{Commit, DynamoStore, EventStore, StoreError};
use serde_json::json;

const WARNING: &str = include_str!("../../events/heartbeat-warning.json");

/// 40 000 and 85 000 affected lines (the largest is 5.9 MB, about what Lambda delivers):
/// their monitor state is over the 3.5 MB one transaction can carry.
#[tokio::test]
async fn a_fleet_too_large_to_store_is_acknowledged_quarantined_and_alerted_once() {
    let stack = stack("unstorable").await;
    let deps = heartbeat_deps(&stack);
    let start = Utc::now() - Duration::minutes(30);
    let mut sizes = Vec::new();
    for (n, lines) in [40_000, 85_000, 85_000].into_iter().enumerate() {
        let body = warning_with_lines(lines, start + Duration::minutes(n as i64));
        sizes.push(body.len());
        let response = handler(&deps, with_body(WARNING, &body))
            .await
            .expect("answers");
        assert_eq!(answer(response), (200, json!({"result": "quarantined"})));
    }
    assert!(sizes[1] > 5_500_000, "{sizes:?}");
    assert_eq!(
        state_of(&stack, MONITOR_KEY).await,
        None,
        "nothing half-applied"
    );
    let items = scan(&stack).await;
    let kept = of_entity(&items, "quarantine");
    assert_eq!(kept.len(), 3, "each body kept");
    assert!(kept.iter().all(|q| s(q, "reason").contains("over the")
        && q.get("body_truncated") == Some(&AttributeValue::Bool(true))));
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
