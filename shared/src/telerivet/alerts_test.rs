use super::*;

fn ctx() -> ThresholdContext {
    ThresholdContext {
        scope: "PJ1".into(),
        window_start: "2026-11-01T10:00:00Z".parse().unwrap(),
        window_minutes: 15,
        of: None,
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

#[test]
fn a_ratio_alert_says_how_many_of_the_windows_sends_failed() {
    let counts = BTreeMap::from([("total".to_owned(), 6), ("err:Timeout".to_owned(), 6)]);
    let alert = sms_failures(
        &counts,
        &ThresholdContext {
            of: Some((6, 20)),
            ..ctx()
        },
    );
    assert_eq!(
        alert.status,
        "6 of the 20 SMS sent in project PJ1 since 10:00 UTC (15 min window) failed (30%)"
    );
    assert_eq!(alert.kind, AlertKind::SmsFailures);
    assert_eq!(alert.notes, ["6 × Timeout"]);
}

#[test]
fn a_ratio_is_past_its_minimum_and_strictly_over_its_share() {
    use crate::pipeline::Ratio;
    use crate::store::CounterKey;
    let window = ctx().window_start;
    let ratio = Ratio {
        of: CounterKey::SmsSends {
            project: "PJ1".into(),
            window,
        },
        part: "failed",
        window_start: window,
        at_least: 5,
        above_percent: 20,
    };
    // 6 of 20 is 30 %: raised; 5 of 25 is exactly 20 %: not; 5 of 24 is: raised.
    assert!(ratio.reached(6, 20));
    assert!(!ratio.reached(5, 25));
    assert!(ratio.reached(5, 24));
    // Under the minimum, whatever the share.
    assert!(!ratio.reached(4, 4));
    // A large sender's few failures.
    assert!(!ratio.reached(9, 1_000));
}
