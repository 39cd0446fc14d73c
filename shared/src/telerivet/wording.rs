//! How Telerivet's alerts are worded: their subjects. `label` is the severity as the
//! subject shows it.

use crate::alert::{Alert, AlertKind};

/// The subject of a Telerivet alert; `None` for a kind Telerivet traffic does not raise.
pub fn subject(alert: &Alert, label: &str) -> Option<String> {
    match alert.kind {
        AlertKind::SmsFailures => Some(format!("[{label}] Telerivet: {}", alert.status)),
        AlertKind::SmsGatewayNotSending => Some(format!(
            "[{label}] SMS gateway not sending: {}",
            alert.status
        )),
        AlertKind::SmsGatewaySending => Some(format!("[RESOLVED] SMS gateway: {}", alert.status)),
        AlertKind::WebhookMisconfigured => Some(format!(
            "[{label}] Telerivet webhook misconfigured: {}",
            alert.status
        )),
        _ => None,
    }
}
