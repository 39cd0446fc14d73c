//! What the dispatcher logs, read from a subscriber of this test's own. In a test binary of
//! its own: tracing's callsite interest cache is global, and a test on another thread with
//! no subscriber could cache a callsite as disabled while this one's is being registered.

use alert_dispatcher::{publish_once, Deps, Dispatched, CLAIM_LEASE};
use chrono::{DateTime, Utc};
use dialtone_shared::alert::{Alert, AlertKind, DedupKey, Severity, Source};
use dialtone_shared::publish::{AlertPublisher, PublishError};
use dialtone_shared::store::{AlertLedger, AlertRow, Claim, StoreError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Claims in memory; a published alert is never claimed again.
#[derive(Default)]
struct Ledger(Mutex<HashMap<String, Option<DateTime<Utc>>>>);

impl AlertLedger for Ledger {
    async fn claim(
        &self,
        alert_id: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Claim, StoreError> {
        let mut claims = self.0.lock().unwrap();
        match claims.get(alert_id) {
            Some(None) => Ok(Claim::Published),
            Some(Some(held)) if *held >= now => Ok(Claim::InFlight),
            _ => {
                claims.insert(alert_id.to_owned(), Some(until));
                Ok(Claim::Claimed)
            }
        }
    }
    async fn release_claim(&self, alert_id: &str, _until: DateTime<Utc>) -> Result<(), StoreError> {
        self.0.lock().unwrap().remove(alert_id);
        Ok(())
    }
    async fn mark_published(
        &self,
        alert_id: &str,
        _at: DateTime<Utc>,
        _as_sent: Option<&Alert>,
    ) -> Result<(), StoreError> {
        self.0.lock().unwrap().insert(alert_id.to_owned(), None);
        Ok(())
    }
    async fn unpublished(
        &self,
        _since: DateTime<Utc>,
        _stored_by: DateTime<Utc>,
    ) -> Result<Vec<AlertRow>, StoreError> {
        Ok(Vec::new())
    }
}

/// Publishes, or refuses everything when `failing`.
struct Publisher {
    failing: bool,
}

impl AlertPublisher for Publisher {
    async fn publish(&self, _alert: &Alert) -> Result<String, PublishError> {
        if self.failing {
            return Err(PublishError::Sns("throttled".into()));
        }
        Ok("msg-1".into())
    }
}

/// A callback alert: its id carries the caller's number.
fn row(caller: &str) -> AlertRow {
    let alert = Alert {
        dedup_key: DedupKey::scoped(Source::Calls, &format!("callback:{caller}")),
        source: Source::Calls,
        kind: AlertKind::CallbackOverdue,
        severity: Severity::Warning,
        status: "OVERDUE".into(),
        occurred_at: Utc::now(),
        lines: Vec::new(),
        lines_omitted: 0,
        lines_affected: 0,
        outage_seconds: None,
        notes: Vec::new(),
    };
    AlertRow {
        pk: format!("ALERT#{}", alert.id()),
        sk: "ALERT".into(),
        entity: "alert".into(),
        alert_id: alert.id(),
        alert,
        published_at: None,
        stored_at: Some(Utc::now()),
    }
}

/// Collects what the subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_callers_number_in_an_alert_id_is_never_logged_in_full() {
    let captured = Captured::default();
    let writer = captured.clone();
    let _guard = tracing::subscriber::set_default(dialtone_shared::telemetry::subscriber(
        tracing_subscriber::EnvFilter::new("debug"),
        move || writer.clone(),
    ));
    let row = row("+919812345601");
    let deps = Deps {
        ledger: Ledger::default(),
        publisher: Publisher { failing: false },
        enricher: (),
    };
    assert_eq!(
        publish_once(&deps, &row, Utc::now()).await.unwrap(),
        Dispatched::Published
    );
    // A failed publish and a second claimant log too.
    let failing = Deps {
        ledger: Ledger::default(),
        publisher: Publisher { failing: true },
        enricher: (),
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

    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
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
