//! Auto-replies to incoming messages: a keyword rule or the default, answered in the
//! Webhook API's response format.

use super::model::IncomingMessage;
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// One rule: when the message's first word is `keyword` (any case), reply with `reply`
/// and/or set Rules Engine `variables` (e.g. `{"return_value": false}` to fall through).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoReplyRule {
    #[serde(default)]
    pub keyword: Option<String>,
    #[serde(default)]
    pub reply: Option<String>,
    #[serde(default)]
    pub variables: Map<String, Value>,
}

/// The configured auto-replies (`TELERIVET_AUTO_REPLIES`, JSON):
/// `{"rules": [{"keyword": "HOURS", "reply": "…"}], "default": {"reply": "…"}}`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoReplies {
    #[serde(default)]
    pub rules: Vec<AutoReplyRule>,
    #[serde(default)]
    pub default: Option<AutoReplyRule>,
}

impl AutoReplies {
    pub fn from_json(text: &str) -> Result<Self, String> {
        let replies: Self = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if let Some(rule) = replies
            .rules
            .iter()
            .find(|r| r.keyword.as_deref().is_none_or(|k| k.trim().is_empty()))
        {
            return Err(format!("a rule has no keyword: {rule:?}"));
        }
        Ok(replies)
    }

    /// The response body for an incoming message, or `None` to answer nothing. Only text
    /// messages are answered: a reply to a call or a USSD session would be an SMS nobody
    /// asked for.
    pub fn reply_for(&self, message: &IncomingMessage) -> Option<Value> {
        let texting = matches!(
            message.message_type.as_deref(),
            None | Some("sms") | Some("mms")
        );
        if !texting {
            return None;
        }
        let first_word = message
            .content
            .split_whitespace()
            .next()
            .map(|w| {
                w.trim_matches(|c: char| c.is_ascii_punctuation())
                    .to_lowercase()
            })
            .unwrap_or_default();
        let rule = self
            .rules
            .iter()
            .find(|r| {
                r.keyword
                    .as_deref()
                    .is_some_and(|k| k.trim().to_lowercase() == first_word)
            })
            .or(self.default.as_ref())?;
        let mut body = Map::new();
        if let Some(reply) = rule.reply.as_deref().filter(|r| !r.is_empty()) {
            body.insert("messages".into(), json!([{ "content": reply }]));
        }
        if !rule.variables.is_empty() {
            body.insert("variables".into(), Value::Object(rule.variables.clone()));
        }
        (!body.is_empty()).then_some(Value::Object(body))
    }
}

#[cfg(test)]
#[path = "autoreply_test.rs"]
mod tests;
