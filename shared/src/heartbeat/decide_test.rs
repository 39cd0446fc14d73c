use super::*;

fn hb(ts: &str, status: &str, incoming: &[&str], outgoing: &[&str]) -> Heartbeat {
    let list = |l: &[&str]| {
        if l.is_empty() {
            "null".to_owned()
        } else {
            serde_json::to_string(l).unwrap()
        }
    };
    let data: serde_json::Map<String, serde_json::Value> = incoming
        .iter()
        .chain(outgoing)
        .map(|s| {
            (
                s.to_string(),
                serde_json::json!({"phone_number": format!("+91{s}")}),
            )
        })
        .collect();
    let body = format!(
        r#"{{"timestamp":"{ts}","status_type":"{status}","incoming_affected":{},"outgoing_affected":{},"data":{}}}"#,
        list(incoming),
        list(outgoing),
        serde_json::Value::Object(data)
    );
    Heartbeat::parse(body.as_bytes()).unwrap()
}

fn advance(prev: Option<&MonitorState>, h: &Heartbeat) -> (MonitorState, Vec<Alert>) {
    match decide(prev, h, &AlertPolicy::default()) {
        Decision::Advance { state, alerts } => (state, alerts),
        other => panic!("expected advance, got {other:?}"),
    }
}

fn kinds(alerts: &[Alert]) -> Vec<(AlertKind, Severity, &str)> {
    alerts
        .iter()
        .map(|a| (a.kind, a.severity, a.dedup_key.as_str()))
        .collect()
}

fn changes(alert: &Alert) -> Vec<(String, Direction, LineChange)> {
    alert
        .lines
        .iter()
        .map(|l| (l.sid.to_string(), l.direction, l.change))
        .collect()
}

const T0: &str = "2026-11-22T10:00:00Z";
const T1: &str = "2026-11-22T10:01:00Z";
const T2: &str = "2026-11-22T10:02:00Z";
const T3: &str = "2026-11-22T10:03:00Z";

#[test]
fn first_ok_heartbeat_is_silent() {
    let (state, alerts) = advance(None, &hb(T0, "OK", &[], &[]));
    assert!(alerts.is_empty());
    assert_eq!(state.status, HeartbeatStatus::Ok);
    assert_eq!(state.outage_started_at, None);
}

#[test]
fn ok_to_warning_raises_one_fleet_alert_naming_the_lines() {
    let (s0, _) = advance(None, &hb(T0, "OK", &[], &[]));
    let (s1, alerts) = advance(Some(&s0), &hb(T1, "WARNING", &["07930061010"], &[]));
    assert_eq!(
        kinds(&alerts),
        vec![(
            AlertKind::FleetStatus,
            Severity::Warning,
            "exotel-heartbeat:fleet"
        )]
    );
    assert_eq!(
        changes(&alerts[0]),
        vec![(
            "07930061010".into(),
            Direction::Incoming,
            LineChange::NewlyAffected
        )]
    );
    assert_eq!(
        alerts[0].lines[0].phone_number.as_ref().unwrap().as_str(),
        "+9107930061010"
    );
    assert_eq!(s1.outage_started_at, Some(hb(T1, "OK", &[], &[]).at_utc()));
    assert_eq!(s1.last_notified_at, s1.outage_started_at);
}

#[test]
fn warning_to_critical_escalates_and_keeps_outage_start() {
    let (s0, _) = advance(None, &hb(T0, "WARNING", &["A1"], &[]));
    let (s1, alerts) = advance(Some(&s0), &hb(T1, "CRITICAL", &["A1", "B2"], &["A1"]));
    assert_eq!(
        kinds(&alerts),
        vec![(
            AlertKind::FleetStatus,
            Severity::Critical,
            "exotel-heartbeat:fleet"
        )]
    );
    assert_eq!(
        changes(&alerts[0]),
        vec![
            ("A1".into(), Direction::Incoming, LineChange::StillAffected),
            ("A1".into(), Direction::Outgoing, LineChange::NewlyAffected),
            ("B2".into(), Direction::Incoming, LineChange::NewlyAffected),
        ]
    );
    assert_eq!(s1.outage_started_at, s0.outage_started_at);
    assert_eq!(
        s1.lines[&ExoPhoneSid::parse("A1").unwrap()].incoming_since,
        s0.outage_started_at
    );
}

#[test]
fn critical_to_warning_de_escalates_with_recovered_lines() {
    let (s0, _) = advance(None, &hb(T0, "CRITICAL", &["A1", "B2"], &[]));
    let (_, alerts) = advance(Some(&s0), &hb(T1, "WARNING", &["A1"], &[]));
    assert_eq!(
        kinds(&alerts),
        vec![(
            AlertKind::FleetStatus,
            Severity::Warning,
            "exotel-heartbeat:fleet"
        )]
    );
    assert_eq!(alerts[0].lines[1].change, LineChange::Recovered);
}

#[test]
fn within_warning_each_line_change_is_its_own_alert() {
    let (s0, _) = advance(None, &hb(T0, "WARNING", &["A1"], &[]));
    let (_, alerts) = advance(Some(&s0), &hb(T1, "WARNING", &["B2"], &["A1"]));
    assert_eq!(
        kinds(&alerts),
        vec![
            (
                AlertKind::LineRecovered,
                Severity::Info,
                "exotel-heartbeat:line:A1:incoming"
            ),
            (
                AlertKind::LineAffected,
                Severity::Warning,
                "exotel-heartbeat:line:A1:outgoing"
            ),
            (
                AlertKind::LineAffected,
                Severity::Warning,
                "exotel-heartbeat:line:B2:incoming"
            ),
        ]
    );
}

#[test]
fn a_burst_of_line_changes_within_warning_is_one_fleet_alert() {
    let many: Vec<String> = (0..=MAX_LINE_ALERTS).map(|i| format!("L{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let (s0, _) = advance(None, &hb(T0, "WARNING", &["A1"], &[]));
    let (_, alerts) = advance(Some(&s0), &hb(T1, "WARNING", &many, &[]));
    assert_eq!(
        kinds(&alerts),
        vec![(
            AlertKind::FleetStatus,
            Severity::Warning,
            "exotel-heartbeat:fleet"
        )]
    );
    assert_eq!(
        alerts[0].lines.len(),
        MAX_LINE_ALERTS + 2,
        "every newly affected line and the recovered one"
    );
}

#[test]
fn critical_inhibits_per_line_noise() {
    let (s0, _) = advance(None, &hb(T0, "CRITICAL", &["A1"], &[]));
    let (s1, alerts) = advance(Some(&s0), &hb(T1, "CRITICAL", &["A1"], &["A1"]));
    assert!(alerts.is_empty(), "{alerts:?}");
    assert!(s1.lines.values().next().unwrap().outgoing_since.is_some());
}

#[test]
fn unchanged_warning_is_silent_until_the_repeat_interval() {
    let (s0, _) = advance(None, &hb(T0, "WARNING", &["A1"], &[]));
    let (s1, alerts) = advance(Some(&s0), &hb(T1, "WARNING", &["A1"], &[]));
    assert!(alerts.is_empty());
    let (s2, alerts) = advance(
        Some(&s1),
        &hb("2026-11-22T14:00:00Z", "WARNING", &["A1"], &[]),
    );
    assert_eq!(
        kinds(&alerts),
        vec![(
            AlertKind::Reminder,
            Severity::Warning,
            "exotel-heartbeat:fleet"
        )]
    );
    assert_eq!(
        changes(&alerts[0]),
        vec![("A1".into(), Direction::Incoming, LineChange::StillAffected)]
    );
    let (_, alerts) = advance(
        Some(&s2),
        &hb("2026-11-22T14:01:00Z", "WARNING", &["A1"], &[]),
    );
    assert!(alerts.is_empty());
}

#[test]
fn return_to_ok_resolves_with_outage_duration() {
    let (s0, _) = advance(None, &hb(T0, "OK", &[], &[]));
    let (s1, _) = advance(Some(&s0), &hb(T1, "WARNING", &["A1"], &[]));
    let (s2, _) = advance(Some(&s1), &hb(T2, "CRITICAL", &["A1"], &["A1"]));
    let (s3, alerts) = advance(Some(&s2), &hb(T3, "OK", &[], &[]));
    assert_eq!(
        kinds(&alerts),
        vec![(
            AlertKind::Resolved,
            Severity::Info,
            "exotel-heartbeat:fleet"
        )]
    );
    assert_eq!(alerts[0].outage_seconds, Some(120));
    assert!(alerts[0]
        .lines
        .iter()
        .all(|l| l.change == LineChange::Recovered));
    assert!(s3.lines.is_empty() && s3.outage_started_at.is_none() && s3.last_notified_at.is_none());
}

#[test]
fn stale_and_replayed_heartbeats_change_nothing() {
    let (s1, _) = advance(None, &hb(T1, "WARNING", &["A1"], &[]));
    for ts in [T0, T1] {
        assert_eq!(
            decide(Some(&s1), &hb(ts, "OK", &[], &[]), &AlertPolicy::default()),
            Decision::Stale {
                newest: s1.last_heartbeat_at
            }
        );
    }
}

#[test]
fn stale_check_compares_instants_not_offsets() {
    let (s1, _) = advance(None, &hb("2026-11-22T10:00:00Z", "OK", &[], &[]));
    let earlier_in_ist = hb("2026-11-22T15:29:00+05:30", "WARNING", &["A1"], &[]);
    assert!(matches!(
        decide(Some(&s1), &earlier_in_ist, &AlertPolicy::default()),
        Decision::Stale { .. }
    ));
}

#[test]
fn payload_too_large_keeps_known_lines_and_alerts_once() {
    let (s0, _) = advance(None, &hb(T0, "WARNING", &["A1"], &[]));
    let (s1, alerts) = advance(Some(&s0), &hb(T1, "PAYLOAD_TOO_LARGE", &[], &[]));
    assert_eq!(
        kinds(&alerts),
        vec![(
            AlertKind::PayloadTooLarge,
            Severity::Warning,
            "exotel-heartbeat:fleet"
        )]
    );
    assert_eq!(s1.lines, s0.lines);
    let (s2, alerts) = advance(Some(&s1), &hb(T2, "PAYLOAD_TOO_LARGE", &[], &[]));
    assert!(alerts.is_empty());
    let (_, alerts) = advance(Some(&s2), &hb(T3, "OK", &[], &[]));
    assert_eq!(alerts[0].kind, AlertKind::Resolved);
    assert_eq!(alerts[0].outage_seconds, Some(180));
}

#[test]
fn warning_with_empty_or_null_lists_is_still_a_fleet_alert() {
    let (_, alerts) = advance(None, &hb(T0, "WARNING", &[], &[]));
    assert_eq!(
        kinds(&alerts),
        vec![(
            AlertKind::FleetStatus,
            Severity::Warning,
            "exotel-heartbeat:fleet"
        )]
    );
    assert!(alerts[0].lines.is_empty());
}

#[test]
fn alternate_exophones_ride_along() {
    let h = Heartbeat::parse(
        br#"{"timestamp":"2026-11-22T10:00:00Z","status_type":"WARNING","incoming_affected":["A1"],
            "data":{"A1":{"phone_number":"+917930061010","connectivity":{"incoming_call":{"status":"major_outage","alternate_exophone":["+918030752599"]}}}}}"#,
    )
    .unwrap();
    let (_, alerts) = advance(None, &h);
    assert_eq!(
        alerts[0].lines[0].alternate_exophones,
        vec!["+918030752599"]
    );
}

#[test]
fn alert_ids_differ_per_transition_and_per_condition() {
    let (s0, a0) = advance(None, &hb(T0, "WARNING", &["A1"], &[]));
    let (_, a1) = advance(Some(&s0), &hb(T1, "WARNING", &["B2"], &[]));
    let mut ids: Vec<String> = a0.iter().chain(&a1).map(Alert::id).collect();
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n);
}

#[test]
fn an_alert_lists_at_most_a_hundred_lines_and_counts_the_rest() {
    let many: Vec<String> = (0..150).map(|i| format!("L{i:03}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let (_, alerts) = advance(None, &hb(T0, "CRITICAL", &many, &[]));
    assert_eq!(alerts[0].lines.len(), crate::alert::MAX_ALERT_LINES);
    assert_eq!(alerts[0].lines_omitted, 50);
    assert_eq!(
        crate::notice::subject(&alerts[0]),
        "[CRITICAL] ExoPhones CRITICAL: 150 lines affected"
    );
    assert!(crate::notice::text_body(&alerts[0]).contains("…and 50 more"));
}

fn details(sid: &str, incoming: &str, outgoing: &str, alternates: &[&str]) -> ExoPhoneDetails {
    let body = serde_json::json!({"response": [{"code": 200, "data": {
    "sid": sid, "phone_number": format!("+91{sid}"),
    "connectivity": {
        "incoming_call": {"status": incoming, "alternate_exophone": alternates},
        "outgoing_call": {"status": outgoing, "alternate_exophone": null}
    }}}]});
    crate::exotel::details::read_blocks(&body)
        .unwrap()
        .lines
        .remove(0)
}

fn at(ts: &str) -> DateTime<Utc> {
    ts.parse().unwrap()
}

#[test]
fn details_tell_the_lines_a_payload_too_large_heartbeat_could_not() {
    let (warning, _) = advance(None, &hb(T0, "WARNING", &["1111111111"], &[]));
    let (ptl, alerts) = advance(Some(&warning), &hb(T1, "PAYLOAD_TOO_LARGE", &[], &[]));
    assert_eq!(kinds(&alerts)[0].0, AlertKind::PayloadTooLarge);
    assert!(ptl.needs_details(at(T1), Duration::minutes(5)));

    let found = [
        details("1111111111", "active", "active", &[]),
        details("2222222222", "major_outage", "active", &["+912222222200"]),
        details("3333333333", "degraded", "active", &[]),
    ];
    let (learned, alerts) = apply_details(&ptl, &found, at(T2)).unwrap();
    assert_eq!(
        kinds(&alerts),
        vec![
            (
                AlertKind::LineRecovered,
                Severity::Info,
                "exotel-heartbeat:line:1111111111:incoming"
            ),
            (
                AlertKind::LineAffected,
                Severity::Warning,
                "exotel-heartbeat:line:2222222222:incoming"
            ),
        ]
    );
    assert_eq!(
        alerts[1].lines[0].alternate_exophones,
        vec!["+912222222200"]
    );
    assert_eq!(
        alerts[1].lines[0].phone_number.as_ref().unwrap().as_str(),
        "+912222222222"
    );
    assert_eq!(learned.status, HeartbeatStatus::PayloadTooLarge);
    assert_eq!(
        learned.last_heartbeat_at,
        at(T1),
        "a sweep is not a heartbeat"
    );
    assert_eq!(
        learned.lines.keys().map(|s| s.as_str()).collect::<Vec<_>>(),
        vec!["2222222222"]
    );
    assert!(
        !learned.needs_details(at(T3), Duration::minutes(5)),
        "paced"
    );

    let (again, none) = apply_details(&learned, &found, at(T3)).unwrap();
    assert!(none.is_empty(), "the same details say nothing new");
    assert_eq!(again.lines, learned.lines);

    let (next_ptl, quiet) = advance(
        Some(&again),
        &hb("2026-11-22T10:04:00Z", "PAYLOAD_TOO_LARGE", &[], &[]),
    );
    assert!(
        quiet.is_empty(),
        "the next PAYLOAD_TOO_LARGE keeps the learned lines"
    );
    assert_eq!(next_ptl.lines, learned.lines);
}

#[test]
fn details_never_overrule_a_heartbeat_that_listed_its_lines() {
    let (warning, _) = advance(None, &hb(T0, "WARNING", &["1111111111"], &[]));
    assert!(!warning.needs_details(at(T1), Duration::minutes(5)));
    assert!(apply_details(
        &warning,
        &[details("1111111111", "active", "active", &[])],
        at(T1)
    )
    .is_none());
}

#[test]
fn a_storm_learned_from_details_is_one_alert() {
    let (ptl, _) = advance(None, &hb(T0, "PAYLOAD_TOO_LARGE", &[], &[]));
    let found: Vec<_> = (0..(MAX_LINE_ALERTS + 5))
        .map(|i| details(&format!("80300{i:05}"), "major_outage", "active", &[]))
        .collect();
    let (state, alerts) = apply_details(&ptl, &found, at(T1)).unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].kind, AlertKind::PayloadTooLarge);
    assert_eq!(alerts[0].lines_affected, MAX_LINE_ALERTS + 5);
    assert_eq!(state.lines.len(), MAX_LINE_ALERTS + 5);
}

mod properties {
    use super::*;
    use proptest::prelude::*;
    use std::collections::{BTreeSet, HashSet};

    const LINES: [&str; 4] = ["1111111111", "2222222222", "3333333333", "4444444444"];

    /// A heartbeat at minute `minute` whose affected lines are given by the bits of `mask`
    /// (incoming: low four bits, outgoing: high four).
    fn heartbeat(minute: u32, mask: u8) -> Heartbeat {
        let pick = |shift: u32| -> Vec<&str> {
            LINES
                .iter()
                .enumerate()
                .filter(|(i, _)| mask >> (shift + *i as u32) & 1 == 1)
                .map(|(_, s)| *s)
                .collect()
        };
        let (incoming, outgoing) = (pick(0), pick(4));
        let status = match (incoming.len() + outgoing.len(), mask) {
            (0, _) => "OK",
            (_, 0xFF) => "CRITICAL",
            _ => "WARNING",
        };
        hb(
            &format!("2026-11-22T10:{minute:02}:00Z"),
            status,
            &incoming,
            &outgoing,
        )
    }

    fn affected(state: &MonitorState) -> BTreeSet<(String, Direction)> {
        state
            .lines
            .iter()
            .flat_map(|(sid, l)| {
                [
                    (Direction::Incoming, l.incoming_since),
                    (Direction::Outgoing, l.outgoing_since),
                ]
                .into_iter()
                .filter(|(_, since)| since.is_some())
                .map(move |(d, _)| (sid.to_string(), d))
            })
            .collect()
    }

    proptest! {
        /// Heartbeats in any order, some redelivered (same instant: dropped by the
        /// idempotency key): the state ends as the newest heartbeat says, and no alert is
        /// raised twice for one transition.
        #[test]
        fn any_order_ends_in_the_newest_heartbeats_state_without_repeated_alerts(
            (masks, arrivals) in proptest::collection::vec(any::<u8>(), 1..8).prop_flat_map(|masks| {
                let n = masks.len();
                // Every heartbeat once, some again, in any order.
                let arrivals = proptest::collection::vec(0..n, 0..16)
                    .prop_map(move |extra| (0..n).chain(extra).collect::<Vec<_>>())
                    .prop_shuffle();
                (Just(masks), arrivals)
            }),
        ) {
            let heartbeats: Vec<Heartbeat> = masks
                .iter()
                .enumerate()
                .map(|(i, m)| heartbeat(i as u32, *m))
                .collect();
            let mut state: Option<MonitorState> = None;
            let mut instants = HashSet::new();
            let mut alert_ids = HashSet::new();
            for i in arrivals {
                let h = &heartbeats[i];
                if !instants.insert(h.at_utc()) {
                    continue;
                }
                if let Decision::Advance { state: next, alerts } = decide(state.as_ref(), h, &AlertPolicy::default()) {
                    for alert in alerts {
                        prop_assert!(alert_ids.insert(alert.id()), "alert {} raised twice", alert.id());
                    }
                    state = Some(next);
                }
            }
            let newest = heartbeats.last().map(|h| advance(None, h).0);
            let (Some(state), Some(newest)) = (state, newest) else {
                return Err(TestCaseError::fail("no state"));
            };
            prop_assert_eq!(state.status, newest.status);
            prop_assert_eq!(state.last_heartbeat_at, newest.last_heartbeat_at);
            prop_assert_eq!(affected(&state), affected(&newest));
        }
    }
}
