//! How the pipeline's own alerts are worded: their subjects. `label` is the severity as the
//! subject shows it.

use crate::alert::{Alert, AlertKind};

/// The subject of the pipeline's own alerts, whichever provider's receiver raised them;
/// `None` for any other kind.
pub fn subject(alert: &Alert, label: &str) -> Option<String> {
    match alert.kind {
        AlertKind::EventUnstorable => Some(format!("[{label}] {}", alert.status)),
        AlertKind::EventUnrecognised => {
            Some(format!("[{label}] Unrecognised event: {}", alert.status))
        }
        _ => None,
    }
}
