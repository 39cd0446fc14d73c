//! The call-log aggregator against the local stack and a local Exotel (a real HTTP server
//! serving Bulk Call Details pages): metrics equal to an independent count, each call
//! counted once across overlapping runs, late calls counted, an interrupted run resumed,
//! and the answer-rate alert.

mod common;

use call_log_aggregator::{run, Deps};
use common::*;
use dialtone_shared::call_log::alerts::AnswerRatePolicy;
use dialtone_shared::call_log::missing_webhooks::MissingWebhookPolicy;
use dialtone_shared::exotel::client::ExotelError;
use dialtone_shared::store::DynamoStore;
use serde_json::{json, Value};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CALLS: &str = "/v1/Accounts/acme1/Calls.json";
const STATUSES: [&str; 6] = [
    "completed",
    "completed",
    "no-answer",
    "busy",
    "failed",
    "completed",
];
const DIRECTIONS: [&str; 3] = ["inbound", "outbound-dial", "outbound-api"];

/// 250 realistic records (Duration as a string, a number or null) and two unreadable ones.
fn records() -> Vec<Value> {
    let mut calls: Vec<Value> = (0..250)
        .map(|i| {
            let duration = match i % 3 {
                0 => json!(((i * 7) % 300).to_string()),
                1 => json!((i * 7) % 300),
                _ => Value::Null,
            };
            json!({
                "Sid": format!("call{i:04}"),
                "DateCreated": format!("2026-11-01 {:02}:{:02}:{:02}", i % 24, i % 60, (i * 13) % 60),
                "Status": STATUSES[i % 6],
                "Direction": DIRECTIONS[i % 3],
                "PhoneNumberSid": if i % 2 == 0 { "08030752522" } else { "07930061010" },
                "Duration": duration,
                "Price": if i % 4 == 0 { json!("1.20") } else { json!(null) },
                "From": "09812345678",
                "To": "08030752522",
            })
        })
        .collect();
    calls.insert(
        120,
        json!({"Sid": "bad1", "DateCreated": "01/11/2026 10:00", "Status": "completed"}),
    );
    calls.insert(200, json!({"Sid": "bad2", "Status": "completed"}));
    calls
}

/// The tutorial's figures for 2026-11-01 (every served record is of that day, those whose
/// `DateCreated` cannot be read too), of one direction or all.
fn expected(calls: &[Value], direction: Option<&str>) -> Value {
    tutorial_figures(
        on_days(calls, &["2026-11-01"])
            .into_iter()
            .filter(|c| direction.is_none_or(|d| c["Direction"] == d)),
    )
}

/// Serves the records in pages of 100, linked by relative NextPageUri.
async fn exotel(calls: &[Value]) -> MockServer {
    let server = MockServer::start().await;
    let pages: Vec<&[Value]> = calls.chunks(100).collect();
    for (n, chunk) in pages.iter().enumerate() {
        let next = (n + 1 < pages.len()).then(|| format!("{CALLS}?Page={}&PageSize=100", n + 1));
        let body =
            json!({"Metadata": {"Page": n, "PageSize": 100, "NextPageUri": next}, "Calls": chunk});
        let mock = Mock::given(method("GET")).and(path(CALLS));
        let mock = if n == 0 {
            mock.and(query_param_is_missing("Page"))
        } else {
            mock.and(query_param("Page", n.to_string()))
        };
        mock.respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&server)
            .await;
    }
    server
}

fn deps(
    stack: &dialtone_local::stack::Stack,
    server: &MockServer,
    budget: u32,
) -> Deps<DynamoStore> {
    Deps {
        client: exotel_client(
            server.uri(),
            "acme1",
            ("key", "token-0123456789abcdef"),
            budget,
            2,
        ),
        store: DynamoStore::new(stack.dynamodb.clone(), &stack.table),
        tz: chrono_tz::Asia::Kolkata,
        overlap: chrono::Duration::hours(4),
        first_lookback: chrono::Duration::days(1),
        answer_rate: AnswerRatePolicy {
            below_percent: 60.0,
            min_calls: 20,
        },
        missing_webhooks: MissingWebhookPolicy::default(),
    }
}

fn now() -> chrono::DateTime<chrono::Utc> {
    "2026-11-01T18:00:00Z".parse().unwrap()
}

#[tokio::test]
async fn metrics_match_an_independent_count_and_overlapping_runs_count_each_call_once() {
    let stack = stack("agg").await;
    let calls = records();
    let server = exotel(&calls).await;
    let report = run(&deps(&stack, &server, 50), now()).await.unwrap();
    assert_eq!(
        (report.pages, report.counted, report.already_counted),
        (3, 252, 0),
        "the two records with unreadable dates count too"
    );
    assert_eq!(report.unreadable.get("date_created"), Some(&2));

    let items = scan(&stack).await;
    assert_eq!(
        counted_figures(&items, "metrics:2026-11-01:all"),
        expected(&calls, None)
    );
    for d in DIRECTIONS {
        assert_eq!(
            counted_figures(&items, &format!("metrics:2026-11-01:direction:{d}")),
            expected(&calls, Some(d)),
            "{d}"
        );
    }
    let hourly: i64 = (0..24)
        .map(|h| {
            counter_json(&items, "metrics:2026-11-01:all")[format!("h{h:02}")]
                .as_i64()
                .unwrap_or(0)
        })
        .sum();
    assert_eq!(
        hourly, 250,
        "in no hour, as the tutorial's getHours() is NaN"
    );
    assert_eq!(
        counter_json(&items, "metrics:2026-11-01:exophone:08030752522")["total"],
        125
    );

    // The next run re-reads its overlap: nothing is counted twice.
    let again = run(
        &deps(&stack, &server, 50),
        now() + chrono::Duration::minutes(15),
    )
    .await
    .unwrap();
    assert_eq!((again.counted, again.already_counted), (0, 252));
    assert_eq!(
        counted_figures(&scan(&stack).await, "metrics:2026-11-01:all"),
        expected(&calls, None)
    );
}

#[tokio::test]
async fn a_call_that_appears_late_is_counted_once() {
    let stack = stack("agg-late").await;
    let mut calls = records();
    run(&deps(&stack, &exotel(&calls).await, 50), now())
        .await
        .unwrap();
    calls.push(json!({"Sid": "late1", "DateCreated": "2026-11-01 22:50:00", "Status": "completed", "Direction": "inbound", "Duration": "61"}));
    let later = exotel(&calls).await;
    let report = run(
        &deps(&stack, &later, 50),
        now() + chrono::Duration::minutes(15),
    )
    .await
    .unwrap();
    assert_eq!((report.counted, report.already_counted), (1, 252));
    assert_eq!(
        counted_figures(&scan(&stack).await, "metrics:2026-11-01:all"),
        expected(&calls, None)
    );
}

#[tokio::test]
async fn a_call_read_while_going_is_counted_in_its_final_status_once_it_settles() {
    let stack = stack("agg-settle").await;
    let mut calls = records();
    calls.push(
        json!({"Sid": "going1", "DateCreated": "2026-11-01 22:40:00", "Status": "in-progress",
                      "Direction": "inbound", "PhoneNumberSid": "08030752522", "Duration": null}),
    );
    calls.push(
        json!({"Sid": "going2", "DateCreated": "2026-11-01 22:41:00", "Status": "ringing",
                      "Direction": "inbound", "PhoneNumberSid": "08030752522", "Duration": null}),
    );
    let first = run(&deps(&stack, &exotel(&calls).await, 50), now())
        .await
        .unwrap();
    assert_eq!(first.counted, 254);
    let all = counter_json(&scan(&stack).await, "metrics:2026-11-01:all");
    assert_eq!(all["pending"], 2, "{all}");
    let counted_total = all["total"].as_i64().unwrap();

    // Both settle; the next run re-reads its overlap.
    let n = calls.len();
    calls[n - 2]["Status"] = json!("completed");
    calls[n - 2]["Duration"] = json!("95");
    calls[n - 1]["Status"] = json!("no-answer");
    let later = exotel(&calls).await;
    let settled = run(
        &deps(&stack, &later, 50),
        now() + chrono::Duration::minutes(15),
    )
    .await
    .unwrap();
    assert_eq!(
        (settled.counted, settled.settled, settled.already_counted),
        (0, 2, 252)
    );
    let items = scan(&stack).await;
    assert_eq!(
        counted_figures(&items, "metrics:2026-11-01:all"),
        expected(&calls, None)
    );
    let all = counter_json(&items, "metrics:2026-11-01:all");
    assert_eq!(
        (all["pending"].as_i64(), all["total"].as_i64()),
        (Some(0), Some(counted_total))
    );

    // A third read changes nothing.
    let again = run(
        &deps(&stack, &later, 50),
        now() + chrono::Duration::minutes(30),
    )
    .await
    .unwrap();
    assert_eq!(
        (again.counted, again.settled, again.already_counted),
        (0, 0, 254)
    );
    assert_eq!(
        counted_figures(&scan(&stack).await, "metrics:2026-11-01:all"),
        expected(&calls, None)
    );
}

#[tokio::test]
async fn a_run_cut_short_resumes_where_it_stopped() {
    let stack = stack("agg-resume").await;
    let calls = records();
    let server = exotel(&calls).await;
    let cut = run(&deps(&stack, &server, 1), now()).await;
    assert!(
        matches!(
            cut,
            Err(call_log_aggregator::AggregatorError::Exotel(
                ExotelError::BudgetSpent(1)
            ))
        ),
        "{cut:?}"
    );
    let resumed = run(
        &deps(&stack, &server, 50),
        now() + chrono::Duration::minutes(15),
    )
    .await
    .unwrap();
    assert_eq!(resumed.pages, 2, "pages 2 and 3 only");
    assert_eq!(
        counted_figures(&scan(&stack).await, "metrics:2026-11-01:all"),
        expected(&calls, None)
    );
    let requests = server.received_requests().await.unwrap();
    assert_eq!(
        requests
            .iter()
            .filter(|r| r.url.query().unwrap_or("").contains("Page=1"))
            .count(),
        1
    );
}

#[tokio::test]
async fn a_low_answer_rate_alerts_once() {
    let stack = stack("agg-rate").await;
    let server = exotel(&records()).await;
    let mut strict = deps(&stack, &server, 50);
    strict.answer_rate = AnswerRatePolicy {
        below_percent: 90.0,
        min_calls: 20,
    };
    run(&strict, now()).await.unwrap();
    run(&strict, now() + chrono::Duration::minutes(15))
        .await
        .unwrap();
    let published = publish_pending(&stack).await;
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].attributes["kind"], "answer_rate_low");
    assert!(
        published[0]
            .alert
            .status
            .starts_with("50.4% of 252 calls answered on 2026-11-01"),
        "{}",
        published[0].alert.status
    );
}

#[tokio::test]
async fn the_answer_rate_alert_resolves_when_the_rate_recovers_the_same_day() {
    let stack = stack("agg-recover").await;
    let mut calls = records();
    let policy = AnswerRatePolicy {
        below_percent: 55.0,
        min_calls: 20,
    };
    let mut first = deps(&stack, &exotel(&calls).await, 50);
    first.answer_rate = policy;
    run(&first, now()).await.unwrap();
    // Thirty more answered calls late in the day lift 125/250 to 155/280 (55.4%).
    for i in 0..30 {
        calls.push(
            json!({"Sid": format!("extra{i}"), "DateCreated": format!("2026-11-01 22:{i:02}:00"),
            "Status": "completed", "Direction": "inbound", "Duration": "30"}),
        );
    }
    let mut second = deps(&stack, &exotel(&calls).await, 50);
    second.answer_rate = policy;
    run(&second, now() + chrono::Duration::minutes(15))
        .await
        .unwrap();
    let kinds: Vec<String> = publish_pending(&stack)
        .await
        .iter()
        .map(|r| r.attributes["kind"].clone())
        .collect();
    assert_eq!(kinds, ["answer_rate_low", "answer_rate_recovered"]);
}
