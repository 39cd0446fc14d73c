//! An SMS gateway that stops sending: a phone whose outgoing messages stay `queued` (or
//! `failed_queued`) while none of its messages moves on. Telerivet sends no failure for
//! that; the messages just wait. The SMS watchdog's pure decisions live here: which rows
//! the index holds, which phones are stuck, and the alert that names one and the one that
//! says it sends again.
//!
//! A phone held back by its own send limit (an Android phone sends some hundreds an hour)
//! keeps messages queued for a long time while it sends: it is not stuck, because its
//! messages keep moving.

use super::decide::{is_waiting, phone_moved, MessageState, TelerivetState};
use crate::alert::{human_duration, Alert, AlertKind, DedupKey, Severity, Source};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The index partition (`gsi1pk`) of outgoing messages still waiting, by when each was
/// queued: what the watchdog reads, only up to the threshold.
pub const SMS_WAITING: &str = "SMS_WAITING";
/// The index partition of the phones whose "not sending" alert stands.
pub const PHONES_NOT_SENDING: &str = "SMS_PHONES_NOT_SENDING";

/// The index partition of the messages one phone moved on, by when: one query says
/// whether it sent anything since a moment.
pub fn moved_partition(phone_id: &str) -> String {
    format!("SMS_MOVED#{phone_id}")
}

/// Where a message's row is indexed: waiting, by when it was queued; moved on, under its
/// phone by when. A message without a phone (sent before phones were kept, or by a route
/// Telerivet does not name) is in neither.
pub fn message_index(state: &TelerivetState) -> Option<(String, String)> {
    let TelerivetState::Message(m) = state else {
        return None;
    };
    let phone = m.phone_id.as_deref()?;
    if is_waiting(&m.status) {
        return Some((SMS_WAITING.into(), m.queued_at?.to_rfc3339()));
    }
    if phone_moved(&m.status) {
        return Some((moved_partition(phone), m.moved_at?.to_rfc3339()));
    }
    None
}

/// When a phone counts as not sending.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StuckPolicy {
    /// A message waiting longer than this is stuck, and a phone that moved nothing for
    /// this long is not sending.
    pub after: Duration,
    /// Stuck messages a phone must have before it is alerted.
    pub at_least: usize,
}

/// A phone's stuck messages, as one run of the watchdog saw them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stuck {
    pub phone_id: String,
    pub project_id: Option<String>,
    pub messages: usize,
    pub oldest_message: String,
    pub oldest_queued_at: DateTime<Utc>,
    /// When the phone last connected to Telerivet, where its REST API said.
    pub last_active: Option<DateTime<Utc>>,
}

impl Stuck {
    /// The same phone seen by another reader (the webhooks' rows, Telerivet's REST API):
    /// the larger count, the older message, the activity known.
    pub fn merge(&mut self, other: Stuck) {
        self.messages = self.messages.max(other.messages);
        if other.oldest_queued_at < self.oldest_queued_at {
            self.oldest_queued_at = other.oldest_queued_at;
            self.oldest_message = other.oldest_message;
        }
        self.last_active = self.last_active.max(other.last_active);
        self.project_id = self.project_id.take().or(other.project_id);
    }
}

/// The phones with messages waiting since before `now - policy.after`, from the waiting
/// rows (message id, state): every such phone, however few (a phone is alerted from
/// `policy.at_least` of them, and resolved only once none is left).
pub fn stuck_phones(
    waiting: &[(String, MessageState)],
    now: DateTime<Utc>,
    policy: &StuckPolicy,
) -> BTreeMap<String, Stuck> {
    let cutoff = now - policy.after;
    let mut phones: BTreeMap<String, Stuck> = BTreeMap::new();
    for (id, m) in waiting {
        // The index is read eventually consistently: a row may have moved since.
        let (Some(phone), Some(queued_at)) = (&m.phone_id, m.queued_at) else {
            continue;
        };
        if !is_waiting(&m.status) || queued_at >= cutoff {
            continue;
        }
        let seen = Stuck {
            phone_id: phone.clone(),
            project_id: m.project_id.clone(),
            messages: 1,
            oldest_message: id.clone(),
            oldest_queued_at: queued_at,
            last_active: None,
        };
        match phones.get_mut(phone) {
            Some(stuck) => {
                let messages = stuck.messages + 1;
                stuck.merge(seen);
                stuck.messages = messages;
            }
            None => {
                phones.insert(phone.clone(), seen);
            }
        }
    }
    phones
}

/// Whether a phone with these stuck messages, which last moved a message at `last_move`,
/// is not sending: enough of them, and nothing moved for the threshold.
pub fn is_not_sending(
    stuck: &Stuck,
    last_move: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    policy: &StuckPolicy,
) -> bool {
    stuck.messages >= policy.at_least && last_move.is_none_or(|t| t < now - policy.after)
}

/// What the watchdog keeps of a phone it alerted: indexed under [`PHONES_NOT_SENDING`]
/// until resolved, then kept unindexed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhoneState {
    pub phone_id: String,
    #[serde(default)]
    pub project_id: Option<String>,
    /// When the phone crossed the threshold: the later of its oldest stuck message's
    /// queue time and its last move, plus the threshold. The same whichever run sees it,
    /// and another for each episode (a phone that moved and stopped again).
    pub stuck_at: DateTime<Utc>,
    pub alerted_at: DateTime<Utc>,
    pub oldest_message: String,
    pub messages: usize,
    #[serde(default)]
    pub resolved_at: Option<DateTime<Utc>>,
}

impl PhoneState {
    pub fn index(&self) -> Option<(String, String)> {
        self.resolved_at
            .is_none()
            .then(|| (PHONES_NOT_SENDING.into(), self.stuck_at.to_rfc3339()))
    }
}

fn dedup_key(phone_id: &str) -> DedupKey {
    DedupKey::scoped(Source::Telerivet, &format!("sms-gateway:{phone_id}"))
}

/// A stuck phone that moved nothing since `last_move` (or ever): its state and its alert,
/// naming the phone and its oldest stuck message.
pub fn not_sending(
    stuck: &Stuck,
    last_move: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    policy: &StuckPolicy,
) -> (PhoneState, Alert) {
    let stuck_at = stuck
        .oldest_queued_at
        .max(last_move.unwrap_or(DateTime::<Utc>::MIN_UTC))
        + policy.after;
    let waited = (now - stuck.oldest_queued_at).num_seconds();
    let mut notes = vec![
        format!(
            "oldest stuck message {} queued {} ago ({})",
            stuck.oldest_message,
            human_duration(waited),
            stuck.oldest_queued_at.to_rfc3339()
        ),
        match last_move {
            Some(t) => format!(
                "its last message sent {} ago",
                human_duration((now - t).num_seconds())
            ),
            None => "no message of this phone seen sent".to_owned(),
        },
    ];
    if let Some(active) = stuck.last_active {
        notes.push(format!(
            "last connected to Telerivet {} ago",
            human_duration((now - active).num_seconds())
        ));
    }
    notes.push("Check the phone: powered, online, the Telerivet app running, SIM credit".into());
    let state = PhoneState {
        phone_id: stuck.phone_id.clone(),
        project_id: stuck.project_id.clone(),
        stuck_at,
        alerted_at: now,
        oldest_message: stuck.oldest_message.clone(),
        messages: stuck.messages,
        resolved_at: None,
    };
    let alert = Alert {
        dedup_key: dedup_key(&stuck.phone_id),
        source: Source::Telerivet,
        kind: AlertKind::SmsGatewayNotSending,
        severity: Severity::Warning,
        status: format!(
            "phone {} has {} message(s) waiting, none sent for {}",
            stuck.phone_id,
            stuck.messages,
            human_duration(waited)
        ),
        occurred_at: stuck_at,
        lines: Vec::new(),
        lines_omitted: 0,
        lines_affected: 0,
        outage_seconds: Some(waited),
        notes,
    };
    (state, alert)
}

/// Whether an alerted phone is back, and since when: it moved a message after the alert
/// (at that move), or none of its messages waits past the threshold any more (at `now`;
/// `None` for `waiting` when the run could not tell).
pub fn back(
    state: &PhoneState,
    last_move: Option<DateTime<Utc>>,
    waiting: Option<bool>,
    now: DateTime<Utc>,
) -> Option<(DateTime<Utc>, &'static str)> {
    match last_move {
        Some(t) if t > state.alerted_at => {
            Some((t, "a message of this phone was sent since the alert"))
        }
        _ if waiting == Some(false) => {
            Some((now, "none of this phone's messages is waiting any more"))
        }
        _ => None,
    }
}

/// The phone sends again since `at` (`why` says how it showed it): its state, resolved,
/// and the alert saying so, with how long it was stuck.
pub fn sending_again(state: &PhoneState, at: DateTime<Utc>, why: &str) -> (PhoneState, Alert) {
    let stuck_for = (at - state.stuck_at).num_seconds().max(0);
    let mut resolved = state.clone();
    resolved.resolved_at = Some(at);
    let alert = Alert {
        dedup_key: dedup_key(&state.phone_id),
        source: Source::Telerivet,
        kind: AlertKind::SmsGatewaySending,
        severity: Severity::Info,
        status: format!("phone {} is sending again", state.phone_id),
        occurred_at: at,
        lines: Vec::new(),
        lines_omitted: 0,
        lines_affected: 0,
        outage_seconds: Some(stuck_for),
        notes: vec![
            why.to_owned(),
            format!(
                "not sending for {} past the threshold",
                human_duration(stuck_for)
            ),
        ],
    };
    (resolved, alert)
}

#[cfg(test)]
#[path = "gateway_test.rs"]
mod tests;
