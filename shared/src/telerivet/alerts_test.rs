use super::*;

fn ctx() -> ThresholdContext {
    ThresholdContext {
        scope: "PJ1".into(),
        window_start: "2026-11-01T10:00:00Z".parse().unwrap(),
        window_minutes: 15,
    }
}

#[test]
fn sms_failure_alert_names_the_count_and_the_commonest_errors() {
    let mut counts = BTreeMap::from([("total".to_owned(), 50)]);
    for (i, n) in [30, 12, 4, 2, 1, 1].iter().enumerate() {
        counts.insert(format!("err:Error {i}"), *n);
    }
    let alert = sms_failures(&counts, &ctx());
    assert_eq!(
        alert.status,
        "50 SMS failed in project PJ1 since 10:00 UTC (15 min window)"
    );
    assert_eq!(alert.notes[0], "30 × Error 0");
    assert_eq!(alert.notes[1], "12 × Error 1");
    assert_eq!(alert.notes.len(), 6);
    assert_eq!(alert.notes[5], "…and 1 other error messages");
    assert_eq!(
        alert.id(),
        "telerivet:sms-failures:PJ1@sms_failures@2026-11-01T10:00:00+00:00"
    );
    assert_eq!(
        crate::notice::subject(&alert),
        "[WARNING] Telerivet: 50 SMS failed in project PJ1 since 10:00 UTC (15 min window)"
    );
}

#[test]
fn misconfiguration_alert_tells_wrong_from_empty_secrets() {
    let counts = BTreeMap::from([
        ("total".to_owned(), 7),
        ("wrong_secret".to_owned(), 5),
        ("empty_secret".to_owned(), 2),
    ]);
    let alert = webhook_misconfigured(&counts, &ctx());
    assert_eq!(alert.kind, AlertKind::WebhookMisconfigured);
    assert!(alert.notes[0].starts_with("5 with a wrong"));
    assert!(alert.notes[1].starts_with("2 status notifications"));
}
