//! The sweep against the in-memory ledger of the dispatcher's tests.

use super::*;
use crate::{entry, Trigger, CLAIM_LEASE};
use chrono::TimeZone;
use dialtone_shared::alert::Severity;
use dialtone_shared::store::{AlertLedger, AlertRow, Claim};
use dialtone_testkit::alerts::{callback_row, MemoryLedger, RecordingPublisher};
use lambda_runtime::LambdaEvent;

fn at(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 10, minute, 0).unwrap()
}

/// The dedup keys of the alerts published so far, in order.
fn sent_keys(deps: &Deps<MemoryLedger, RecordingPublisher>) -> Vec<String> {
    deps.publisher
        .sent
        .lock()
        .unwrap()
        .iter()
        .map(|a| a.dedup_key.to_string())
        .collect()
}

fn deps(rows: Vec<AlertRow>) -> Deps<MemoryLedger, RecordingPublisher> {
    let ledger = MemoryLedger::default();
    *ledger.rows.lock().unwrap() = rows;
    Deps {
        ledger,
        publisher: RecordingPublisher::default(),
        enricher: None,
    }
}

#[tokio::test]
async fn rows_left_unpublished_past_the_minimum_age_are_published_once_in_order() {
    let deps = deps(vec![
        callback_row("+919812345601", at(0)),
        callback_row("+919812345602", at(3)),
        callback_row("+919812345603", at(9)),
    ]);
    let report = sweep(&deps, at(9)).await.unwrap();
    assert_eq!(
        report,
        SweepReport {
            found: 2,
            published: 2,
            left: 0,
            failed: 0
        },
        "the row stored a minute ago is the stream's"
    );
    let sent = sent_keys(&deps);
    assert_eq!(
        sent,
        [
            "calls:callback:+919812345601",
            "calls:callback:+919812345602"
        ]
    );
    let again = sweep(&deps, at(9)).await.unwrap();
    assert_eq!(again.found, 0, "marked: not found again");
    assert_eq!(deps.publisher.sent.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn a_row_another_publisher_holds_is_left_to_it_until_its_claim_lapses() {
    let deps = deps(vec![callback_row("+919812345601", at(0))]);
    let id = deps.ledger.rows.lock().unwrap()[0].alert_id.clone();
    assert_eq!(
        deps.ledger
            .claim(&id, at(9), at(9) + CLAIM_LEASE)
            .await
            .unwrap(),
        Claim::Claimed
    );
    let report = sweep(&deps, at(9)).await.unwrap();
    assert_eq!((report.published, report.left), (0, 1));
    assert!(deps.publisher.sent.lock().unwrap().is_empty());
    // The holder stopped before its mark: the claim lapses and the next sweep publishes.
    let report = sweep(&deps, at(11)).await.unwrap();
    assert_eq!((report.published, report.left), (1, 0));
}

#[tokio::test]
async fn a_failed_publish_fails_the_sweep_releases_its_claim_and_the_next_sweep_sends_it() {
    let mut deps = deps(vec![callback_row("+919812345601", at(0))]);
    deps.publisher.failing_severity = Some("warning");
    assert!(matches!(
        sweep(&deps, at(9)).await,
        Err(DispatchError::Publish(_))
    ));
    assert!(
        deps.ledger.claims.lock().unwrap().is_empty(),
        "claim released"
    );
    deps.publisher.failing_severity = None;
    assert_eq!(sweep(&deps, at(9)).await.unwrap().published, 1);
}

#[tokio::test]
async fn the_schedule_runs_the_sweep_and_a_stream_batch_the_stream() {
    let deps = deps(vec![callback_row(
        "+919812345601",
        Utc::now() - Duration::minutes(10),
    )]);
    let schedule: Trigger =
        serde_json::from_str(include_str!("../../../events/eventbridge-schedule.json")).unwrap();
    let reply = entry(
        &deps,
        LambdaEvent::new(schedule, lambda_runtime::Context::default()),
    )
    .await
    .unwrap();
    assert_eq!(
        serde_json::to_value(&reply).unwrap(),
        serde_json::json!({"found": 1, "published": 1, "left": 0, "failed": 0})
    );
    let stream: Trigger =
        serde_json::from_str(include_str!("../../../events/dynamodb-stream-alerts.json")).unwrap();
    let reply = entry(
        &deps,
        LambdaEvent::new(stream, lambda_runtime::Context::default()),
    )
    .await
    .unwrap();
    assert_eq!(
        serde_json::to_value(&reply).unwrap(),
        serde_json::json!({"batchItemFailures": []})
    );
    assert_eq!(deps.publisher.sent.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn an_alert_sns_refuses_does_not_hold_up_the_others() {
    let mut rows = vec![
        callback_row("+919812345601", at(0)),
        callback_row("+919812345602", at(1)),
    ];
    rows[0].alert.severity = Severity::Critical;
    let mut deps = deps(rows);
    deps.publisher.failing_severity = Some("critical");
    assert!(matches!(
        sweep(&deps, at(9)).await,
        Err(DispatchError::Publish(_))
    ));
    let sent = sent_keys(&deps);
    assert_eq!(
        sent,
        ["calls:callback:+919812345602"],
        "the next one went out"
    );
}
