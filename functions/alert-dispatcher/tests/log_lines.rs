//! What the dispatcher logs, read from a subscriber of this test's own. In a test binary of
//! its own: tracing's callsite interest cache is global, and a test on another thread with
//! no subscriber could cache a callsite as disabled while this one's is being registered.

use alert_dispatcher::{publish_once, Deps, Dispatched, CLAIM_LEASE};
use chrono::Utc;
use dialtone_shared::heartbeat::enrich::DetailsEnricher;
use dialtone_shared::store::AlertLedger;
use dialtone_testkit::alerts::{callback_row, MemoryLedger, RecordingPublisher};
use dialtone_testkit::logs::Captured;

#[tokio::test]
async fn a_callers_number_in_an_alert_id_is_never_logged_in_full() {
    let captured = Captured::default();
    let writer = captured.clone();
    let _guard = tracing::subscriber::set_default(dialtone_shared::telemetry::subscriber(
        tracing_subscriber::EnvFilter::new("debug"),
        move || writer.clone(),
    ));
    let row = callback_row("+919812345601", Utc::now());
    let deps = Deps {
        ledger: MemoryLedger::default(),
        publisher: RecordingPublisher::default(),
        enricher: None::<DetailsEnricher>,
    };
    assert_eq!(
        publish_once(&deps, &row, Utc::now()).await.unwrap(),
        Dispatched::Published
    );
    // A failed publish and a second claimant log too.
    let failing = Deps {
        ledger: MemoryLedger::default(),
        publisher: RecordingPublisher {
            failing_severity: Some("warning"),
            ..RecordingPublisher::default()
        },
        enricher: None::<DetailsEnricher>,
    };
    let err = publish_once(&failing, &row, Utc::now()).await.unwrap_err();
    tracing::error!(error = %err, "as the stream logs it");
    let now = Utc::now();
    failing
        .ledger
        .claim(&row.alert_id, now, now + CLAIM_LEASE)
        .await
        .unwrap();
    assert_eq!(
        publish_once(&failing, &row, now).await.unwrap(),
        Dispatched::InFlight
    );

    let text = captured.text();
    assert!(text.contains("alert published"), "{text}");
    assert!(
        text.contains("+91********01"),
        "masked, still told apart: {text}"
    );
    assert!(
        !text.contains("9812345601"),
        "a caller's number was logged: {text}"
    );
}
