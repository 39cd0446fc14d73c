use super::*;
use dialtone_shared::alert::{DedupKey, Source};
use dialtone_shared::exophone::{Direction, ExoPhoneSid};
use dialtone_shared::phone::E164;

fn line(sid: &str, phone: Option<&str>, change: LineChange, alternates: &[&str]) -> LineImpact {
    LineImpact {
        sid: ExoPhoneSid::parse(sid).unwrap(),
        phone_number: phone.map(|p| E164::parse(p).unwrap()),
        direction: Direction::Incoming,
        change,
        alternate_exophones: alternates.iter().map(|s| s.to_string()).collect(),
        outage: None,
        last_check_time: None,
    }
}

fn critical() -> Alert {
    Alert {
        dedup_key: DedupKey::fleet(Source::ExotelHeartbeat),
        source: Source::ExotelHeartbeat,
        kind: AlertKind::FleetStatus,
        severity: Severity::Critical,
        status: "CRITICAL".into(),
        occurred_at: "2026-11-22T10:02:00Z".parse().unwrap(),
        lines: vec![LineImpact {
            outage: Some(dialtone_shared::exophone::Outage::MajorOutage),
            last_check_time: Some("2026-11-22T10:01:40Z".parse().unwrap()),
            ..line(
                "07930061010",
                Some("+917930061010"),
                LineChange::NewlyAffected,
                &["+918030752599"],
            )
        }],
        lines_omitted: 0,
        lines_affected: 1,
        outage_seconds: None,
        notes: Vec::new(),
    }
}

#[test]
fn critical_fleet_alert_renders_every_block() {
    let rendered = render(&critical());
    let expected: serde_json::Value =
        serde_json::from_str(include_str!("../../../events/slack-message.json")).unwrap();
    assert_eq!(rendered, expected);
}

#[test]
fn resolved_alert_shows_outage_and_no_lines_section() {
    let alert = Alert {
        kind: AlertKind::Resolved,
        severity: Severity::Info,
        status: "OK".into(),
        lines: vec![],
        outage_seconds: Some(3 * 3600 + 300),
        ..critical()
    };
    let rendered = render(&alert);
    assert_eq!(
        rendered["text"],
        "[RESOLVED] ExoPhones OK again after 3h 5m"
    );
    let blocks = rendered["blocks"].as_array().unwrap();
    assert_eq!(blocks.len(), 3, "header, summary, context: {blocks:#?}");
    assert_eq!(
        blocks[0]["text"]["text"],
        ":white_check_mark: [RESOLVED] ExoPhones OK again after 3h 5m"
    );
    assert_eq!(blocks[1]["fields"][3]["text"], "*Outage*\n3h 5m");
    assert_eq!(blocks[2]["type"], "context");
}

#[test]
fn emoji_follows_severity_and_recovery() {
    let warning = Alert {
        severity: Severity::Warning,
        ..critical()
    };
    let info = Alert {
        severity: Severity::Info,
        kind: AlertKind::PayloadTooLarge,
        ..critical()
    };
    let recovered = Alert {
        severity: Severity::Warning,
        kind: AlertKind::LineRecovered,
        ..critical()
    };
    assert_eq!(emoji(&critical()), ":rotating_light:");
    assert_eq!(emoji(&warning), ":warning:");
    assert_eq!(emoji(&info), ":information_source:");
    assert_eq!(emoji(&recovered), ":white_check_mark:");
}

#[test]
fn line_without_phone_number_shows_the_sid_only() {
    let item = line_item(&line("ABC-1", None, LineChange::Recovered, &[]));
    assert_eq!(item, "• sid `ABC-1` incoming: *recovered*");
}

#[test]
fn long_line_lists_are_capped_with_a_count_of_the_rest() {
    let alert = Alert {
        lines: (0..45)
            .map(|i| {
                line(
                    &format!("0793006{i:04}"),
                    Some(&format!("+91793006{i:04}")),
                    LineChange::StillAffected,
                    &[],
                )
            })
            .collect(),
        ..critical()
    };
    let rendered = render(&alert);
    let text = rendered["blocks"][2]["text"]["text"].as_str().unwrap();
    assert_eq!(text.matches('•').count(), MAX_LISTED_LINES);
    assert!(text.ends_with("\n…and 25 more"), "{text}");
    assert!(text.contains("07930060019"));
    assert!(!text.contains("07930060020"));
}

#[test]
fn lines_section_stays_within_slacks_text_limit() {
    let many_alternates: Vec<String> = (0..40).map(|i| format!("+9180307{i:05}")).collect();
    let refs: Vec<&str> = many_alternates.iter().map(String::as_str).collect();
    let alert = Alert {
        lines: (0..20)
            .map(|i| {
                line(
                    &format!("0793006{i:04}"),
                    None,
                    LineChange::NewlyAffected,
                    &refs,
                )
            })
            .collect(),
        ..critical()
    };
    let rendered = render(&alert);
    let text = rendered["blocks"][2]["text"]["text"].as_str().unwrap();
    assert!(
        text.chars().count() <= 3000,
        "{} chars",
        text.chars().count()
    );
    let listed = text.matches('•').count();
    assert!(listed < 20);
    assert!(
        text.ends_with(&format!("…and {} more", 20 - listed)),
        "{text}"
    );
}

#[test]
fn header_is_cut_to_slacks_limit_and_mrkdwn_is_escaped() {
    let alert = Alert {
        status: "<!channel> & co".repeat(10),
        ..critical()
    };
    let rendered = render(&alert);
    let header = rendered["blocks"][0]["text"]["text"].as_str().unwrap();
    assert!(header.chars().count() <= HEADER_MAX_CHARS);
    let status = rendered["blocks"][1]["fields"][1]["text"].as_str().unwrap();
    assert!(
        status.starts_with("*Status*\n&lt;!channel&gt; &amp; co"),
        "{status}"
    );
    assert!(!status.contains('<'));
}

/// The message of an SNS event in `events/`.
fn sns_message(event: &str) -> String {
    let event: aws_lambda_events::event::sns::SnsEvent =
        serde_json::from_str(event).expect("an SNS event");
    event.records[0].sns.message.clone()
}

fn alarm_event() -> String {
    sns_message(include_str!("../../../events/sns-cloudwatch-alarm.json"))
}

fn sample_alarm() -> CloudWatchAlarm {
    match serde_json::from_str(&alarm_event()).expect("a notification") {
        Notification::Alarm(alarm) => alarm,
        other => panic!("not read as an alarm: {other:?}"),
    }
}

#[test]
fn the_sample_alarm_event_is_read_as_a_cloudwatch_alarm() {
    let event: aws_lambda_events::event::sns::SnsEvent =
        serde_json::from_str(include_str!("../../../events/sns-cloudwatch-alarm.json")).unwrap();
    assert!(
        event.records[0].sns.message_attributes.is_empty(),
        "CloudWatch sets no message attributes"
    );
    let alarm = sample_alarm();
    assert_eq!(alarm.alarm_name, "dialtone-exotel-heartbeat-silent");
    assert_eq!(alarm.new_state_value, AlarmState::Alarm);
    assert_eq!(alarm.state_change_time, "2026-11-22T10:07:41.512+0000");
    assert_eq!(alarm.region, "Asia Pacific (Mumbai)");
    let trigger = alarm.trigger.expect("a trigger");
    assert_eq!(trigger.namespace.as_deref(), Some("dialtone"));
    assert_eq!(trigger.metric_name.as_deref(), Some("Requests"));
}

#[test]
fn dialtones_own_alert_is_still_read_as_an_alert() {
    let message = sns_message(include_str!("../../../events/sns-alert.json"));
    let notification: Notification = serde_json::from_str(&message).unwrap();
    assert_eq!(notification, Notification::Alert(critical()));
    let expected: serde_json::Value =
        serde_json::from_str(include_str!("../../../events/slack-message.json")).unwrap();
    assert_eq!(notification.to_slack(), expected);
}

#[test]
fn an_alarm_renders_as_critical_with_its_description_reason_and_time() {
    let notification: Notification = serde_json::from_str(&alarm_event()).unwrap();
    assert_eq!(notification.kind(), "cloudwatch_alarm");
    assert_eq!(notification.severity(), Severity::Critical);
    let rendered = notification.to_slack();
    assert_eq!(rendered["text"], "[ALARM] dialtone-exotel-heartbeat-silent");
    let blocks = rendered["blocks"].as_array().unwrap();
    assert_eq!(
        blocks.len(),
        5,
        "header, summary, description, reason, context"
    );
    assert_eq!(
        blocks[0]["text"]["text"],
        ":rotating_light: [ALARM] dialtone-exotel-heartbeat-silent"
    );
    assert_eq!(
        blocks[1]["fields"],
        serde_json::json!([
            { "type": "mrkdwn", "text": "*State*\nALARM" },
            { "type": "mrkdwn", "text": "*When*\n2026-11-22T10:07:41.512+0000" },
            { "type": "mrkdwn", "text": "*Region*\nAsia Pacific (Mumbai)" },
            { "type": "mrkdwn", "text": "*Metric*\ndialtone/Requests" },
        ])
    );
    assert_eq!(
        blocks[2]["text"]["text"],
        "*Description*\nNo Exotel heartbeat request reached dialtone for 15 minutes: check the heartbeat URL in Exotel and the API's access logs."
    );
    let reason = blocks[3]["text"]["text"].as_str().unwrap();
    assert!(
        reason.starts_with("*Reason*\nThreshold Crossed: 3 out of the last 3 datapoints"),
        "{reason}"
    );
    // The reason's "->" arrives escaped, as Slack requires.
    assert!(reason.ends_with("OK -&gt; ALARM transition)."), "{reason}");
    assert_eq!(
        blocks[4]["elements"][0]["text"],
        "CloudWatch alarm `dialtone-exotel-heartbeat-silent`"
    );
}

#[test]
fn an_alarm_back_to_ok_renders_as_a_recovery() {
    let alarm = CloudWatchAlarm {
        new_state_value: AlarmState::Ok,
        alarm_description: None,
        new_state_reason: "Threshold Crossed: 1 datapoint [4.0 (22/11/26 10:12:00)] was not less than the threshold (1.0).".into(),
        ..sample_alarm()
    };
    let notification = Notification::Alarm(alarm);
    assert_eq!(notification.severity(), Severity::Info);
    let rendered = notification.to_slack();
    assert_eq!(
        rendered["text"],
        "[RESOLVED] dialtone-exotel-heartbeat-silent is OK again"
    );
    let blocks = rendered["blocks"].as_array().unwrap();
    assert_eq!(
        blocks[0]["text"]["text"],
        ":white_check_mark: [RESOLVED] dialtone-exotel-heartbeat-silent is OK again"
    );
    assert_eq!(blocks[1]["fields"][0]["text"], "*State*\nOK");
    assert_eq!(blocks.len(), 4, "no description section: {blocks:#?}");
    assert!(blocks[2]["text"]["text"]
        .as_str()
        .unwrap()
        .starts_with("*Reason*\nThreshold Crossed: 1 datapoint"));
}

#[test]
fn an_alarm_with_missing_data_is_a_warning() {
    let message = alarm_event().replace(
        "\"NewStateValue\": \"ALARM\"",
        "\"NewStateValue\": \"INSUFFICIENT_DATA\"",
    );
    let notification: Notification = serde_json::from_str(&message).unwrap();
    assert_eq!(notification.severity(), Severity::Warning);
    let rendered = notification.to_slack();
    assert_eq!(
        rendered["blocks"][0]["text"]["text"],
        ":warning: [INSUFFICIENT DATA] dialtone-exotel-heartbeat-silent"
    );
}

#[test]
fn json_that_is_neither_an_alert_nor_an_alarm_is_an_error() {
    let unknown_state = alarm_event().replace(
        "\"NewStateValue\": \"ALARM\"",
        "\"NewStateValue\": \"SILENT\"",
    );
    let no_name = alarm_event().replace("\"AlarmName\"", "\"Name\"");
    for message in [
        r#"{"hello": "world"}"#,
        "[]",
        unknown_state.as_str(),
        no_name.as_str(),
    ] {
        assert!(
            serde_json::from_str::<Notification>(message).is_err(),
            "{message}"
        );
    }
}

#[test]
fn alarm_text_is_escaped_and_cut_to_slacks_limits() {
    let alarm = CloudWatchAlarm {
        alarm_name: format!("<!channel> {}", "n".repeat(200)),
        new_state_reason: "r & ".repeat(1000),
        ..sample_alarm()
    };
    let rendered = render_alarm(&alarm);
    assert!(!rendered["text"].as_str().unwrap().contains('<'));
    let header = rendered["blocks"][0]["text"]["text"].as_str().unwrap();
    assert!(header.chars().count() <= HEADER_MAX_CHARS);
    let reason = rendered["blocks"][3]["text"]["text"].as_str().unwrap();
    assert!(reason.chars().count() <= 3000, "{}", reason.chars().count());
    assert!(reason.contains("r &amp; r"), "{reason}");
    let context = rendered["blocks"][4]["elements"][0]["text"]
        .as_str()
        .unwrap();
    assert!(
        context.starts_with("CloudWatch alarm `&lt;!channel&gt;"),
        "{context}"
    );
}
