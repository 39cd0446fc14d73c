//! What a person reads of an alert: its subject (an email's, a Slack message's header) and
//! its plain text. The subject is the raising provider's to word (its `wording`
//! module): this asks it.

use crate::alert::{Alert, LineChange, Source};
use std::fmt::Write as _;

/// A one-line summary, fit for an email subject (SNS allows 100 characters).
pub fn subject(alert: &Alert) -> String {
    let label = alert.severity.as_str().to_uppercase();
    let worded = match alert.source {
        Source::ExotelHeartbeat => crate::heartbeat::wording::subject(alert, &label),
        Source::Telerivet => crate::telerivet::wording::subject(alert, &label),
        Source::Calls => crate::calls::wording::subject(alert, &label),
        Source::CallLog => crate::call_log::wording::subject(alert, &label),
    };
    // The pipeline's own alerts come from any provider's receiver.
    let text = worded
        .or_else(|| crate::pipeline::wording::subject(alert, &label))
        .unwrap_or_else(|| format!("[{label}] {}", alert.status));
    text.chars().take(100).collect()
}

/// The plain-text body a person reads in email.
pub fn text_body(alert: &Alert) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", subject(alert));
    let _ = writeln!(out);
    let _ = writeln!(out, "Status:     {}", alert.status);
    let _ = writeln!(out, "Severity:   {}", alert.severity.as_str());
    let _ = writeln!(out, "At:         {}", alert.occurred_at.to_rfc3339());
    if let Some(secs) = alert.outage_seconds {
        let _ = writeln!(out, "Outage:     {}", crate::alert::human_duration(secs));
    }
    if !alert.lines.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "Lines:");
        for line in &alert.lines {
            let change = match line.change {
                LineChange::NewlyAffected => "newly affected",
                LineChange::StillAffected => "still affected",
                LineChange::Recovered => "recovered",
            };
            let _ = write!(
                out,
                "  - {} {}: {change}",
                line.label(),
                line.direction.as_str()
            );
            if !line.alternate_exophones.is_empty() {
                let _ = write!(out, " (alternate: {})", line.alternate_exophones.join(", "));
            }
            if let Some(says) = line.exotel_says() {
                let _ = write!(out, "; Exotel: {says}");
            }
            let _ = writeln!(out);
        }
        if alert.lines_omitted > 0 {
            let _ = writeln!(out, "  …and {} more", alert.lines_omitted);
        }
    }
    if !alert.notes.is_empty() {
        let _ = writeln!(out);
        for note in &alert.notes {
            let _ = writeln!(out, "  {note}");
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "Alert key:  {}", alert.dedup_key);
    out
}

#[cfg(test)]
#[path = "notice_test.rs"]
mod tests;
