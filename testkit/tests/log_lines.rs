//! The pipeline's log lines, in a test binary of their own: a test on another thread with no
//! subscriber can reach the pipeline's span first and have it cached as disabled while
//! this test's subscriber is being registered (tracing's interest cache is global).

mod common;

use common::*;
use dialtone_testkit::logs::Captured;
use dialtone_testkit::offline::OfflineStore;
use lambda_http::{Body, RequestExt};
use tracing_subscriber::EnvFilter;

#[test]
fn every_log_line_of_a_request_carries_its_id_and_provider_and_no_phone_number() {
    let mut context = lambda_http::Context::default();
    context.request_id = "7f3c2a91-0d4e-4b6a-9c1f-2e8d5b7a6c40".into();
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber =
        dialtone_shared::telemetry::subscriber(EnvFilter::new("info"), move || writer.clone());

    tracing::subscriber::with_default(subscriber, || {
        // A stored event and a refused one: both paths log.
        handled(
            &OfflineStore::new(Vec::new()),
            initial_call().with_lambda_context(context.clone()),
        );
        let mut refused = initial_call().with_lambda_context(context.clone());
        *refused.body_mut() = Body::Text("{}".into());
        handled(&OfflineStore::new(Vec::new()), refused);
    });

    let text = captured.text();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    assert!(lines.len() >= 2, "{text}");
    for line in &lines {
        assert_eq!(line["span"]["request_id"], context.request_id, "{line}");
        assert_eq!(line["span"]["provider"], "voipstudio", "{line}");
    }
    assert!(text.contains("event stored"), "{text}");
    assert!(text.contains("payload quarantined"), "{text}");
    assert!(
        !text.contains("9812345678"),
        "a phone number was logged: {text}"
    );
    assert!(!text.contains(TOKEN), "the URL token was logged: {text}");
}
