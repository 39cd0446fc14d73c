//! The call log's alerts: a day's answer rate below the threshold (with enough calls to
//! judge), and its recovery.

use super::metrics::Metrics;
use crate::alert::{Alert, AlertKind, DedupKey, Severity, Source};
use chrono::{DateTime, NaiveDate, Utc};

/// When a day's answer rate is worth an alert.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AnswerRatePolicy {
    pub below_percent: f64,
    pub min_calls: u64,
}

/// `at` makes the alert's id: the start of the day for the low-rate alert (one per day,
/// whichever run raises it), the moment of recovery for the recovery.
pub fn answer_rate_alert(
    kind: AlertKind,
    day: NaiveDate,
    at: DateTime<Utc>,
    metrics: &Metrics,
    policy: &AnswerRatePolicy,
) -> Alert {
    let rate = metrics.answer_rate().unwrap_or(0.0);
    Alert {
        dedup_key: DedupKey::scoped(Source::CallLog, &format!("answer-rate:{day}")),
        source: Source::CallLog,
        severity: if kind == AlertKind::AnswerRateLow {
            Severity::Warning
        } else {
            Severity::Info
        },
        kind,
        status: format!(
            "{rate:.1}% of {} calls answered on {day} (threshold {:.1}%)",
            metrics.total, policy.below_percent
        ),
        occurred_at: at,
        lines: Vec::new(),
        lines_omitted: 0,
        lines_affected: 0,
        outage_seconds: None,
        notes: vec![format!(
            "{} missed, {} busy, {} failed",
            metrics.missed, metrics.busy, metrics.failed
        )],
    }
}
