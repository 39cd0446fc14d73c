//! Auto-replies to incoming messages, answered in the Webhook API's response format: "one or
//! more SMS messages (or USSD requests)", each with `content`, `to_number`, `message_type`,
//! `route_id`, `status_url` and `status_secret`, and Rules Engine `variables`, among them
//! `state.id`, "the contact's current state within this service", which moves a contact
//! through a multi-step conversation.
//!
//! The rules (`TELERIVET_AUTO_REPLIES`, JSON; docs/providers.md has the format with
//! examples) are read once at cold start and every mistake is refused then, naming the rule.
//! A message is answered by the first rule for the contact's current state that matches,
//! else by the first rule for any state, else by the default.

use super::model::IncomingMessage;
use reqwest::Url;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// `sms` (the default) or `ussd`: what Telerivet sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReplyType {
    Sms,
    Ussd,
}

/// One message of a reply, as the Webhook API takes it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplyMessage {
    /// The SMS text ("Ignored if the message_type is ussd").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Whom to send it to; the sender of the incoming message when omitted. For a USSD
    /// request, the code to dial (`*104*12312312*456#`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_type: Option<ReplyType>,
    /// The phone or route to send from; the one that received the message when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route_id: Option<String>,
    /// Where Telerivet posts this message's status changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_url: Option<String>,
    /// Passed back as `secret` to `status_url`. Never stored: read into the rules' secrets
    /// at cold start and put into each answer ([`AutoReplies::with_secrets`]). Readable by whoever can read the function's
    /// configuration: for dialtone's own webhook, `status_secret_from` is the safe way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_secret: Option<String>,
    /// `"webhook"`: the status secret is dialtone's own Telerivet webhook secret, as it is
    /// when the answer is given (so status notifications sent to dialtone's own URL pass,
    /// after a rotation too, and no secret is written in the rules).
    #[serde(default, skip_serializing)]
    pub status_secret_from: Option<SecretFrom>,
}

/// Where a status secret comes from, other than the rules' text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SecretFrom {
    Webhook,
}

/// A status URL's secret, as the rules give it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum StatusSecret {
    Text(String),
    Webhook,
}

/// What a rule does to the contact's conversation state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum NextState {
    /// Leaves it as it is.
    #[default]
    Keep,
    /// Moves the contact to this step.
    Set(String),
    /// Ends the conversation (`"next_state": null`).
    Clear,
}

/// One rule, read and checked.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AutoReplyRule {
    /// The first word of the message, lower-cased; `None`: any message (state rules only).
    pub keyword: Option<String>,
    /// The contact's state this rule answers in; `None`: any state.
    pub state: Option<String>,
    /// The incoming message type it answers; `None`: text messages (`sms`, `mms`).
    pub incoming_type: Option<String>,
    pub messages: Vec<ReplyMessage>,
    pub next_state: NextState,
    pub variables: Map<String, Value>,
}

/// A rule as written in the configuration.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleText {
    #[serde(default)]
    keyword: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    incoming_type: Option<String>,
    /// Shorthand for one SMS with this content, sent before `messages`.
    #[serde(default)]
    reply: Option<String>,
    #[serde(default)]
    messages: Vec<ReplyMessage>,
    /// Absent: keep; null: clear; a string: move there.
    #[serde(default, deserialize_with = "present")]
    next_state: Option<Value>,
    #[serde(default)]
    variables: Map<String, Value>,
}

/// A field given as `null` is `Some(Null)`, told apart from one not given (`None`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesText {
    #[serde(default)]
    rules: Vec<RuleText>,
    #[serde(default)]
    default: Option<RuleText>,
}

/// Incoming message types Telerivet names: "sms, mms, ussd, or call".
const INCOMING_TYPES: [&str; 4] = ["sms", "mms", "ussd", "call"];

impl RuleText {
    fn check(self, name: &str, is_default: bool) -> Result<AutoReplyRule, String> {
        let keyword = self
            .keyword
            .map(|k| k.trim().to_lowercase())
            .filter(|k| !k.is_empty());
        let state = self
            .state
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty());
        if !is_default && keyword.is_none() && state.is_none() {
            return Err(format!("{name} needs a keyword or a state"));
        }
        if is_default && (keyword.is_some() || state.is_some()) {
            return Err(format!(
                "{name} answers whatever no rule does: give it no keyword or state"
            ));
        }
        if let Some(word) = keyword
            .as_deref()
            .filter(|k| k.contains(char::is_whitespace))
        {
            return Err(format!(
                "{name}: the keyword {word:?} is more than one word"
            ));
        }
        let incoming_type = match self.incoming_type.map(|t| t.trim().to_lowercase()) {
            Some(t) if !INCOMING_TYPES.contains(&t.as_str()) => {
                return Err(format!(
                    "{name}: incoming_type {t:?} is none of {INCOMING_TYPES:?}"
                ))
            }
            other => other,
        };
        let mut messages: Vec<ReplyMessage> = self
            .reply
            .filter(|r| !r.is_empty())
            .map(|content| ReplyMessage {
                content: Some(content),
                ..ReplyMessage::default()
            })
            .into_iter()
            .collect();
        messages.extend(self.messages);
        for (i, message) in messages.iter().enumerate() {
            check_message(message).map_err(|why| format!("{name}, message {}: {why}", i + 1))?;
        }
        let next_state = match self.next_state {
            None => NextState::Keep,
            Some(Value::Null) => NextState::Clear,
            Some(Value::String(s)) if !s.trim().is_empty() => NextState::Set(s.trim().to_owned()),
            Some(other) => {
                return Err(format!(
                    "{name}: next_state {other} is neither a state's name nor null"
                ))
            }
        };
        if next_state != NextState::Keep && self.variables.contains_key("state.id") {
            return Err(format!(
                "{name} sets the state twice (next_state and variables.state.id)"
            ));
        }
        if messages.is_empty() && next_state == NextState::Keep && self.variables.is_empty() {
            return Err(format!(
                "{name} does nothing: give it a reply, messages, next_state or variables"
            ));
        }
        Ok(AutoReplyRule {
            keyword,
            state,
            incoming_type,
            messages,
            next_state,
            variables: self.variables,
        })
    }
}

fn check_message(message: &ReplyMessage) -> Result<(), String> {
    match message.message_type.unwrap_or(ReplyType::Sms) {
        ReplyType::Sms if message.content.as_deref().is_none_or(str::is_empty) => {
            return Err("an SMS needs its content".into())
        }
        ReplyType::Ussd if message.to_number.as_deref().is_none_or(str::is_empty) => {
            return Err("a USSD request needs to_number, the code to dial".into())
        }
        _ => {}
    }
    if let Some(url) = &message.status_url {
        // Named by its scheme and host only: a URL can carry a token.
        let parsed = Url::parse(url).map_err(|e| format!("status_url is not a URL ({e})"))?;
        if !matches!(parsed.scheme(), "https" | "http") {
            return Err(format!(
                "status_url on {} is not an http(s) URL",
                parsed.host_str().unwrap_or("no host")
            ));
        }
    }
    if (message.status_secret.is_some() || message.status_secret_from.is_some())
        && message.status_url.is_none()
    {
        return Err("status_secret without a status_url".into());
    }
    if message.status_secret.is_some() && message.status_secret_from.is_some() {
        return Err("both status_secret and status_secret_from".into());
    }
    Ok(())
}

/// The configured auto-replies.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AutoReplies {
    pub rules: Vec<AutoReplyRule>,
    pub default: Option<AutoReplyRule>,
    /// Each status URL's secret, put into every answer (never into what is stored).
    secrets: BTreeMap<String, StatusSecret>,
}

impl AutoReplies {
    /// Reads and checks the rules; the error names the rule and what is wrong with it, never
    /// a value (serde's own message may quote one: a secret).
    pub fn from_json(text: &str) -> Result<Self, String> {
        let written: RulesText = serde_json::from_str(text).map_err(|e| {
            let what = e.to_string();
            let what = what.split(" at line ").next().unwrap_or_default();
            let kind = if what.starts_with("unknown field") || what.starts_with("unknown variant") {
                // Names a field or type of the format, not a value.
                what.to_owned()
            } else {
                format!("{:?} error", e.classify())
            };
            format!("{kind} at line {}, column {}", e.line(), e.column())
        })?;
        let mut rules = written
            .rules
            .into_iter()
            .enumerate()
            .map(|(i, rule)| rule.check(&format!("rule {}", i + 1), false))
            .collect::<Result<Vec<_>, _>>()?;
        let mut default = written
            .default
            .map(|rule| rule.check("the default", true))
            .transpose()?;
        // The secrets move out of the messages: what is decided and stored never holds one.
        let mut secrets = BTreeMap::new();
        for message in rules
            .iter_mut()
            .chain(&mut default)
            .flat_map(|r| &mut r.messages)
        {
            let secret = match (
                message.status_secret.take(),
                message.status_secret_from.take(),
            ) {
                (Some(text), _) => StatusSecret::Text(text),
                (None, Some(SecretFrom::Webhook)) => StatusSecret::Webhook,
                (None, None) => continue,
            };
            let Some(url) = &message.status_url else {
                continue;
            };
            if secrets
                .insert(url.clone(), secret.clone())
                .is_some_and(|s| s != secret)
            {
                return Err("two status secrets for one status_url".into());
            }
        }
        Ok(Self {
            rules,
            default,
            secrets,
        })
    }

    /// The rule that answers `message`, if any.
    fn rule_for(&self, message: &IncomingMessage) -> Option<&AutoReplyRule> {
        let kind = message
            .message_type
            .as_deref()
            .map(str::to_lowercase)
            .unwrap_or_else(|| "sms".into());
        let answers = |rule: &AutoReplyRule| match &rule.incoming_type {
            Some(t) => *t == kind,
            None => kind == "sms" || kind == "mms",
        };
        let word = message
            .content
            .split_whitespace()
            .next()
            .map(|w| {
                w.trim_matches(|c: char| c.is_ascii_punctuation())
                    .to_lowercase()
            })
            .unwrap_or_default();
        let matches = |rule: &&AutoReplyRule| {
            answers(rule) && rule.keyword.as_deref().is_none_or(|k| k == word)
        };
        let current = message
            .state
            .as_ref()
            .and_then(|s| s.id.as_deref())
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let in_state = self
            .rules
            .iter()
            .filter(|r| current.is_some() && r.state.as_deref() == current)
            .find(matches);
        in_state
            .or_else(|| {
                self.rules
                    .iter()
                    .filter(|r| r.state.is_none())
                    .find(matches)
            })
            .or(self.default.as_ref().filter(|d| answers(d)))
    }

    /// The response body for an incoming message, or `None` to answer nothing (a message
    /// type no rule answers: a call or a USSD session gets no SMS nobody asked for).
    pub fn reply_for(&self, message: &IncomingMessage) -> Option<Value> {
        let rule = self.rule_for(message)?;
        let mut body = Map::new();
        if !rule.messages.is_empty() {
            body.insert(
                "messages".into(),
                serde_json::to_value(&rule.messages).ok()?,
            );
        }
        let mut variables = rule.variables.clone();
        match &rule.next_state {
            NextState::Keep => {}
            NextState::Set(state) => {
                variables.insert("state.id".into(), Value::String(state.clone()));
            }
            NextState::Clear => {
                variables.insert("state.id".into(), Value::Null);
            }
        }
        if !variables.is_empty() {
            body.insert("variables".into(), Value::Object(variables));
        }
        (!body.is_empty()).then_some(Value::Object(body))
    }

    /// Whether some status URL's secret is the webhook's own.
    pub fn needs_webhook_secret(&self) -> bool {
        self.secrets.values().any(|s| *s == StatusSecret::Webhook)
    }

    /// A reply as it is answered: each status URL's secret put in, from the rules, or the
    /// webhook's own (`webhook`, when it could be read). The reply as decided and stored
    /// holds none.
    pub fn with_secrets(&self, mut reply: Value, webhook: Option<&str>) -> Value {
        for message in messages_of(&mut reply) {
            let url = message.get("status_url").and_then(Value::as_str);
            let secret = match url.and_then(|url| self.secrets.get(url)) {
                Some(StatusSecret::Text(text)) => Some(text.as_str()),
                Some(StatusSecret::Webhook) => webhook,
                None => None,
            };
            if let Some(secret) = secret {
                message.insert("status_secret".into(), Value::String(secret.to_owned()));
            }
        }
        reply
    }
}

fn messages_of(reply: &mut Value) -> impl Iterator<Item = &mut Map<String, Value>> {
    reply
        .get_mut("messages")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object_mut)
}

#[cfg(test)]
#[path = "autoreply_test.rs"]
mod tests;
