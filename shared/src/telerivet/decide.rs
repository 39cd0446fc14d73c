//! What a Telerivet event changes: the status a message settles on (whatever order the
//! statuses arrive in), a contact's and a message's latest metadata, a broadcast.

use super::model::{EventKind, TelerivetEvent};
use crate::store::{StateKey, TelerivetObject};
use chrono::{DateTime, Duration, DurationRound, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The outgoing statuses that count as a failure to reach the customer.
pub const FAILED_STATUSES: [&str; 2] = ["failed", "not_delivered"];

/// The statuses of a message its phone has not sent yet: queued, or failed and to be
/// tried again.
pub fn is_waiting(status: &str) -> bool {
    matches!(status, "queued" | "failed_queued")
}

/// The statuses that show the phone handled the message (a cancellation is the user's).
pub fn phone_moved(status: &str) -> bool {
    matches!(status, "sent" | "delivered" | "not_delivered" | "failed")
}

/// How far along its life a status is: a status never replaces one of a higher rank, so
/// a late `sent` does not overwrite `delivered`. Unknown statuses rank lowest.
pub fn status_rank(status: &str) -> u8 {
    match status {
        "queued" => 1,
        "failed_queued" => 2,
        "sent" => 3,
        "delivered" | "not_delivered" | "failed" | "cancelled" => 4,
        _ => 0,
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageState {
    pub status: String,
    #[serde(default)]
    pub error_message: Option<String>,
    /// Every status seen, in arrival order.
    #[serde(default)]
    pub statuses_seen: Vec<String>,
    #[serde(default)]
    pub project_id: Option<String>,
    pub updated_at: DateTime<Utc>,
    /// While the message is failed: when its failure was first received, which names the
    /// failure-counting window it was counted in. Telerivet's `send_status` carries no time
    /// of its own, so every retry of that status judges this window, not its own arrival's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_at: Option<DateTime<Utc>>,
    /// The phone (basic route) sending it: the SMS watchdog judges each phone apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_id: Option<String>,
    /// When it was first queued: Telerivet's `time_created`, else the first status's
    /// arrival. A message still waiting long after this is stuck.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queued_at: Option<DateTime<Utc>>,
    /// When its phone first moved it on (sent, delivered, failed): proof the phone sends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved_at: Option<DateTime<Utc>>,
    /// When the contact first clicked a short link in it (Telerivet's `time_clicked`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clicked_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactState {
    pub last_update_type: String,
    pub deleted: bool,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub phone_number: Option<String>,
    #[serde(default)]
    pub send_blocked: Option<bool>,
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
    #[serde(default)]
    pub group_ids: Vec<String>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetadataState {
    pub last_update_type: String,
    #[serde(default)]
    pub starred: Option<bool>,
    #[serde(default)]
    pub label_ids: Vec<String>,
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
    #[serde(default)]
    pub in_progress: Option<bool>,
    pub call_complete: bool,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BroadcastState {
    #[serde(default)]
    pub estimated_count: Option<i64>,
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default)]
    pub recipients_str: Option<String>,
    #[serde(default)]
    pub user_name: Option<String>,
    pub received_at: DateTime<Utc>,
}

/// The state row an event keeps, one per message, contact or broadcast.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TelerivetState {
    Message(MessageState),
    Contact(ContactState),
    Metadata(MetadataState),
    Broadcast(BroadcastState),
}

impl TelerivetEvent {
    /// The state row this event moves, if any.
    pub fn state_key(&self) -> Option<StateKey> {
        let (object, id) = match &self.kind {
            EventKind::SendStatus(s) => (TelerivetObject::Message, &s.id),
            EventKind::MessageMetadata(m) => (TelerivetObject::MessageMetadata, &m.id),
            EventKind::ContactUpdate(c) => (TelerivetObject::Contact, &c.id),
            EventKind::SendBroadcast(b) => (TelerivetObject::Broadcast, &b.id),
            EventKind::IncomingMessage(_) | EventKind::Unknown { .. } => return None,
        };
        Some(StateKey::Telerivet {
            object,
            id: id.clone(),
        })
    }

    /// Equal for a redelivery of the same event, different for a different change.
    pub fn dedup_key(&self) -> String {
        match &self.kind {
            EventKind::IncomingMessage(m) => format!("incoming:{}", m.id),
            // Telerivet tells of the first click on a short link with a `send_status` of the
            // status the message already has, plus `time_clicked` (which later statuses
            // carry too): a change of its own, not a redelivery of that status.
            EventKind::SendStatus(s) => match s.time_clicked {
                Some(clicked) => format!("status:{}:{}:clicked:{clicked}", s.id, s.status),
                None => format!("status:{}:{}", s.id, s.status),
            },
            EventKind::SendBroadcast(b) => format!("broadcast:{}", b.id),
            // A contact or a message's metadata can change the same way twice on purpose;
            // only the very same request is a redelivery.
            EventKind::ContactUpdate(c) => format!("contact:{}:{}", c.id, self.digest()),
            EventKind::MessageMetadata(m) => format!("metadata:{}:{}", m.id, self.digest()),
            EventKind::Unknown { event } => format!("unknown:{event}:{}", self.digest()),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The new state, or `None` to leave it (a late status, or no state for this event).
    pub state: Option<TelerivetState>,
    /// `accepted`, or `superseded` for a status older than the one stored.
    pub outcome: &'static str,
    /// The status the message settled on, when this event moved it.
    pub settled_status: Option<String>,
    /// Set when this event moved a message into a failed status.
    pub newly_failed: bool,
    /// Set when this is the first status heard of an outgoing message: one send.
    pub first_heard: bool,
    /// Set when this event brought the first click on one of the message's short links.
    pub first_click: bool,
}

pub fn decide(
    prev: Option<&TelerivetState>,
    event: &TelerivetEvent,
    now: DateTime<Utc>,
) -> Decision {
    let accepted = |state| Decision {
        state: Some(state),
        outcome: "accepted",
        settled_status: None,
        newly_failed: false,
        first_heard: false,
        first_click: false,
    };
    match &event.kind {
        EventKind::SendStatus(s) => {
            let before = match prev {
                Some(TelerivetState::Message(m)) => Some(m),
                _ => None,
            };
            let mut seen = before.map(|m| m.statuses_seen.clone()).unwrap_or_default();
            seen.push(s.status.clone());
            let moves = before.is_none_or(|m| status_rank(&s.status) > status_rank(&m.status));
            // The first click is kept once, at Telerivet's time for it.
            let clicked = s.time_clicked.and_then(|t| DateTime::from_timestamp(t, 0));
            let first_click = clicked.is_some() && before.is_none_or(|m| m.clicked_at.is_none());
            let clicked_at = before.and_then(|m| m.clicked_at).or(clicked);
            if !moves {
                let mut kept = before.cloned().map(TelerivetState::Message);
                if let Some(TelerivetState::Message(m)) = kept.as_mut() {
                    m.statuses_seen = seen;
                    m.clicked_at = clicked_at;
                }
                return Decision {
                    state: kept,
                    outcome: if first_click { "clicked" } else { "superseded" },
                    settled_status: None,
                    newly_failed: false,
                    first_heard: false,
                    first_click,
                };
            }
            let was_failed = before.is_some_and(|m| FAILED_STATUSES.contains(&m.status.as_str()));
            let failed = FAILED_STATUSES.contains(&s.status.as_str());
            // Kept from the first failure while the message stays failed.
            let failed_at = failed.then(|| {
                before
                    .filter(|_| was_failed)
                    .and_then(|m| m.failed_at)
                    .unwrap_or(now)
            });
            // Telerivet's own time, unless it is missing or from the future (a clock or a
            // hand-written body): then the first arrival stands in.
            let created = s
                .time_created
                .and_then(|t| DateTime::from_timestamp(t, 0))
                .filter(|t| *t <= now);
            let queued_at = before.and_then(|m| m.queued_at).or(created).or(Some(now));
            let moved_at = before
                .and_then(|m| m.moved_at)
                .or_else(|| phone_moved(&s.status).then_some(now));
            Decision {
                state: Some(TelerivetState::Message(MessageState {
                    status: s.status.clone(),
                    error_message: s.error_message.clone().filter(|e| !e.is_empty()),
                    statuses_seen: seen,
                    project_id: s.project_id.clone(),
                    updated_at: now,
                    failed_at,
                    phone_id: s
                        .phone_id
                        .clone()
                        .filter(|p| !p.is_empty())
                        .or_else(|| before.and_then(|m| m.phone_id.clone())),
                    queued_at,
                    moved_at,
                    clicked_at,
                })),
                outcome: "accepted",
                settled_status: Some(s.status.clone()),
                newly_failed: failed && !was_failed,
                first_heard: before.is_none(),
                first_click,
            }
        }
        EventKind::ContactUpdate(c) => accepted(TelerivetState::Contact(ContactState {
            last_update_type: c.update_type.clone(),
            deleted: c.update_type == "delete",
            name: c.name.clone(),
            phone_number: c.phone_number.clone(),
            send_blocked: c.send_blocked,
            vars: c.vars.clone(),
            group_ids: c.group_ids.clone(),
            updated_at: now,
        })),
        EventKind::MessageMetadata(m) => {
            let call_complete = m.update_type == "call_complete"
                || matches!(prev, Some(TelerivetState::Metadata(p)) if p.call_complete);
            accepted(TelerivetState::Metadata(MetadataState {
                last_update_type: m.update_type.clone(),
                starred: m.starred,
                label_ids: m.label_ids.clone(),
                vars: m.vars.clone(),
                in_progress: m.in_progress,
                call_complete,
                updated_at: now,
            }))
        }
        EventKind::SendBroadcast(b) => accepted(TelerivetState::Broadcast(BroadcastState {
            estimated_count: b.estimated_count,
            content: b.content.clone(),
            recipients_str: b.recipients_str.clone(),
            user_name: b.user_name.clone(),
            received_at: now,
        })),
        EventKind::IncomingMessage(_) | EventKind::Unknown { .. } => Decision {
            state: None,
            outcome: "accepted",
            settled_status: None,
            newly_failed: false,
            first_heard: false,
            first_click: false,
        },
    }
}

/// The start of the failure-counting window `now` falls in.
pub fn failure_window_start(now: DateTime<Utc>, window: Duration) -> DateTime<Utc> {
    now.duration_trunc(window).unwrap_or(now)
}

#[cfg(test)]
#[path = "decide_test.rs"]
mod tests;
