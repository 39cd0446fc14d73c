use super::*;
use dialtone_shared::alert::{DedupKey, Source};
use dialtone_shared::heartbeat::{Direction, ExoPhoneSid};
use dialtone_shared::phone::E164;

fn line(sid: &str, phone: Option<&str>, change: LineChange, alternates: &[&str]) -> LineImpact {
    LineImpact {
        sid: ExoPhoneSid::parse(sid).unwrap(),
        phone_number: phone.map(|p| E164::parse(p).unwrap()),
        direction: Direction::Incoming,
        change,
        alternate_exophones: alternates.iter().map(|s| s.to_string()).collect(),
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
        lines: vec![line(
            "07930061010",
            Some("+917930061010"),
            LineChange::NewlyAffected,
            &["+918030752599"],
        )],
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
