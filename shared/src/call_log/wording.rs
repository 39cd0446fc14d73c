//! How the call log's alerts are worded: their subjects. `label` is the severity as the
//! subject shows it.

use crate::alert::{Alert, AlertKind};

/// The subject of a call-log alert; `None` for a kind the call log does not raise.
pub fn subject(alert: &Alert, label: &str) -> Option<String> {
    match alert.kind {
        AlertKind::AnswerRateLow => Some(format!("[{label}] Answer rate low: {}", alert.status)),
        AlertKind::AnswerRateRecovered => Some(format!(
            "[RESOLVED] Answer rate recovered: {}",
            alert.status
        )),
        AlertKind::WebhooksMissing => Some(format!(
            "[{label}] Exotel call notifications missing: {}",
            alert.status
        )),
        _ => None,
    }
}
