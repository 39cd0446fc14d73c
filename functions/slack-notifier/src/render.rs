//! Rendering an [`Alert`] as a Slack Block Kit message. Pure: no I/O, no clock.
//!
//! Slack limits respected here: a header's text is at most 150 characters, a section's text
//! at most 3000, and a message at most 50 blocks (this one has at most 5).

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
    if let Some(lines) = lines_section(&alert.lines, alert.lines_omitted) {
        blocks.push(lines);
    }
    if let Some(notes) = notes_section(&alert.notes) {
        blocks.push(notes);
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
        field("When", &slack_date(alert)),
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

fn lines_section(lines: &[LineImpact], omitted: usize) -> Option<Value> {
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
    let rest = lines.len() - listed + omitted;
    if rest > 0 {
        text.push_str(&format!("\n…and {rest} more"));
    }
    Some(json!({
        "type": "section",
        "text": { "type": "mrkdwn", "text": text },
    }))
}

fn notes_section(notes: &[String]) -> Option<Value> {
    if notes.is_empty() {
        return None;
    }
    let mut text = String::from("*Details*");
    for note in notes {
        let item = format!("• {}", escape(note));
        if text.chars().count() + 1 + item.chars().count() > LINES_TEXT_BUDGET {
            break;
        }
        text.push('\n');
        text.push_str(&item);
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
#[path = "render_test.rs"]
mod tests;
