//! DynamoDB's two hardest answers for a webhook, through the fault proxy with the SDK's
//! own retries: transactions cancelled by conflicts under concurrent deliveries, and a
//! commit that was applied but whose answer never came back.

mod common;

use common::*;
use dialtone_local::faults::Fault;
use dialtone_shared::pipeline::{handler, Deps, Receiver};
use dialtone_shared::store::{CounterKey, DashboardStore, DynamoStore};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

const INCOMING: &str = include_str!("../../events/telerivet-incoming-message.json");
const SENT: &str = include_str!("../../events/telerivet-send-status-sent.json");

async fn deliver<R: Receiver>(
    deps: &Deps<R, DynamoStore>,
    request: lambda_http::Request,
) -> (u16, String) {
    let response = handler(deps, request).await.expect("handler answers");
    let status = response.status().as_u16();
    match response.body() {
        lambda_http::Body::Text(t) => (status, t.clone()),
        other => panic!("unexpected body {other:?}"),
    }
}

fn today() -> String {
    chrono::Utc::now().format("%Y-%m-%d").to_string()
}

/// Sends `n` incoming messages and `n` delivered statuses of one project at once, and
/// returns every answer's status and body.
async fn burst(
    deps: &Arc<Deps<dialtone_shared::telerivet::receiver::TelerivetReceiver, DynamoStore>>,
    from: usize,
    n: usize,
) -> Vec<(u16, String)> {
    let mut tasks = Vec::new();
    for n in from..from + 2 * n {
        let deps = deps.clone();
        let (envelope, fields) = if n % 2 == 0 {
            (
                INCOMING,
                vec![
                    ("event", "incoming_message".to_owned()),
                    ("content", "hi".into()),
                ],
            )
        } else {
            (
                SENT,
                vec![
                    ("event", "send_status".to_owned()),
                    ("status", "delivered".into()),
                ],
            )
        };
        tasks.push(tokio::spawn(async move {
            let mut form: Vec<(&str, String)> = fields;
            form.push(("id", format!("SMcontended{n:03}")));
            form.push(("project_id", "PJhot".into()));
            form.push(("secret", TELERIVET_SECRET.into()));
            let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            deliver(&deps, with_form(envelope, &pairs)).await
        }));
    }
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.expect("task"));
    }
    answers
}

/// A project's messages and status moves all count on the project's day: under
/// concurrent deliveries whose transactions DynamoDB cancels for conflicts (injected, then
/// modelled on the items each transaction touches), every one is answered 200 after
/// jittered back-off, and every count is exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conflicts_under_concurrent_deliveries_are_absorbed_and_counted_exactly() {
    let stack = stack("conflicts").await;
    let (deps, proxy) = behind_proxy(telerivet_deps(&stack, None), &stack).await;
    let deps = Arc::new(deps);
    // Fewer conflicts than a delivery has tries, however they fall on the deliveries.
    proxy.fail_next_transactions(5, Fault::TransactionConflict);
    let answers = burst(&deps, 0, 12).await;
    assert!(answers.iter().all(|(s, _)| *s == 200), "{answers:?}");
    assert_eq!(proxy.refused(), 5, "every injected conflict was met");

    // DynamoDB's own rule: a transaction touching an item another one in flight touches
    // is cancelled. 80 deliveries of one project, 16 at a time.
    proxy.model_contention();
    let mut answers = Vec::new();
    for round in 0..5 {
        answers.extend(burst(&deps, 100 + round * 16, 8).await);
    }
    let failed: Vec<&(u16, String)> = answers.iter().filter(|(s, _)| *s != 200).collect();
    assert!(
        failed.is_empty(),
        "{} of {} answered: {failed:?} ({} conflicts)",
        failed.len(),
        answers.len(),
        proxy.conflicts()
    );

    let day = DashboardStore::day_counters(&deps.store, chrono::Utc::now().date_naive())
        .await
        .expect("counters");
    let key = format!("telerivet:sms:PJhot:{}", today());
    let counts = &day[&key.parse::<CounterKey>().expect("a counter key")];
    assert_eq!(counts.get("incoming"), Some(&52), "{counts:?}");
    assert_eq!(counts.get("delivered"), Some(&52), "{counts:?}");
    assert_eq!(counts.get("total"), Some(&104), "{counts:?}");
    assert_no_telerivet_secret(&stack).await;
}

/// The transaction is applied and its answer lost: once, the SDK's retry meets the stored
/// key and the provider gets the auto-reply; throughout, the provider gets a 503, and its
/// own retry gets the same reply bytes. Nothing is counted twice.
#[tokio::test]
async fn a_commit_whose_answer_is_lost_answers_the_retry_the_same() {
    let stack = stack("lost-answer").await;
    let (deps, proxy) = behind_proxy(telerivet_deps(&stack, None), &stack).await;
    let reply = r#"{"messages":[{"content":"Open 9–6, Mon–Sat. नमस्ते!"}]}"#;

    proxy.fail_next_transactions(1, Fault::AppliedThenLost);
    assert_eq!(
        deliver(&deps, request(INCOMING)).await,
        (200, reply.to_owned())
    );
    assert_eq!(proxy.refused(), 1);

    let other = |id: &str| {
        with_form(
            INCOMING,
            &[
                ("event", "incoming_message"),
                ("id", id),
                ("content", "hours"),
                ("project_id", "PJ2ad8f6c1"),
                ("secret", TELERIVET_SECRET),
            ],
        )
    };
    proxy.fail_next_transactions(50, Fault::AppliedThenLost);
    assert_eq!(deliver(&deps, other("SMlost2")).await.0, 503);
    proxy.heal();
    assert_eq!(
        deliver(&deps, other("SMlost2")).await,
        (200, reply.to_owned())
    );

    let items = scan(&stack).await;
    let day = format!("telerivet:sms:PJ2ad8f6c1:{}", today());
    assert_eq!(
        counter_json(&items, &day)["incoming"],
        2,
        "two messages, each once"
    );
    assert_eq!(of_entity(&items, "history").len(), 2);
    assert_no_telerivet_secret(&stack).await;
}

/// The function is stopped right after its commit (no answer ever reaches it): the
/// provider's retry is answered from what was stored, and nothing is counted twice.
#[tokio::test]
async fn a_function_stopped_after_its_commit_answers_the_retry_the_same() {
    let stack = stack("stopped").await;
    let (deps, proxy) = behind_proxy(telerivet_deps(&stack, None), &stack).await;
    proxy.fail_next_transactions(1, Fault::AppliedThenSilence);
    let stopped =
        tokio::time::timeout(Duration::from_secs(3), deliver(&deps, request(INCOMING))).await;
    assert!(stopped.is_err(), "the first delivery never got its answer");
    proxy.heal();
    let (status, body) = deliver(&deps, request(INCOMING)).await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).expect("json"),
        json!({"messages": [{"content": "Open 9–6, Mon–Sat. नमस्ते!"}]})
    );
    let items = scan(&stack).await;
    let day = format!("telerivet:sms:PJ2ad8f6c1:{}", today());
    assert_eq!(counter_json(&items, &day)["incoming"], 1);
    assert_eq!(of_entity(&items, "history").len(), 1);
    assert_no_telerivet_secret(&stack).await;
}

/// A refusal counted outside any event's transaction: its write applied and its answer
/// lost, the SDK's retry does not count it again.
#[tokio::test]
async fn a_refusal_whose_count_was_applied_and_lost_counts_once() {
    let stack = stack("lost-count").await;
    let (deps, proxy) = behind_proxy(telerivet_deps(&stack, None), &stack).await;
    let wrong = || {
        with_form(
            SENT,
            &[
                ("event", "send_status"),
                ("id", "SMwrong"),
                ("status", "sent"),
                ("secret", "not-the-secret"),
            ],
        )
    };
    // The first request of a refused delivery is its count's write, whatever its kind.
    proxy.fail_next(1, Fault::AppliedThenLost);
    assert_eq!(deliver(&deps, wrong()).await.0, 403);
    assert_eq!(proxy.refused(), 1);
    // Telerivet's own retry is another request: it counts, once.
    assert_eq!(deliver(&deps, wrong()).await.0, 403);
    let items = scan(&stack).await;
    let mut windows: Vec<String> = items
        .iter()
        .map(|i| s(i, "pk"))
        .filter(|pk| pk.starts_with("COUNTER#telerivet:auth-failures:"))
        .collect();
    windows.dedup();
    assert_eq!(windows.len(), 1);
    let window = windows[0].trim_start_matches("COUNTER#");
    assert_eq!(
        counter_json(&items, window)["total"],
        2,
        "two requests, each once"
    );
    assert_no_telerivet_secret(&stack).await;
}
