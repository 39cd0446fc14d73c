//! How the heartbeat's alerts (the monitor's and the watchdog's) are worded: their
//! subjects. `label` is the severity as the subject shows it.

use crate::alert::{human_duration, Alert, AlertKind};

/// The subject of a heartbeat alert; `None` for a kind the heartbeat does not raise.
pub fn subject(alert: &Alert, label: &str) -> Option<String> {
    let affected = match alert.lines_affected {
        1 => "1 line affected".to_owned(),
        n => format!("{n} lines affected"),
    };
    let outage = || human_duration(alert.outage_seconds.unwrap_or(0));
    Some(match alert.kind {
        AlertKind::FleetStatus => format!("[{label}] ExoPhones {}: {affected}", alert.status),
        AlertKind::LineAffected => format!("[{label}] ExoPhone {} failing", first_line(alert)),
        AlertKind::LineRecovered => format!("[{label}] ExoPhone {} recovered", first_line(alert)),
        AlertKind::Resolved => format!("[RESOLVED] ExoPhones OK again after {}", outage()),
        AlertKind::PayloadTooLarge => {
            format!("[{label}] ExoPhone status unknown: heartbeat too large")
        }
        AlertKind::Reminder => format!("[{label}] ExoPhones still {}: {affected}", alert.status),
        AlertKind::HeartbeatMissing => format!(
            "[{label}] Exotel heartbeat {}: silent for {}",
            alert.status,
            outage()
        ),
        AlertKind::HeartbeatRecovered => {
            format!(
                "[RESOLVED] Exotel heartbeat back after {} of silence",
                outage()
            )
        }
        _ => return None,
    })
}

fn first_line(alert: &Alert) -> String {
    alert
        .lines
        .first()
        .map(|l| format!("{} {}", l.label(), l.direction.as_str()))
        .unwrap_or_default()
}
