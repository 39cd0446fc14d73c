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
            of: Some(20),
            ..ctx()
        },
    );
    assert_eq!(
        alert.status,
        "6 of 20 SMS failed (30%) in project PJ1 since 10:00 UTC (15 min window)"
    );
    // The same window's alert, whichever rule raised it.
    assert_eq!(alert.id(), sms_failures(&counts, &ctx()).id());
}

#[test]
fn failures_raise_the_alert_past_the_count_or_past_the_share_of_sends() {
    use crate::pipeline::{Ratio, Threshold};
    use crate::store::{CounterBump, CounterKey};
    let window = ctx().window_start;
    let threshold = Threshold {
        bump: CounterBump::new(
            CounterKey::SmsFailures {
                project: "PJ1".into(),
                window,
            },
            2,
        ),
        at_least: 10,
        ratio: Some(Ratio {
            of: CounterKey::SmsSends {
                project: "PJ1".into(),
                window,
            },
            at_least: 5,
            above_percent: 20,
        }),
        alert: sms_failures,
        context: ctx(),
    };
    // The burst alone, whatever the sends.
    assert!(threshold.reached(10, None));
    assert!(threshold.reached(10, Some(1_000)));
    // 6 of 20 is 30 %: raised; 5 of 25 is exactly 20 %: not; 4 of 4 is under the minimum.
    assert!(threshold.reached(6, Some(20)));
    assert!(!threshold.reached(5, Some(25)));
    assert!(threshold.reached(5, Some(24)));
    assert!(!threshold.reached(4, Some(4)));
    // A failure whose send was counted in an earlier window: the share is over 100 %.
    assert!(threshold.reached(5, Some(0)));
    assert!(
        !threshold.reached(9, None),
        "without the sends, only the count"
    );
}
