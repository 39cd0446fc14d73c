//! Rendering an [`Alert`] as a Slack Block Kit message. Pure: no I/O, no clock.
//!
//! Slack limits respected here: a header's text is at most 150 characters, a section's text
//! at most 3000, and a message at most 50 blocks (this one has at most 4).

use dialtone_shared::alert::{human_duration, Alert, AlertKind, LineChange, LineImpact, Severity};
use serde_json::{json, Value};

/// At most this many lines are listed; the rest are summarised as "…and N more".
pub const MAX_LISTED_LINES: usize = 20;

/// Slack's limit on a header block's text.
const HEADER_MAX_CHARS: usize = 150;

/// Slack's limit on a section's text is 3000; the margin leaves room for the "…and N more".
const LINES_TEXT_BUDGET: usize = 2900;

/// The whole message body posted to the incoming webhook.
pub fn render(alert: &Alert) -> Value {
    let mut blocks = vec![header(alert), summary(alert)];
    if let Some(lines) = lines_section(&alert.lines) {
        blocks.push(lines);
    }
    blocks.push(context(alert));
    json!({
        "text": alert.subject(),
        "blocks": blocks,
    })
}

/// The Slack emoji shortcode that leads the header.
pub fn emoji(alert: &Alert) -> &'static str {
    match (alert.kind, alert.severity) {
        (AlertKind::Resolved | AlertKind::LineRecovered, _) => ":white_check_mark:",
        (_, Severity::Critical) => ":rotating_light:",
        (_, Severity::Warning) => ":warning:",
        (_, Severity::Info) => ":information_source:",
    }
}

fn header(alert: &Alert) -> Value {
    let text: String = format!("{} {}", emoji(alert), alert.subject())
        .chars()
        .take(HEADER_MAX_CHARS)
        .collect();
    json!({
        "type": "header",
        "text": { "type": "plain_text", "text": text, "emoji": true },
    })
}

fn summary(alert: &Alert) -> Value {
    let mut fields = vec![
        field("Severity", alert.severity.as_str()),
        field("Status", &escape(&alert.status)),
        field("Heartbeat", &slack_date(alert)),
    ];
    if let Some(seconds) = alert.outage_seconds {
        fields.push(field("Outage", &human_duration(seconds)));
    }
    json!({ "type": "section", "fields": fields })
}

fn field(label: &str, value: &str) -> Value {
    json!({ "type": "mrkdwn", "text": format!("*{label}*\n{value}") })
}

/// Shown in each reader's own time zone by Slack, with UTC as the fallback text.
fn slack_date(alert: &Alert) -> String {
    format!(
        "<!date^{}^{{date_short_pretty}} {{time}}|{}>",
        alert.occurred_at.timestamp(),
        alert.occurred_at.format("%Y-%m-%d %H:%M:%S UTC")
    )
}

fn lines_section(lines: &[LineImpact]) -> Option<Value> {
    if lines.is_empty() {
        return None;
    }
    let mut text = String::from("*Lines*");
    let mut listed = 0;
    for line in lines.iter().take(MAX_LISTED_LINES) {
        let item = line_item(line);
        if text.chars().count() + 1 + item.chars().count() > LINES_TEXT_BUDGET {
            break;
        }
        text.push('\n');
        text.push_str(&item);
        listed += 1;
    }
    let rest = lines.len() - listed;
    if rest > 0 {
        text.push_str(&format!("\n…and {rest} more"));
    }
    Some(json!({
        "type": "section",
        "text": { "type": "mrkdwn", "text": text },
    }))
}

fn line_item(line: &LineImpact) -> String {
    let change = match line.change {
        LineChange::NewlyAffected => "newly affected",
        LineChange::StillAffected => "still affected",
        LineChange::Recovered => "recovered",
    };
    let who = match &line.phone_number {
        Some(phone) => format!("{phone} (sid `{}`)", line.sid),
        None => format!("sid `{}`", line.sid),
    };
    let mut item = format!("• {who} {}: *{change}*", line.direction.as_str());
    if !line.alternate_exophones.is_empty() {
        item.push_str(" — alternate: ");
        item.push_str(&escape(&line.alternate_exophones.join(", ")));
    }
    item
}

fn context(alert: &Alert) -> Value {
    json!({
        "type": "context",
        "elements": [{
            "type": "mrkdwn",
            "text": format!(
                "Alert key `{}` · {} · {}",
                escape(alert.dedup_key.as_str()),
                alert.kind.as_str(),
                alert.source.as_str()
            ),
        }],
    })
}

/// The three characters Slack's mrkdwn requires escaped.
fn escape(raw: &str) -> String {
    raw.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
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
            outage_seconds: None,
        }
    }

    #[test]
    fn critical_fleet_alert_renders_every_block() {
        let rendered = render(&critical());
        let expected = json!({
            "text": "[CRITICAL] ExoPhones CRITICAL: 1 line affected",
            "blocks": [
                {
                    "type": "header",
                    "text": {
                        "type": "plain_text",
                        "text": ":rotating_light: [CRITICAL] ExoPhones CRITICAL: 1 line affected",
                        "emoji": true
                    }
                },
                {
                    "type": "section",
                    "fields": [
                        { "type": "mrkdwn", "text": "*Severity*\ncritical" },
                        { "type": "mrkdwn", "text": "*Status*\nCRITICAL" },
                        {
                            "type": "mrkdwn",
                            "text": "*Heartbeat*\n<!date^1795341720^{date_short_pretty} {time}|2026-11-22 10:02:00 UTC>"
                        }
                    ]
                },
                {
                    "type": "section",
                    "text": {
                        "type": "mrkdwn",
                        "text": "*Lines*\n• +917930061010 (sid `07930061010`) incoming: *newly affected* — alternate: +918030752599"
                    }
                },
                {
                    "type": "context",
                    "elements": [{
                        "type": "mrkdwn",
                        "text": "Alert key `exotel-heartbeat:fleet` · fleet_status · exotel-heartbeat"
                    }]
                }
            ]
        });
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
}
