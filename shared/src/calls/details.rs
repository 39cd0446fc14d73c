//! What a call keeps besides its outcome: the DTMF presses in the order they were made,
//! and VoIPstudio's wrap-up panel with how long it stayed open. Both fold in any order and
//! any multiplicity, as the rest of the call does.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One DTMF press (VoIPstudio `call.dtmf`). Presses are ordered by when they were made
/// and told apart by their event's id: the same key pressed twice is two presses, the same
/// event delivered twice is one. `event_time` is to the second; the id breaks ties in the
/// right order, as VoIPstudio's ids carry the time in hex followed by finer digits (the
/// document's `uk003.608920d55f7ac3…`: `608920d5` is its 08:46:13).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DtmfPress {
    /// `None` for a press kept before presses had times (only in the `dtmf` list then):
    /// those sort first, in the order they were kept.
    pub at: Option<DateTime<Utc>>,
    pub event_id: Option<String>,
    pub tag: Option<String>,
    pub target: Option<String>,
}

impl DtmfPress {
    /// `"* U:123456"`: the tag and target as the `dtmf` list shows them.
    pub fn entry(&self) -> String {
        format!(
            "{} {}",
            self.tag.as_deref().unwrap_or(""),
            self.target.as_deref().unwrap_or("")
        )
        .trim()
        .to_owned()
    }
}

/// Adds `press` to `presses` (sorted, without repeats) and returns the `dtmf` list in the
/// order of the presses. `legacy` is the `dtmf` list of a row stored before presses were
/// kept: its entries become presses without a time, so none is lost.
pub fn add_press(presses: &mut Vec<DtmfPress>, legacy: &[String], press: DtmfPress) -> Vec<String> {
    if presses.is_empty() {
        presses.extend(legacy.iter().enumerate().map(|(i, entry)| {
            let (tag, target) = match entry.split_once(' ') {
                Some((tag, target)) => (Some(tag.to_owned()), Some(target.to_owned())),
                None => (Some(entry.clone()), None),
            };
            DtmfPress {
                at: None,
                // Their order as kept, since they have no time to sort by.
                event_id: Some(format!("legacy-{i:04}")),
                tag,
                target,
            }
        }));
    }
    if let Err(at) = presses.binary_search(&press) {
        presses.insert(at, press);
    }
    presses.iter().map(DtmfPress::entry).collect()
}

/// The wrap-up panel of a queue call: opened (`START`), then closed by the agent (`END`)
/// or by itself (`TIMEOUT`). The times are kept apart so that a `START` arriving after its
/// `END` does not reopen the panel.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrapUp {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<DateTime<Utc>>,
    /// `END` or `TIMEOUT`: how the panel closed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
}

impl WrapUp {
    /// Folds one `queue.wrapup` state in: the earliest start; the earliest close (and
    /// how it closed; at the same second, `END` before `TIMEOUT`, so the order of
    /// delivery never decides). Returns `false` for a state the document does not name.
    pub fn fold(&mut self, state: &str, at: DateTime<Utc>) -> bool {
        match state {
            "START" => {
                self.started_at = Some(self.started_at.map_or(at, |s| s.min(at)));
                true
            }
            "END" | "TIMEOUT" => {
                let candidate = (at, state.to_owned());
                let keep = match (self.ended_at, &self.end) {
                    (Some(t), Some(end)) => (t, end.clone()) <= candidate,
                    _ => false,
                };
                if !keep {
                    self.ended_at = Some(at);
                    self.end = Some(state.to_owned());
                }
                true
            }
            _ => false,
        }
    }

    /// The latest meaningful state: how it closed once it closed, else `START`.
    pub fn state(&self) -> Option<String> {
        self.end
            .clone()
            .or_else(|| self.started_at.map(|_| "START".to_owned()))
    }

    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// How long the panel was open, once both its opening and its closing are known.
    pub fn seconds(&self) -> Option<i64> {
        Some((self.ended_at? - self.started_at?).num_seconds().max(0))
    }
}

#[cfg(test)]
#[path = "details_test.rs"]
mod tests;
