//! How the calls' alerts are worded: their subjects. `label` is the severity as the
//! subject shows it.

use crate::alert::{Alert, AlertKind};

/// The subject of the calls' alert (a callback overdue); `None` for any other kind.
pub fn subject(alert: &Alert, label: &str) -> Option<String> {
    (alert.kind == AlertKind::CallbackOverdue)
        .then(|| format!("[{label}] Call back owed: {}", alert.status))
}
