//! The dispatcher's sweep on the local stack: alerts the stream never published (its
//! retries spent against a broken topic) go out on the schedule, once, and a sweep racing
//! the stream publishes nothing twice.

mod common;

use alert_dispatcher::{sweep, SweepReport, SWEEP_MIN_AGE};
use chrono::{Duration, Utc};
use common::*;
use dialtone_local::inbox;
use dialtone_local::pump::StreamPump;

const WARNING: &str = include_str!("../../events/heartbeat-warning.json");
const QUIET: std::time::Duration = std::time::Duration::from_secs(1);

/// Exotel's sample WARNING then CRITICAL, stamped a few minutes ago: two alerts stored.
async fn two_alerts_stored(stack: &dialtone_local::stack::Stack) {
    let deps = heartbeat_deps(stack);
    let sample: serde_json::Value = serde_json::from_str(WARNING).expect("envelope");
    let body: serde_json::Value =
        serde_json::from_str(sample["body"].as_str().expect("body")).expect("JSON body");
    for (minutes_ago, status) in [(3, "WARNING"), (2, "CRITICAL")] {
        let mut heartbeat = body.clone();
        heartbeat["timestamp"] = (Utc::now() - Duration::minutes(minutes_ago))
            .to_rfc3339()
            .into();
        heartbeat["status_type"] = status.into();
        let response =
            dialtone_shared::pipeline::handler(&deps, with_body(WARNING, &heartbeat.to_string()))
                .await
                .expect("handler answers");
        let (code, answer) = answer(response);
        assert_eq!((code, &answer["alerts"]), (200, &1.into()), "{answer}");
    }
}

/// The alert rows as they stand `ago` after they were stored: the sweep's clock is the
/// real one (so are its claims), the rows are made older.
async fn stored_ago(stack: &dialtone_local::stack::Stack, ago: Duration) {
    use aws_sdk_dynamodb::types::AttributeValue;
    for row in of_entity(&scan(stack).await, "alert") {
        stack
            .dynamodb
            .update_item()
            .table_name(&stack.table)
            .key("pk", row["pk"].clone())
            .key("sk", row["sk"].clone())
            .update_expression("SET stored_at = :at")
            .expression_attribute_values(":at", AttributeValue::S((Utc::now() - ago).to_rfc3339()))
            .send()
            .await
            .expect("row aged");
    }
}

#[tokio::test]
async fn alerts_the_stream_gave_up_on_are_published_by_the_sweep_once() {
    let stack = stack("sweep").await;
    two_alerts_stored(&stack).await;

    let broken = dispatcher_deps(&stack, &format!("{}-gone", stack.topic_arn));
    let mut pump = StreamPump::new(&stack).await.unwrap();
    pump.max_attempts = 2;
    let report = pump.drain(&InProcess(&broken)).await.unwrap();
    assert_eq!(report.dead_lettered.len(), 2, "{report:?}");
    assert!(inbox::drain(&stack.sqs, &stack.queue_url, QUIET)
        .await
        .unwrap()
        .is_empty());

    let healthy = dispatcher_deps(&stack, &stack.topic_arn);
    let now = Utc::now();
    assert_eq!(
        sweep(&healthy, now).await.unwrap(),
        SweepReport::default(),
        "within the stream's few minutes the sweep leaves them"
    );
    stored_ago(&stack, SWEEP_MIN_AGE + Duration::seconds(5)).await;
    let later = Utc::now();
    assert_eq!(
        sweep(&healthy, later).await.unwrap(),
        SweepReport {
            found: 2,
            published: 2,
            left: 0,
            failed: 0
        }
    );
    let received = inbox::drain(&stack.sqs, &stack.queue_url, QUIET)
        .await
        .unwrap();
    let statuses: Vec<&str> = received.iter().map(|r| r.alert.status.as_str()).collect();
    assert_eq!(statuses, ["WARNING", "CRITICAL"], "in order");

    // Marked: neither the next sweep nor a redriven stream publishes them again.
    assert_eq!(sweep(&healthy, later).await.unwrap().found, 0);
    StreamPump::new(&stack)
        .await
        .unwrap()
        .drain(&InProcess(&healthy))
        .await
        .unwrap();
    assert!(inbox::drain(&stack.sqs, &stack.queue_url, QUIET)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sweep_racing_the_stream_publishes_each_alert_once() {
    let stack = stack("sweep-race").await;
    two_alerts_stored(&stack).await;
    let healthy = dispatcher_deps(&stack, &stack.topic_arn);
    stored_ago(&stack, SWEEP_MIN_AGE + Duration::seconds(5)).await;
    let later = Utc::now();
    let mut pump = StreamPump::new(&stack).await.unwrap();
    let dispatcher = InProcess(&healthy);
    let (stream, swept) = tokio::join!(pump.drain(&dispatcher), async {
        let mut total = SweepReport::default();
        for _ in 0..3 {
            let report = sweep(&healthy, later).await.unwrap();
            total.published += report.published;
        }
        total
    });
    stream.unwrap();
    let received = inbox::drain(&stack.sqs, &stack.queue_url, QUIET)
        .await
        .unwrap();
    assert_eq!(
        received.len(),
        2,
        "each alert once, whichever published it (the sweep sent {})",
        swept.published
    );
}
