//! How fast each alert kind is raised at the template's defaults, worked out on a controlled
//! clock from the real decisions and checked against the README's table ("What dialtone
//! tells you, and how fast"): change a default or a schedule and this fails until the
//! table says the new figure.
//!
//! Each worst case is measured from the last moment dialtone could have seen all was well
//! (the last heartbeat, the missed call, the first stuck message): the decision's own
//! threshold, found by searching the clock second by second, plus the wait for the next run
//! of what decides (Exotel's next heartbeat, a watchdog's schedule) when the threshold is
//! crossed just after a run.

use chrono::{DateTime, Duration, TimeZone, Utc};
use dialtone_shared::alert::AlertKind;
use dialtone_shared::heartbeat::watchdog::{self, Silence, WatchdogPolicy, WatchdogState};
use dialtone_shared::heartbeat::{decide, AlertPolicy, Decision, Heartbeat, MonitorState};

const README: &str = include_str!("../../README.md");

fn template() -> serde_norway::Value {
    serde_norway::from_str(crate::TEMPLATE).expect("template.yaml parses")
}

/// A template parameter's default, as a number of seconds or a count.
fn default(name: &str) -> i64 {
    let value = &template()["Parameters"][name]["Default"];
    value
        .as_i64()
        .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or_else(|| panic!("parameter {name} has a numeric default"))
}

fn seconds(name: &str) -> Duration {
    Duration::seconds(default(name))
}

/// How often a scheduled function runs: its `rate(…)` in the template.
fn schedule(function: &str) -> Duration {
    let events = &template()["Resources"][function]["Properties"]["Events"];
    let rate = events
        .as_mapping()
        .and_then(|m| {
            m.values()
                .find_map(|e| e["Properties"]["Schedule"].as_str())
        })
        .unwrap_or_else(|| panic!("{function} has a schedule"));
    let inner = rate
        .strip_prefix("rate(")
        .and_then(|r| r.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{function}: {rate} is a rate"));
    let (n, unit) = inner.split_once(' ').expect("rate(N unit)");
    let n: i64 = n.parse().expect("a whole number");
    match unit.trim_end_matches('s') {
        "minute" => Duration::minutes(n),
        "hour" => Duration::hours(n),
        "day" => Duration::days(n),
        other => panic!("{function}: unit {other}"),
    }
}

/// The figure as the README writes it: `3 min`, `4 h 1 min`, `35 min`.
fn figure(d: Duration) -> String {
    let minutes = d.num_seconds().div_euclid(60) + i64::from(d.num_seconds() % 60 != 0);
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

/// The README table's row whose alert-kind cell names `kind` (and `qualifier`, when
/// given): its cells.
fn readme_row(kind: AlertKind, qualifier: Option<&str>) -> Vec<String> {
    let code = format!("`{}`", kind.as_str());
    let rows: Vec<Vec<String>> = README
        .lines()
        .skip_while(|l| !l.starts_with("## What dialtone tells you"))
        .skip(1)
        .take_while(|l| !l.starts_with("## "))
        .filter(|l| l.starts_with('|'))
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_owned())
                .collect()
        })
        .filter(|cells: &Vec<String>| {
            cells
                .get(1)
                .is_some_and(|c| c.contains(&code) && qualifier.is_none_or(|q| c.contains(q)))
        })
        .collect();
    assert_eq!(
        rows.len(),
        1,
        "README: one row of the alert table names {code} {qualifier:?}"
    );
    rows.into_iter().next().unwrap_or_default()
}

/// The README's worst case for `kind` starts with `expected`.
fn assert_readme_says(kind: AlertKind, qualifier: Option<&str>, expected: &str) {
    let row = readme_row(kind, qualifier);
    let worst = row.get(3).map(String::as_str).unwrap_or_default();
    assert!(
        worst.starts_with(expected),
        "README's worst case for {} {qualifier:?} is {worst:?}; at the defaults it is {expected:?}",
        kind.as_str()
    );
}

/// The first second from `from` (within a day) at which `raised` holds, which must not
/// hold at `from`: the decision's threshold on a controlled clock.
fn first_second(from: DateTime<Utc>, raised: impl Fn(DateTime<Utc>) -> bool) -> Duration {
    assert!(!raised(from), "raised at once");
    let (mut lo, mut hi) = (0_i64, 86_400_i64);
    assert!(
        raised(from + Duration::seconds(hi)),
        "never raised within a day"
    );
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if raised(from + Duration::seconds(mid)) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Duration::seconds(hi)
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap()
}

fn heartbeat(at: DateTime<Utc>, status: &str, incoming: &[&str]) -> Heartbeat {
    let data: serde_json::Map<String, serde_json::Value> = incoming
        .iter()
        .map(|sid| {
            (
                sid.to_string(),
                serde_json::json!({"phone_number": format!("+91{sid}")}),
            )
        })
        .collect();
    let body = serde_json::json!({
        "timestamp": at.to_rfc3339(),
        "status_type": status,
        "incoming_affected": if incoming.is_empty() { serde_json::Value::Null } else { serde_json::json!(incoming) },
        "outgoing_affected": null,
        "data": data,
    });
    Heartbeat::parse(body.to_string().as_bytes()).expect("a valid heartbeat")
}

fn advance(prev: Option<&MonitorState>, hb: &Heartbeat) -> (MonitorState, Vec<AlertKind>) {
    let policy = AlertPolicy {
        repeat_interval: seconds("AlertRepeatSeconds"),
    };
    match decide(prev, hb, &policy) {
        Decision::Advance { state, alerts } => (state, alerts.iter().map(|a| a.kind).collect()),
        other => panic!("expected the heartbeat to advance, got {other:?}"),
    }
}

/// A change Exotel reports is alerted by the first heartbeat that carries it: at worst one
/// interval after the last heartbeat that did not (the change came just after it).
#[test]
fn a_change_exotel_reports_is_raised_by_its_first_heartbeat() {
    let interval = seconds("HeartbeatIntervalSeconds");
    let (ok, _) = advance(None, &heartbeat(t0(), "OK", &[]));
    let next = t0() + interval;
    let (warning, kinds) = advance(Some(&ok), &heartbeat(next, "WARNING", &["0793001"]));
    assert_eq!(kinds, [AlertKind::FleetStatus]);
    assert_readme_says(AlertKind::FleetStatus, None, &figure(interval));

    let later = next + interval;
    let (_, kinds) = advance(
        Some(&warning),
        &heartbeat(later, "WARNING", &["0793001", "0793002"]),
    );
    assert_eq!(kinds, [AlertKind::LineAffected]);
    assert_readme_says(AlertKind::LineAffected, None, &figure(interval));

    let (_, kinds) = advance(Some(&ok), &heartbeat(next, "PAYLOAD_TOO_LARGE", &[]));
    assert_eq!(kinds, [AlertKind::PayloadTooLarge]);
    assert_readme_says(AlertKind::PayloadTooLarge, None, &figure(interval));
}

/// An outage that stays is announced again at the first heartbeat past the repeat
/// interval: at worst a heartbeat's interval after it.
#[test]
fn an_unchanged_outage_is_repeated_after_the_repeat_interval() {
    let interval = seconds("HeartbeatIntervalSeconds");
    let (ok, _) = advance(None, &heartbeat(t0() - interval, "OK", &[]));
    let (warning, kinds) = advance(Some(&ok), &heartbeat(t0(), "WARNING", &["0793001"]));
    assert_eq!(kinds, [AlertKind::FleetStatus]);
    let repeat = first_second(t0() + Duration::seconds(1), |at| {
        advance(Some(&warning), &heartbeat(at, "WARNING", &["0793001"]))
            .1
            .contains(&AlertKind::Reminder)
    }) + Duration::seconds(1);
    assert_eq!(repeat, seconds("AlertRepeatSeconds"));
    assert_readme_says(AlertKind::Reminder, None, &figure(repeat + interval));
}

/// Silence: the watchdog's threshold after the last heartbeat, plus one of its periods
/// (the run just before the threshold saw nothing).
#[test]
fn a_silent_exotel_is_late_then_down_within_the_watchdogs_period() {
    let policy = WatchdogPolicy {
        interval: seconds("HeartbeatIntervalSeconds"),
        grace: seconds("HeartbeatGraceSeconds"),
    };
    let period = schedule("HeartbeatWatchdogFunction");
    let last = t0();
    let silence_at = |state: &WatchdogState, now| {
        watchdog::check(state, Some(last), now, &policy).map(|(next, _)| next.silence)
    };
    let heard = WatchdogState::default();
    let late = first_second(last, |now| silence_at(&heard, now).is_some());
    assert_eq!(silence_at(&heard, last + late), Some(Silence::Late));
    assert_readme_says(
        AlertKind::HeartbeatMissing,
        Some("LATE"),
        &figure(late + period),
    );

    let was_late = WatchdogState {
        silence: Silence::Late,
        last_heard: Some(last),
    };
    let down = first_second(last, |now| {
        silence_at(&was_late, now) == Some(Silence::Down)
    });
    assert_readme_says(
        AlertKind::HeartbeatMissing,
        Some("DOWN"),
        &figure(down + period),
    );
    // The promise: a silent Exotel (a heartbeat a minute) is caught within about
    // three minutes.
    assert!(
        late + period <= Duration::minutes(3),
        "LATE at {late} + {period}"
    );

    // Back: the first heartbeat after the silence recovers it, at once.
    let back = watchdog::heard(&was_late, last + down).map(|(_, a)| a.kind);
    assert_eq!(back, Some(AlertKind::HeartbeatRecovered));
    assert_readme_says(AlertKind::HeartbeatRecovered, None, "at once");
}

/// A missed caller not called back: the deadline after the miss, plus the watchdog's
/// period.
#[test]
fn an_owed_callback_is_overdue_within_the_watchdogs_period() {
    use dialtone_shared::calls::{CallbackState, MissedCall, Provider};
    let deadline = seconds("CallbackDeadlineSeconds");
    let period = schedule("CallbackWatchdogFunction");
    let customer = dialtone_shared::phone::E164::parse("+919876543210").expect("an E.164 number");
    let callback = CallbackState {
        customer,
        first_missed_at: t0(),
        missed: vec![MissedCall {
            provider: Provider::Voipstudio,
            call_id: "call-1".into(),
            at: t0(),
            line: None,
            queue_abandoned: false,
        }],
        closed_at: None,
        closed_by: None,
        waited_seconds: None,
        alerted_at: None,
        withdrawn: false,
    };
    let overdue = first_second(t0(), |now| {
        dialtone_shared::calls::overdue(&callback, now, deadline, chrono_tz::UTC).is_some()
    });
    // Strictly past the deadline: a second after it, on this clock.
    assert_eq!(overdue, deadline + Duration::seconds(1));
    assert_readme_says(AlertKind::CallbackOverdue, None, &figure(deadline + period));
}

/// The call log's answer rate is judged at each aggregator run, over the calls Exotel
/// lists: at worst one period after Exotel lists them.
#[test]
fn the_answer_rate_is_judged_every_aggregator_run() {
    let period = schedule("CallLogAggregatorFunction");
    assert_readme_says(AlertKind::AnswerRateLow, None, &figure(period));
}

/// Calls without a notification: a day is compared once a finished read reaches its end
/// plus the lag, so at worst one aggregator period after that.
#[test]
fn missing_webhooks_are_reported_a_lag_after_the_day() {
    use dialtone_shared::call_log::missing_webhooks::days_to_compare;
    let lag = seconds("MissingWebhookLagSeconds");
    let period = schedule("CallLogAggregatorFunction");
    let day = t0().date_naive();
    let day_end = (day + Duration::days(1))
        .and_hms_opt(0, 0, 0)
        .expect("midnight");
    let since = (day - Duration::days(1)).and_hms_opt(0, 0, 0);
    let compared = first_second(day_end.and_utc(), |read_through| {
        days_to_compare(None, since, Some(read_through.naive_utc()), lag).contains(&day)
    });
    assert_eq!(compared, lag);
    assert_readme_says(AlertKind::WebhooksMissing, None, &figure(lag + period));
}

/// What a receiver decides in the request itself is raised at once.
#[test]
fn what_a_request_decides_is_raised_at_once() {
    assert_readme_says(AlertKind::EventUnstorable, None, "at once");
}

/// Counted alerts are raised by the event that reaches the count within one window.
#[test]
fn counted_alerts_name_their_count_and_window() {
    let auth = default("AuthFailureThreshold");
    let window = seconds("AuthFailureWindowSeconds");
    assert_readme_says(
        AlertKind::WebhookMisconfigured,
        None,
        &format!(
            "at the {} within one {} window",
            ordinal(auth),
            figure(window)
        ),
    );
}

/// SMS failures: the count that raises the alert in one window, or the share of the
/// window's sends with its minimum, found by asking the threshold's own rule.
#[test]
fn sms_failures_are_raised_by_a_burst_or_by_their_share_of_the_sends() {
    use dialtone_shared::pipeline::{Ratio, Threshold, ThresholdContext};
    use dialtone_shared::store::{CounterBump, CounterKey};
    let window = seconds("SmsFailureWindowSeconds");
    let key = |sends: bool| {
        let (project, window) = ("PJ1".to_owned(), t0());
        if sends {
            CounterKey::SmsSends { project, window }
        } else {
            CounterKey::SmsFailures { project, window }
        }
    };
    let threshold = Threshold {
        bump: CounterBump::new(key(false), 2),
        at_least: default("SmsFailureThreshold"),
        ratio: Some(Ratio {
            of: key(true),
            part: "failed",
            window_start: t0(),
            at_least: default("SmsFailureRatioMinFailures"),
            above_percent: default("SmsFailureRatioPercent"),
        }),
        alert: dialtone_shared::telerivet::alerts::sms_failures,
        context: ThresholdContext {
            scope: "PJ1".into(),
            window_start: t0(),
            window_minutes: window.num_minutes(),
            of: None,
        },
    };
    // A large sender: only the burst raises it.
    let burst = (1..).find(|n| threshold.reached(*n)).unwrap_or(0);
    // A small one (every message it sent failed): the ratio's minimum.
    let ratio = threshold.ratio.as_ref().expect("a ratio");
    let share = (1..).find(|n| ratio.reached(*n, *n)).unwrap_or(0);
    assert_readme_says(
        AlertKind::SmsFailures,
        None,
        &format!(
            "at the {} failure within one {} window, or the {} failure among one window's sends when over {} % of them",
            ordinal(burst),
            figure(window),
            ordinal(share),
            default("SmsFailureRatioPercent")
        ),
    );
}

/// A phone not sending: its first stuck message's threshold, plus the watchdog's period.
#[test]
fn a_phone_not_sending_is_raised_within_the_watchdogs_period() {
    use dialtone_shared::telerivet::gateway::{is_not_sending, stuck_phones, StuckPolicy};
    use dialtone_shared::telerivet::MessageState;
    let policy = StuckPolicy {
        after: seconds("SmsStuckSeconds"),
        at_least: usize::try_from(default("SmsStuckMinMessages")).unwrap_or(1),
    };
    let period = schedule("SmsWatchdogFunction");
    let queued = (0..policy.at_least)
        .map(|i| {
            let message = MessageState {
                status: "queued".into(),
                error_message: None,
                statuses_seen: vec!["queued".into()],
                project_id: None,
                updated_at: t0(),
                failed_at: None,
                phone_id: Some("PN1".into()),
                queued_at: Some(t0()),
                moved_at: None,
                clicked_at: None,
            };
            (format!("SM{i}"), message)
        })
        .collect::<Vec<_>>();
    let stuck = first_second(t0(), |now| {
        stuck_phones(&queued, now, &policy)
            .values()
            .any(|phone| is_not_sending(phone, None, now, &policy))
    });
    // Strictly past the threshold: a second after it, on this clock.
    assert_eq!(stuck, policy.after + Duration::seconds(1));
    assert_readme_says(
        AlertKind::SmsGatewayNotSending,
        None,
        &figure(policy.after + period),
    );
}

/// Every kind has its row, and the row a worst case.
#[test]
fn every_alert_kind_has_a_row_with_its_worst_case() {
    use AlertKind::*;
    let kinds = [
        FleetStatus,
        LineAffected,
        LineRecovered,
        Resolved,
        PayloadTooLarge,
        Reminder,
        SmsFailures,
        SmsGatewayNotSending,
        SmsGatewaySending,
        WebhookMisconfigured,
        CallbackOverdue,
        HeartbeatMissing,
        HeartbeatRecovered,
        AnswerRateLow,
        AnswerRateRecovered,
        WebhooksMissing,
        EventUnstorable,
        EventUnrecognised,
    ];
    for kind in kinds {
        // Exhaustive: a new kind does not compile here until it is listed above.
        let qualifier = match kind {
            HeartbeatMissing => Some("LATE"),
            FleetStatus | LineAffected | LineRecovered | Resolved | PayloadTooLarge | Reminder
            | SmsFailures | SmsGatewayNotSending | SmsGatewaySending | WebhookMisconfigured
            | CallbackOverdue | HeartbeatRecovered | AnswerRateLow | AnswerRateRecovered
            | WebhooksMissing | EventUnstorable | EventUnrecognised => None,
        };
        let row = readme_row(kind, qualifier);
        assert!(
            row.get(3).is_some_and(|w| !w.is_empty()),
            "{}: a worst case",
            kind.as_str()
        );
    }
}

fn ordinal(n: i64) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}
