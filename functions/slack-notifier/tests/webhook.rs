//! The handler against a local Slack (wiremock).

use aws_lambda_events::event::sns::SnsEvent;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::Value;
use slack_notifier::{handler, Config, Deps, NotifierError};
use std::time::{Duration, Instant};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const HOOK_PATH: &str = "/services/T000/B000/XXXXXXXXXXXXXXXX";

const EVENT: &str = include_str!("../../../events/sns-alert.json");

/// Production config aimed at the mock, with back-off short enough for tests.
fn deps(server: &MockServer, max_attempts: u32) -> Deps {
    let mut config = Config::new(
        &format!("{}{HOOK_PATH}", server.uri()),
        Some(&max_attempts.to_string()),
    )
    .unwrap();
    config.retry.base = Duration::from_millis(10);
    config.retry.max_delay = Duration::from_millis(40);
    config.retry.retry_after_cap = Duration::from_millis(50);
    Deps::new(config).unwrap()
}

fn sample_event() -> SnsEvent {
    serde_json::from_str(EVENT).unwrap()
}

fn invocation(event: SnsEvent) -> LambdaEvent<SnsEvent> {
    LambdaEvent::new(event, Context::default())
}

/// An SNS event carrying the given messages.
fn event_with_messages(messages: &[String]) -> SnsEvent {
    let template = sample_event();
    let mut event = template.clone();
    event.records = messages
        .iter()
        .map(|m| {
            let mut record = template.records[0].clone();
            record.sns.message = m.clone();
            record
        })
        .collect();
    event
}

/// The message Slack must receive for the alert in `events/sns-alert.json`, written out
/// in full in `events/slack-message.json` (not produced by the renderer under test).
fn expected_body() -> Value {
    serde_json::from_str(include_str!("../../../events/slack-message.json")).unwrap()
}

async fn requests(server: &MockServer) -> usize {
    server.received_requests().await.unwrap().len()
}

#[test]
fn sample_event_deserializes_as_sns_event() {
    let event = sample_event();
    assert_eq!(event.records.len(), 1);
    let record = &event.records[0];
    assert_eq!(record.event_source, "aws:sns");
    assert_eq!(record.sns.sns_message_type, "Notification");
    assert_eq!(record.sns.message_attributes["severity"].value, "critical");
    assert_eq!(record.sns.message_attributes["kind"].value, "fleet_status");
    assert_eq!(
        record.sns.message_attributes["source"].value,
        "exotel-heartbeat"
    );
    let alert: dialtone_shared::alert::Alert = serde_json::from_str(&record.sns.message).unwrap();
    assert_eq!(
        record.sns.subject.as_deref(),
        Some(dialtone_shared::notice::subject(&alert).as_str())
    );
}

#[tokio::test]
async fn sample_event_posts_the_exact_block_kit_message() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(HOOK_PATH))
        .and(header("content-type", "application/json"))
        .and(body_json(expected_body()))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .expect(1)
        .mount(&server)
        .await;

    handler(&deps(&server, 4), invocation(sample_event()))
        .await
        .unwrap();

    let received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 1);
    let body: Value = serde_json::from_slice(&received[0].body).unwrap();
    assert_eq!(body, expected_body());
}

#[tokio::test]
async fn rate_limited_then_ok_takes_two_requests() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(HOOK_PATH))
        .respond_with(ResponseTemplate::new(429).set_body_string("rate_limited"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(HOOK_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .expect(1)
        .mount(&server)
        .await;

    handler(&deps(&server, 4), invocation(sample_event()))
        .await
        .unwrap();
    assert_eq!(requests(&server).await, 2);
}

#[tokio::test]
async fn retry_after_is_honoured_up_to_the_cap() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "30")
                .set_body_string("rate_limited"),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&server)
        .await;

    let mut config = deps(&server, 2).config().clone();
    config.retry.base = Duration::from_millis(1);
    config.retry.max_delay = Duration::from_millis(1);
    config.retry.retry_after_cap = Duration::from_millis(300);
    let started = Instant::now();
    handler(&Deps::new(config).unwrap(), invocation(sample_event()))
        .await
        .unwrap();
    let waited = started.elapsed();
    // The back-off alone is at most 2 ms; the wait comes from Retry-After, capped at 300 ms.
    assert!(waited >= Duration::from_millis(300), "{waited:?}");
    assert!(waited < Duration::from_secs(30), "{waited:?}");
    assert_eq!(requests(&server).await, 2);
}

#[tokio::test]
async fn server_errors_fail_after_exactly_max_attempts() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(HOOK_PATH))
        .respond_with(ResponseTemplate::new(500).set_body_string("internal_error"))
        .expect(3)
        .mount(&server)
        .await;

    let err = handler(&deps(&server, 3), invocation(sample_event()))
        .await
        .unwrap_err();
    match &err {
        NotifierError::GaveUp { attempts, last } => {
            assert_eq!(*attempts, 3);
            assert!(
                matches!(**last, NotifierError::Unavailable { status: 500, .. }),
                "{last:?}"
            );
        }
        other => panic!("expected GaveUp, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "Slack delivery failed after 3 attempt(s): Slack answered HTTP 500: internal_error"
    );
    assert_eq!(requests(&server).await, 3);
}

#[tokio::test]
async fn bad_request_fails_at_once_without_retrying() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(HOOK_PATH))
        .respond_with(ResponseTemplate::new(400).set_body_string("invalid_payload"))
        .expect(1)
        .mount(&server)
        .await;

    let err = handler(&deps(&server, 4), invocation(sample_event()))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, NotifierError::Rejected { status: 400, body } if body == "invalid_payload"),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    assert_eq!(requests(&server).await, 1);
}

#[tokio::test]
async fn timeouts_are_retried_then_fail() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_millis(500)))
        .mount(&server)
        .await;

    let mut config = deps(&server, 2).config().clone();
    config.request_timeout = Duration::from_millis(100);
    let err = handler(&Deps::new(config).unwrap(), invocation(sample_event()))
        .await
        .unwrap_err();
    match &err {
        NotifierError::GaveUp { attempts: 2, last } => {
            assert!(matches!(**last, NotifierError::Transport(_)), "{last:?}")
        }
        other => panic!("expected GaveUp after 2 attempts, got {other:?}"),
    }
    assert_eq!(requests(&server).await, 2);
}

#[tokio::test]
async fn unreachable_slack_is_retried_and_the_error_hides_the_url() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut config =
        Config::new(&format!("http://127.0.0.1:{port}{HOOK_PATH}"), Some("3")).unwrap();
    config.retry.base = Duration::from_millis(5);
    let err = handler(&Deps::new(config).unwrap(), invocation(sample_event()))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, NotifierError::GaveUp { attempts: 3, last } if matches!(**last, NotifierError::Transport(_))),
        "{err:?}"
    );
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("XXXX"), "{shown}");
    assert!(shown.contains("could not reach Slack"), "{shown}");
}

#[tokio::test]
async fn a_message_that_is_not_an_alert_is_skipped() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .expect(1)
        .mount(&server)
        .await;

    let good = sample_event().records[0].sns.message.clone();
    let event = event_with_messages(&[
        "Hello from the SNS console".into(),
        r#"{"dedup_key":"x","phone_number":"+917930061010"}"#.into(),
        good,
    ]);
    handler(&deps(&server, 4), invocation(event)).await.unwrap();
    assert_eq!(requests(&server).await, 1);
}

#[tokio::test]
async fn one_failed_record_fails_the_invocation_after_trying_the_others() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(404).set_body_string("no_service"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&server)
        .await;

    let good = sample_event().records[0].sns.message.clone();
    let event = event_with_messages(&[good.clone(), good]);
    let err = handler(&deps(&server, 4), invocation(event))
        .await
        .unwrap_err();
    assert!(
        matches!(err, NotifierError::Rejected { status: 404, .. }),
        "{err:?}"
    );
    assert_eq!(requests(&server).await, 2);
}
