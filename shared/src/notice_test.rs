use super::*;
use crate::alert::{AlertKind, DedupKey, Severity};
use chrono::{TimeZone, Utc};

fn alert(source: Source, kind: AlertKind) -> Alert {
    Alert {
        dedup_key: DedupKey::fleet(source),
        source,
        kind,
        severity: Severity::Warning,
        status: "S".into(),
        occurred_at: Utc.with_ymd_and_hms(2026, 11, 22, 10, 2, 0).unwrap(),
        lines: Vec::new(),
        lines_omitted: 0,
        lines_affected: 2,
        outage_seconds: Some(250),
        notes: Vec::new(),
    }
}

/// Every kind as the source that raises it is worded by that provider (or, for the
/// pipeline's own, by the pipeline), exactly as before the words moved there.
#[test]
fn each_kind_is_worded_by_the_provider_that_raises_it() {
    use AlertKind::*;
    use Source::*;
    let cases = [
        (
            ExotelHeartbeat,
            FleetStatus,
            "[WARNING] ExoPhones S: 2 lines affected",
        ),
        (ExotelHeartbeat, LineAffected, "[WARNING] ExoPhone  failing"),
        (
            ExotelHeartbeat,
            LineRecovered,
            "[WARNING] ExoPhone  recovered",
        ),
        (
            ExotelHeartbeat,
            Resolved,
            "[RESOLVED] ExoPhones OK again after 4m 10s",
        ),
        (
            ExotelHeartbeat,
            PayloadTooLarge,
            "[WARNING] ExoPhone status unknown: heartbeat too large",
        ),
        (
            ExotelHeartbeat,
            Reminder,
            "[WARNING] ExoPhones still S: 2 lines affected",
        ),
        (
            ExotelHeartbeat,
            HeartbeatMissing,
            "[WARNING] Exotel heartbeat S: silent for 4m 10s",
        ),
        (
            ExotelHeartbeat,
            HeartbeatRecovered,
            "[RESOLVED] Exotel heartbeat back after 4m 10s of silence",
        ),
        (Telerivet, SmsFailures, "[WARNING] Telerivet: S"),
        (
            Telerivet,
            SmsGatewayNotSending,
            "[WARNING] SMS gateway not sending: S",
        ),
        (Telerivet, SmsGatewaySending, "[RESOLVED] SMS gateway: S"),
        (
            Telerivet,
            WebhookMisconfigured,
            "[WARNING] Telerivet webhook misconfigured: S",
        ),
        (Calls, CallbackOverdue, "[WARNING] Call back owed: S"),
        (CallLog, AnswerRateLow, "[WARNING] Answer rate low: S"),
        (
            CallLog,
            AnswerRateRecovered,
            "[RESOLVED] Answer rate recovered: S",
        ),
        (
            CallLog,
            WebhooksMissing,
            "[WARNING] Exotel call notifications missing: S",
        ),
        (Telerivet, EventUnstorable, "[WARNING] S"),
        (Calls, EventUnrecognised, "[WARNING] Unrecognised event: S"),
        (
            ExotelHeartbeat,
            EventUnrecognised,
            "[WARNING] Unrecognised event: S",
        ),
    ];
    for (source, kind, want) in cases {
        assert_eq!(subject(&alert(source, kind)), want, "{source:?} {kind:?}");
    }
}

#[test]
fn a_subject_is_cut_at_100_characters_and_opens_the_text() {
    let mut long = alert(Source::Telerivet, AlertKind::SmsFailures);
    long.status = "x".repeat(200);
    assert_eq!(subject(&long).chars().count(), 100);
    assert!(text_body(&long).starts_with(&subject(&long)));
}
