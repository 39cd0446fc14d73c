//! The alert dispatcher's ports in memory, for its tests: a ledger that keeps the claim
//! rules the DynamoDB one keeps, a publisher that records what it sends, and a row to
//! publish.

use chrono::{DateTime, Utc};
use dialtone_shared::alert::{Alert, AlertKind, DedupKey, Severity, Source};
use dialtone_shared::publish::{AlertPublisher, PublishError};
use dialtone_shared::store::{AlertLedger, AlertRow, Claim, StoreError};
use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The ledger's rules in memory: a published alert is never claimed again, a claim holds
/// until its end, and only its own holder releases it.
#[derive(Default)]
pub struct MemoryLedger {
    /// Ids published.
    pub published: Mutex<HashSet<String>>,
    /// Claims held, with their end.
    pub claims: Mutex<HashMap<String, DateTime<Utc>>>,
    /// The rows the sweep finds.
    pub rows: Mutex<Vec<AlertRow>>,
    /// The alerts stored back as sent, by id.
    pub as_sent: Mutex<HashMap<String, Alert>>,
}

impl AlertLedger for MemoryLedger {
    async fn claim(
        &self,
        alert_id: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Claim, StoreError> {
        if lock(&self.published).contains(alert_id) {
            return Ok(Claim::Published);
        }
        let mut claims = lock(&self.claims);
        if claims.get(alert_id).is_some_and(|held| *held >= now) {
            return Ok(Claim::InFlight);
        }
        claims.insert(alert_id.to_owned(), until);
        Ok(Claim::Claimed)
    }

    async fn release_claim(&self, alert_id: &str, until: DateTime<Utc>) -> Result<(), StoreError> {
        let mut claims = lock(&self.claims);
        if claims.get(alert_id) == Some(&until) {
            claims.remove(alert_id);
        }
        Ok(())
    }

    async fn mark_published(
        &self,
        alert_id: &str,
        _at: DateTime<Utc>,
        as_sent: Option<&Alert>,
    ) -> Result<(), StoreError> {
        if let Some(alert) = as_sent {
            lock(&self.as_sent).insert(alert_id.to_owned(), alert.clone());
        }
        lock(&self.claims).remove(alert_id);
        lock(&self.published).insert(alert_id.to_owned());
        Ok(())
    }

    async fn unpublished(
        &self,
        since: DateTime<Utc>,
        stored_by: DateTime<Utc>,
    ) -> Result<Vec<AlertRow>, StoreError> {
        let published = lock(&self.published).clone();
        Ok(lock(&self.rows)
            .iter()
            .filter(|r| {
                !published.contains(&r.alert_id)
                    && r.alert.occurred_at >= since
                    && r.stored_at.unwrap_or(r.alert.occurred_at) <= stored_by
            })
            .cloned()
            .collect())
    }
}

/// Records what it publishes; refuses alerts of the `failing_severity` (`"warning"`, …).
#[derive(Default)]
pub struct RecordingPublisher {
    pub sent: Mutex<Vec<Alert>>,
    pub failing_severity: Option<&'static str>,
}

impl AlertPublisher for RecordingPublisher {
    async fn publish(&self, alert: &Alert) -> Result<String, PublishError> {
        if self.failing_severity == Some(alert.severity.as_str()) {
            return Err(PublishError::Sns("throttled".into()));
        }
        let mut sent = lock(&self.sent);
        sent.push(alert.clone());
        Ok(format!("msg-{}", sent.len()))
    }
}

/// An overdue-callback alert about a caller (a warning whose id carries the number),
/// stored at `stored`.
pub fn callback_row(caller: &str, stored: DateTime<Utc>) -> AlertRow {
    let alert = Alert {
        dedup_key: DedupKey::scoped(Source::Calls, &format!("callback:{caller}")),
        source: Source::Calls,
        kind: AlertKind::CallbackOverdue,
        severity: Severity::Warning,
        status: "OVERDUE".into(),
        occurred_at: stored,
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
        stored_at: Some(stored),
    }
}
