//! Rendering what arrives on the alerts topic as a Slack Block Kit message: an [`Alert`] of
//! dialtone's, or a [`CloudWatchAlarm`] state change. Pure: no I/O, no clock.
//!
//! Slack limits respected here: a header's text is at most 150 characters, a section's text
//! at most 3000, and a message at most 50 blocks (these have at most 5).

use dialtone_shared::alert::{human_duration, Alert, AlertKind, LineChange, LineImpact, Severity};
use serde::Deserialize;
use serde_json::{json, Value};

/// At most this many lines are listed; the rest are summarised as "…and N more".
pub const MAX_LISTED_LINES: usize = 20;

/// Slack's limit on a header block's text.
const HEADER_MAX_CHARS: usize = 150;

/// Slack's limit on a section's text is 3000; the margin leaves room for the "…and N more".
const LINES_TEXT_BUDGET: usize = 2900;

/// A message on the alerts topic. CloudWatch alarms publish their own JSON to the same
/// topic, with no message attributes, so the body alone says which one it is.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Notification {
    Alert(Alert),
    Alarm(CloudWatchAlarm),
}

impl Notification {
    /// The whole message body posted to the incoming webhook.
    pub fn to_slack(&self) -> Value {
        match self {
            Self::Alert(alert) => render(alert),
            Self::Alarm(alarm) => render_alarm(alarm),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Self::Alert(alert) => alert.kind.as_str(),
            Self::Alarm(_) => "cloudwatch_alarm",
        }
    }

    pub fn severity(&self) -> Severity {
        match self {
            Self::Alert(alert) => alert.severity,
            Self::Alarm(alarm) => alarm.new_state_value.severity(),
        }
    }
}

/// The SNS message of a CloudWatch alarm's state change: the parts a reader needs.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CloudWatchAlarm {
    pub alarm_name: String,
    /// `null` when the alarm has none.
    pub alarm_description: Option<String>,
    pub new_state_value: AlarmState,
    pub new_state_reason: String,
    /// As CloudWatch writes it (`2026-11-22T10:07:41.512+0000`): shown, never computed with.
    pub state_change_time: String,
    /// CloudWatch's name for it, e.g. `Asia Pacific (Mumbai)`.
    pub region: String,
    pub trigger: Option<AlarmTrigger>,
}

/// The metric an alarm watches (absent from the trigger of a metric-math alarm).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AlarmTrigger {
    pub metric_name: Option<String>,
    pub namespace: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AlarmState {
    Alarm,
    Ok,
    InsufficientData,
}

impl AlarmState {
    fn severity(self) -> Severity {
        match self {
            Self::Alarm => Severity::Critical,
            // A metric that stopped arriving may be a silent outage: worth a look.
            Self::InsufficientData => Severity::Warning,
            Self::Ok => Severity::Info,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Alarm => "ALARM",
            Self::Ok => "OK",
            Self::InsufficientData => "INSUFFICIENT_DATA",
        }
    }
}

/// The message for a CloudWatch alarm's state change.
pub fn render_alarm(alarm: &CloudWatchAlarm) -> Value {
    let subject = alarm_subject(alarm);
    let emoji = match alarm.new_state_value {
        AlarmState::Alarm => ":rotating_light:",
        AlarmState::Ok => ":white_check_mark:",
        AlarmState::InsufficientData => ":warning:",
    };
    let mut fields = vec![
        field("State", alarm.new_state_value.as_str()),
        field("When", &escape(&alarm.state_change_time)),
        field("Region", &escape(&alarm.region)),
    ];
    if let Some(metric) = alarm.trigger.as_ref().and_then(metric_name) {
        fields.push(field("Metric", &escape(&metric)));
    }
    let mut blocks = vec![
        header_block(&format!("{emoji} {subject}")),
        json!({ "type": "section", "fields": fields }),
    ];
    if let Some(description) = alarm
        .alarm_description
        .as_deref()
        .filter(|d| !d.trim().is_empty())
    {
        blocks.push(text_section("Description", description));
    }
    blocks.push(text_section("Reason", &alarm.new_state_reason));
    blocks.push(json!({
        "type": "context",
        "elements": [{
            "type": "mrkdwn",
            "text": format!("CloudWatch alarm `{}`", escape(&alarm.alarm_name)),
        }],
    }));
    json!({ "text": escape(&subject), "blocks": blocks })
}

fn alarm_subject(alarm: &CloudWatchAlarm) -> String {
    let name = &alarm.alarm_name;
    match alarm.new_state_value {
        AlarmState::Alarm => format!("[ALARM] {name}"),
        AlarmState::Ok => format!("[RESOLVED] {name} is OK again"),
        AlarmState::InsufficientData => format!("[INSUFFICIENT DATA] {name}"),
    }
}

fn metric_name(trigger: &AlarmTrigger) -> Option<String> {
    match (&trigger.namespace, &trigger.metric_name) {
        (Some(namespace), Some(name)) => Some(format!("{namespace}/{name}")),
        (None, Some(name)) => Some(name.clone()),
        (_, None) => None,
    }
}

/// A labelled section of free text, cut to Slack's limit.
fn text_section(label: &str, raw: &str) -> Value {
    let text: String = format!("*{label}*\n{}", escape(raw))
        .chars()
        .take(LINES_TEXT_BUDGET)
        .collect();
    json!({
        "type": "section",
        "text": { "type": "mrkdwn", "text": text },
    })
}

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
        "text": dialtone_shared::notice::subject(alert),
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
    header_block(&format!(
        "{} {}",
        emoji(alert),
        dialtone_shared::notice::subject(alert)
    ))
}

fn header_block(text: &str) -> Value {
    let text: String = text.chars().take(HEADER_MAX_CHARS).collect();
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
    if let Some(says) = line.exotel_says() {
        item.push_str(" — Exotel: ");
        item.push_str(&escape(&says));
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
