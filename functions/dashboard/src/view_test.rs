use super::*;
use dialtone_shared::alert::{DedupKey, LineChange, LineImpact};
use dialtone_shared::exophone::{Direction, ExoPhoneSid};

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

#[test]
fn metrics_are_formatted_as_the_tutorial_does() {
    let mut m = Metrics {
        total: 3,
        answered: 2,
        missed: 1,
        answered_seconds: 269,
        ..Metrics::default()
    };
    m.hourly[9] = 1;
    m.hourly[11] = 2;
    let t = TutorialMetrics::from(&m);
    assert_eq!(t.answer_rate, "66.7%");
    assert_eq!(t.avg_duration, "2m 15s");
    assert_eq!(t.peak_hour.as_deref(), Some("11:00"));
    let none = TutorialMetrics::from(&Metrics::default());
    assert_eq!(
        (
            none.answer_rate.as_str(),
            none.avg_duration.as_str(),
            none.peak_hour
        ),
        ("0.0%", "0m 0s", None)
    );
}

fn alert(key: DedupKey, kind: AlertKind, severity: Severity, when: &str) -> Alert {
    Alert {
        dedup_key: key,
        source: Source::ExotelHeartbeat,
        kind,
        severity,
        status: "WARNING".into(),
        occurred_at: at(when),
        lines: vec![LineImpact {
            sid: ExoPhoneSid::parse("07930061010").unwrap(),
            phone_number: None,
            direction: Direction::Incoming,
            change: LineChange::NewlyAffected,
            alternate_exophones: vec![],
            outage: None,
            last_check_time: None,
        }],
        lines_omitted: 0,
        lines_affected: 1,
        outage_seconds: None,
        notes: vec![],
    }
}

#[test]
fn open_alerts_are_the_newest_of_each_condition_that_did_not_recover() {
    let fleet = DedupKey::fleet(Source::ExotelHeartbeat);
    let line = DedupKey::line(
        Source::ExotelHeartbeat,
        &ExoPhoneSid::parse("07930061010").unwrap(),
        Direction::Incoming,
    );
    let silence = DedupKey::scoped(Source::ExotelHeartbeat, "silence");
    let sms = DedupKey::scoped(Source::Telerivet, "sms-failures:PJ1");
    let mut history = vec![
        alert(
            fleet.clone(),
            AlertKind::FleetStatus,
            Severity::Warning,
            "2026-11-22T08:00:00Z",
        ),
        alert(
            line.clone(),
            AlertKind::LineAffected,
            Severity::Warning,
            "2026-11-22T08:01:00Z",
        ),
        alert(
            silence.clone(),
            AlertKind::HeartbeatMissing,
            Severity::Critical,
            "2026-11-22T08:30:00Z",
        ),
        alert(
            sms.clone(),
            AlertKind::SmsFailures,
            Severity::Warning,
            "2026-11-20T08:00:00Z",
        ),
    ];
    let now = at("2026-11-22T09:00:00Z");
    let keys = |open: Vec<OpenAlert>| open.into_iter().map(|a| a.key).collect::<Vec<_>>();
    assert_eq!(
        keys(open_alerts(&history, now)),
        vec![silence.to_string(), line.to_string(), fleet.to_string()],
        "critical first, then newest; the two-day-old SMS burst is no longer open"
    );
    history.push(alert(
        fleet.clone(),
        AlertKind::Resolved,
        Severity::Info,
        "2026-11-22T08:40:00Z",
    ));
    assert_eq!(
        keys(open_alerts(&history, now)),
        vec![silence.to_string()],
        "RESOLVED closes the fleet and its lines, not the silence"
    );
    history.push(alert(
        silence,
        AlertKind::HeartbeatRecovered,
        Severity::Info,
        "2026-11-22T08:41:00Z",
    ));
    assert!(open_alerts(&history, now).is_empty());
}

#[test]
fn a_days_counters_are_sorted_by_what_they_count() {
    let fields = |pairs: &[(&str, i64)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect::<BTreeMap<_, _>>()
    };
    let counters = BTreeMap::from([
        (
            "metrics:2026-11-22:all".parse::<CounterKey>().unwrap(),
            fields(&[("total", 3), ("answered", 2), ("h10", 3)]),
        ),
        (
            "metrics:2026-11-22:direction:inbound"
                .parse::<CounterKey>()
                .unwrap(),
            fields(&[("total", 2)]),
        ),
        (
            "metrics:2026-11-22:exophone:08030752522"
                .parse::<CounterKey>()
                .unwrap(),
            fields(&[("total", 1)]),
        ),
        (
            "calls:voipstudio:all:2026-11-22"
                .parse::<CounterKey>()
                .unwrap(),
            fields(&[("total", 9), ("calls", 4), ("missed", 1)]),
        ),
        (
            "calls:voipstudio:+912248906300:2026-11-22"
                .parse::<CounterKey>()
                .unwrap(),
            fields(&[("calls", 4)]),
        ),
    ]);
    let sms = BTreeMap::from([
        (
            "telerivet:sms:PJ1:2026-11-21"
                .parse::<CounterKey>()
                .unwrap(),
            fields(&[("total", 5), ("incoming", 2), ("failed", 3)]),
        ),
        (
            "telerivet:sms:PJ2:2026-11-21"
                .parse::<CounterKey>()
                .unwrap(),
            fields(&[("total", 1), ("failed", 1)]),
        ),
    ]);
    let f = day_figures(day("2026-11-22"), &counters, day("2026-11-21"), &sms);
    assert_eq!((f.all.total, f.all.answered, f.all.hourly[10]), (3, 2, 3));
    assert_eq!(f.by_direction["inbound"].total, 2);
    assert_eq!(f.by_line["08030752522"].total, 1);
    assert_eq!(
        f.call_events["voipstudio"],
        fields(&[("calls", 4), ("missed", 1)])
    );
    assert_eq!(f.sms.totals, fields(&[("failed", 4), ("incoming", 2)]));
    assert_eq!(f.sms.projects.len(), 2);
}

#[test]
fn ranges_are_refused_with_a_reason() {
    let today = day("2026-11-22");
    let parse = |s: Option<&str>, e: Option<&str>| parse_range(s, e, today);
    assert_eq!(
        parse(Some("2026-11-01"), Some("2026-11-22")),
        Ok((day("2026-11-01"), today))
    );
    assert_eq!(parse(None, Some("2026-11-22")), Err(RangeError::Missing));
    assert_eq!(
        parse(Some("2026-11-1"), Some("2026-11-22")),
        Err(RangeError::Malformed("2026-11-1".into()))
    );
    assert_eq!(
        parse(Some("2026-02-30"), Some("2026-11-22")),
        Err(RangeError::Malformed("2026-02-30".into()))
    );
    assert!(matches!(
        parse(Some("2026-11-22"), Some("2026-11-01")),
        Err(RangeError::Reversed { .. })
    ));
    assert!(matches!(
        parse(Some("2026-11-22"), Some("2026-11-23")),
        Err(RangeError::Future(..))
    ));
    assert!(matches!(
        parse(Some("2025-01-01"), Some("2025-01-02")),
        Err(RangeError::BeyondHorizon(_))
    ));
    assert_eq!(
        parse(Some("2026-06-01"), Some("2026-11-22")),
        Err(RangeError::TooLong)
    );
}

#[test]
fn health_before_any_heartbeat_is_unknown() {
    let h = health(None, None, at("2026-11-22T09:00:00Z"));
    assert_eq!(
        (h.status.as_str(), h.silence, h.details.len()),
        ("UNKNOWN", "HEARD", 0)
    );
}

#[test]
fn the_days_sms_are_summed_with_their_delivery_rate() {
    let fields = |pairs: &[(&str, i64)]| -> BTreeMap<String, i64> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    };
    let mut sms = SmsFigures {
        totals: fields(&[
            ("outgoing", 40),
            ("queued", 38),
            ("sent", 37),
            ("delivered", 33),
            ("not_delivered", 2),
            ("failed", 1),
            ("clicked", 4),
            ("incoming:sms", 5),
            ("incoming:call", 2),
            ("outgoing:sms", 39),
            ("outgoing:ussd", 1),
        ]),
        ..SmsFigures::default()
    };
    sms.summarise();
    assert_eq!((sms.sent, sms.delivered, sms.failed), (40, 33, 3));
    assert_eq!(sms.clicked, 4);
    // Calls and USSD apart from SMS.
    let counts = |incoming, outgoing| MessageCounts { incoming, outgoing };
    assert_eq!(
        sms.by_type,
        BTreeMap::from([
            ("call".to_owned(), counts(2, 0)),
            ("sms".to_owned(), counts(5, 39)),
            ("ussd".to_owned(), counts(0, 1)),
        ])
    );
    // 33 of the 36 with a known outcome.
    assert_eq!(sms.delivery_rate.as_deref(), Some("91.7"));

    // Without delivery reports, failures alone say nothing of delivery.
    let mut no_reports = SmsFigures {
        totals: fields(&[("outgoing", 10), ("sent", 9), ("failed", 1)]),
        ..SmsFigures::default()
    };
    no_reports.summarise();
    assert_eq!(no_reports.delivery_rate, None);
}

#[test]
fn stuck_messages_and_phones_not_sending_are_read_from_the_index() {
    use dialtone_shared::telerivet::gateway::PhoneState;
    use dialtone_shared::telerivet::MessageState;
    let now = at("2026-11-22T10:00:00Z");
    let message = |status: &str, queued: &str| {
        TelerivetState::Message(MessageState {
            status: status.into(),
            error_message: None,
            statuses_seen: vec![status.into()],
            project_id: None,
            updated_at: now,
            failed_at: None,
            phone_id: Some("PN1".into()),
            queued_at: Some(at(queued)),
            moved_at: None,
            clicked_at: None,
        })
    };
    let waiting = [
        message("queued", "2026-11-22T09:50:00Z"),
        message("failed_queued", "2026-11-22T09:54:59Z"),
        // Within the threshold: waiting, not stuck.
        message("queued", "2026-11-22T09:58:00Z"),
        // Sent since the index was read.
        message("sent", "2026-11-22T09:00:00Z"),
    ];
    let phone = |resolved: Option<DateTime<Utc>>| PhoneState {
        phone_id: "PN1".into(),
        project_id: None,
        stuck_at: at("2026-11-22T09:55:00Z"),
        alerted_at: at("2026-11-22T09:55:10Z"),
        oldest_message: "SM1".into(),
        messages: 2,
        resolved_at: resolved,
    };
    let gateways = sms_gateways(
        &waiting,
        &[phone(None), phone(Some(now))],
        now,
        Duration::minutes(5),
    );
    assert_eq!(gateways.stuck, 2);
    assert_eq!(gateways.not_sending.len(), 1);
    assert_eq!(gateways.not_sending[0].oldest_message, "SM1");
}

#[test]
fn the_newest_day_compared_with_the_notifications_is_shown_per_exophone() {
    use dialtone_shared::call_log::missing_webhooks::{DayComparison, LineComparison};
    let compared = DayComparison {
        day: day("2026-11-20"),
        lines: BTreeMap::from([
            (
                "+918030752522".to_owned(),
                LineComparison {
                    listed: 40,
                    notified: 36,
                    missing: 4,
                },
            ),
            (
                "+912248906300".to_owned(),
                LineComparison {
                    listed: 10,
                    notified: 12,
                    missing: 0,
                },
            ),
        ]),
        silent_lines: vec!["+917930061010".into()],
        left_out_lines: Vec::new(),
        notified_without_line: 1,
    };
    let shown = serde_json::to_value(MissingWebhooks::from(&compared)).unwrap();
    assert_eq!(
        shown,
        serde_json::json!({
            "day": "2026-11-20", "listed": 50, "missing": 4,
            "lines": {
                "+912248906300": {"listed": 10, "notified": 12, "missing": 0},
                "+918030752522": {"listed": 40, "notified": 36, "missing": 4},
            },
            "silentLines": ["+917930061010"], "leftOutLines": [], "notifiedWithoutLine": 1,
        })
    );
}

#[test]
fn a_lines_outage_kind_and_alternates_come_from_the_alert_that_told_them_this_outage() {
    use dialtone_shared::exophone::Outage;
    use dialtone_shared::heartbeat::{HeartbeatStatus, LineState, MonitorState};
    let sid = ExoPhoneSid::parse("07930061010").unwrap();
    let monitor = MonitorState {
        last_heartbeat_at: at("2026-11-20T06:00:00Z"),
        status: HeartbeatStatus::Warning,
        lines: [(
            sid.clone(),
            LineState {
                incoming_since: Some(at("2026-11-20T05:40:00Z")),
                outgoing_since: Some(at("2026-11-20T05:40:00Z")),
                alternate_exophones: vec!["+918030752500".into()],
                ..LineState::default()
            },
        )]
        .into(),
        outage_started_at: Some(at("2026-11-20T05:40:00Z")),
        last_notified_at: None,
        details_checked_at: None,
    };
    let told = |when: &str, direction, outage, alternate: &str| {
        let mut a = alert(
            DedupKey::line(Source::ExotelHeartbeat, &sid, direction),
            AlertKind::LineAffected,
            Severity::Warning,
            when,
        );
        a.lines[0].direction = direction;
        a.lines[0].outage = Some(outage);
        a.lines[0].last_check_time = Some(at(when));
        a.lines[0].alternate_exophones = vec![alternate.to_owned()];
        a
    };
    let alerts = [
        // An earlier outage of the same line: not this one's details.
        told(
            "2026-11-19T08:00:00Z",
            Direction::Incoming,
            Outage::PartialNetworkOutage,
            "+910000000001",
        ),
        told(
            "2026-11-20T05:40:00Z",
            Direction::Incoming,
            Outage::MajorOutage,
            "+918030752522",
        ),
        told(
            "2026-11-20T05:41:00Z",
            Direction::Outgoing,
            Outage::PartialNetworkOutage,
            "+918030752522",
        ),
    ];
    let health =
        health(Some(&monitor), None, at("2026-11-20T06:00:30Z")).with_line_details(&alerts);
    let line = &health.details[0];
    assert_eq!(line.incoming_outage, Some("major_outage"));
    assert_eq!(line.outgoing_outage, Some("partial_network_outage"));
    assert_eq!(line.last_check_time, Some(at("2026-11-20T05:41:00Z")));
    assert_eq!(line.alternate_exophones, ["+918030752500", "+918030752522"]);
    let json = serde_json::to_value(&health).unwrap();
    assert_eq!(json["details"][0]["incomingOutage"], "major_outage");

    let before = health_without_alerts(&monitor);
    assert_eq!(before.details[0].incoming_outage, None);
}

fn health_without_alerts(monitor: &dialtone_shared::heartbeat::MonitorState) -> Health {
    health(Some(monitor), None, at("2026-11-20T06:00:30Z")).with_line_details(&[])
}
