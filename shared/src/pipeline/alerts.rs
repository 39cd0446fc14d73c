//! The pipeline's own alerts, the same for every provider: an event it could not store,
//! and the first event of a kind the receiver does not know.

use crate::alert::{Alert, AlertKind, DedupKey, Severity, Source};
use chrono::{DateTime, DurationRound, TimeDelta, Utc};

/// An event answered 200 but not applied. One alert per receiver and hour at most: a
/// provider sending such events on its cadence tells a person once, not every minute.
pub fn unstorable(source: Source, receiver: &str, cause: &str, at: DateTime<Utc>) -> Alert {
    let hour = at.duration_trunc(TimeDelta::hours(1)).unwrap_or(at);
    about_an_event(
        DedupKey::scoped(source, &format!("unstorable:{receiver}")),
        source,
        (AlertKind::EventUnstorable, Severity::Critical),
        format!("{receiver} event not applied"),
        hour,
        vec![
            format!("cause: {cause}"),
            format!(
                "first at {}; its body is kept in quarantine",
                at.to_rfc3339()
            ),
            "the provider was answered 200: a retry could not store it either".into(),
        ],
    )
}

/// The first event of a kind the receiver does not know: stored whole, nothing changed.
pub fn unrecognised(source: Source, receiver: &str, kind: &str, at: DateTime<Utc>) -> Alert {
    about_an_event(
        DedupKey::scoped(source, &format!("unrecognised:{receiver}:{kind}")),
        source,
        (AlertKind::EventUnrecognised, Severity::Warning),
        format!("{receiver} sent {kind:?}"),
        at,
        vec![
            format!("{receiver} sent an event of kind {kind:?}, which dialtone does not know yet"),
            "it was stored whole and answered 200; it changed no state".into(),
            "this alert is raised once per new kind".into(),
        ],
    )
}

/// An alert about one event, not about lines.
fn about_an_event(
    dedup_key: DedupKey,
    source: Source,
    (kind, severity): (AlertKind, Severity),
    status: String,
    occurred_at: DateTime<Utc>,
    notes: Vec<String>,
) -> Alert {
    Alert {
        dedup_key,
        source,
        kind,
        severity,
        status,
        occurred_at,
        lines: Vec::new(),
        lines_omitted: 0,
        lines_affected: 0,
        outage_seconds: None,
        notes,
    }
}
