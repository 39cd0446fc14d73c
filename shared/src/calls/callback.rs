//! The callback owed to a caller whose call was missed: opened by the miss, closed by
//! answering or calling them; and the watchdog's decision once it is overdue.

use super::decide::{CallState, CallsState, Outcome};
use super::model::{CallDirection, Provider};
use crate::alert::Alert;
use crate::phone::E164;
use crate::store::{CallbackStore, DashboardStore, StateKey, StoreError};
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// The index partition (`gsi1pk`) of callbacks owed and not yet alerted, ordered by the
/// first miss: all the watchdog reads, and only up to the deadline.
pub const CALLBACKS_OPEN: &str = "CALLBACKS_OPEN";
/// The index partition of callbacks owed whose overdue alert is raised: nothing is left
/// to decide about them until they are closed, so the watchdog never reads them (the
/// dashboard does). Their sort keys are those of [`CALLBACKS_OPEN`].
pub const CALLBACKS_ALERTED: &str = "CALLBACKS_ALERTED";

/// Every callback still owed, alerted or not: both partitions (rows written before the
/// second existed are in the first).
pub async fn open_callbacks<S: DashboardStore>(
    store: &S,
) -> Result<Vec<CallbackState>, StoreError> {
    let mut owed = Vec::new();
    for partition in [CALLBACKS_OPEN, CALLBACKS_ALERTED] {
        for state in store.indexed_states::<CallsState>(partition).await? {
            if let CallsState::Callback(callback) = state {
                owed.push(callback);
            }
        }
    }
    Ok(owed)
}

/// The state keys of callbacks owed and not yet alerted whose first missed call is older
/// than `cutoff` (from the index: eventually consistent).
pub async fn due_callbacks<S: CallbackStore>(
    store: &S,
    cutoff: DateTime<Utc>,
) -> Result<Vec<StateKey>, StoreError> {
    store.indexed_before(CALLBACKS_OPEN, cutoff).await
}

/// One missed call in a callback.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissedCall {
    pub provider: Provider,
    pub call_id: String,
    pub at: DateTime<Utc>,
    pub line: Option<String>,
    pub queue_abandoned: bool,
}

/// A caller owed a call back: open from their first missed call until we answer them or
/// call them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackState {
    pub customer: E164,
    pub missed: Vec<MissedCall>,
    pub first_missed_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub closed_by: Option<String>,
    /// How long the customer waited, from the first missed call to the call back.
    pub waited_seconds: Option<i64>,
    /// When the watchdog raised its overdue alert (`None` in rows stored before this was
    /// kept: the watchdog reads those once more, and finds their alert raised).
    #[serde(default)]
    pub alerted_at: Option<DateTime<Utc>>,
    /// Closed because its only missed call turned out not to be one (answered after all,
    /// outbound, or an agent's leg of a queue call): nobody waited.
    #[serde(default)]
    pub withdrawn: bool,
}

impl CallbackState {
    pub fn is_open(&self) -> bool {
        self.closed_at.is_none()
    }
}

/// Open callbacks are indexed by when the customer first missed us: under
/// [`CALLBACKS_OPEN`] until alerted, then under [`CALLBACKS_ALERTED`]. A closed one
/// leaves the index.
pub fn callback_index(state: &CallsState) -> Option<(String, String)> {
    match state {
        CallsState::Callback(c) if c.is_open() => Some((
            if c.alerted_at.is_some() {
                CALLBACKS_ALERTED
            } else {
                CALLBACKS_OPEN
            }
            .into(),
            format!("{}#{}", c.first_missed_at.to_rfc3339(), c.customer),
        )),
        _ => None,
    }
}

pub(super) fn next_callback(
    call: &CallState,
    prev: Option<&CallbackState>,
) -> Option<CallbackState> {
    let customer = call.customer.clone()?;
    let missed_inbound =
        call.outcome() == Some(Outcome::Missed) && call.direction == Some(CallDirection::Inbound);
    if missed_inbound {
        let at = call.missed().or(call.ended_at).or(call.started_at)?;
        let miss = MissedCall {
            provider: call.provider.unwrap_or(Provider::Voipstudio),
            call_id: call.call_id.clone(),
            at,
            line: call.line.clone(),
            queue_abandoned: call.queue_abandoned,
        };
        return match prev {
            Some(open) if open.is_open() => {
                let mut next = open.clone();
                match next.missed.iter_mut().find(|m| m.call_id == miss.call_id) {
                    // Already owed for this call: kept as the call now stands (a queue's
                    // miss arriving after an agent's leg moves the miss to the queue's).
                    Some(known) if *known == miss => return None,
                    Some(known) => *known = miss,
                    None => next.missed.push(miss),
                }
                next.first_missed_at = next.missed.iter().map(|m| m.at).min().unwrap_or(at);
                Some(next)
            }
            // Missed again after the last call back: a new callback is owed. (A withdrawn
            // callback was no call back: any miss owes one.)
            Some(closed) if !closed.withdrawn && closed.closed_at.is_some_and(|c| c >= at) => None,
            _ => Some(CallbackState {
                customer,
                first_missed_at: at,
                missed: vec![miss],
                closed_at: None,
                closed_by: None,
                waited_seconds: None,
                alerted_at: None,
                withdrawn: false,
            }),
        };
    }
    // A call booked as missed that turns out not to be (answered after all, an outbound
    // call, an agent's leg of a queue call): it owes nothing, so it leaves the callback;
    // a callback it alone opened was never owed.
    let mut next = prev.filter(|p| p.is_open()).cloned();
    let mut changed = false;
    if let Some(open) = next.as_mut() {
        let before = open.missed.len();
        open.missed.retain(|m| m.call_id != call.call_id);
        changed = open.missed.len() != before;
        if changed {
            match open.missed.iter().map(|m| m.at).min() {
                Some(first) => open.first_missed_at = first,
                None => {
                    open.closed_at = Some(
                        call.answered()
                            .or(call.ended_at)
                            .unwrap_or(open.first_missed_at),
                    );
                    open.closed_by = Some(call.call_id.clone());
                    open.withdrawn = true;
                    return next;
                }
            }
        }
    }
    // Answering the customer, or calling them, pays the callback.
    let reached_at = match call.direction {
        Some(CallDirection::Inbound) => call.answered(),
        Some(CallDirection::Outbound) => call.started_at.or(call.answered()).or(call.ended_at),
        None => None,
    };
    match (next, reached_at) {
        (Some(mut open), Some(reached_at)) if reached_at > open.first_missed_at => {
            open.closed_at = Some(reached_at);
            open.closed_by = Some(call.call_id.clone());
            open.waited_seconds = Some((reached_at - open.first_missed_at).num_seconds());
            Some(open)
        }
        (next, _) => next.filter(|_| changed),
    }
}

/// A caller still waiting for a call back after `deadline`: one alert per callback (its id
/// carries the first miss, so a later callback owed to the same caller alerts again).
pub fn callback_overdue(
    callback: &CallbackState,
    now: DateTime<Utc>,
    tz: Tz,
) -> crate::alert::Alert {
    use crate::alert::{human_duration, Alert, AlertKind, DedupKey, Severity, Source};
    let waited = (now - callback.first_missed_at).num_seconds();
    let notes = callback
        .missed
        .iter()
        .map(|m| {
            format!(
                "missed {} ({}, {} call {}{})",
                m.at.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z"),
                m.line
                    .as_deref()
                    .map(|l| format!("line {l}"))
                    .unwrap_or_else(|| "line unknown".into()),
                m.provider.as_str(),
                m.call_id,
                if m.queue_abandoned {
                    ", gave up in the queue"
                } else {
                    ""
                },
            )
        })
        .collect();
    Alert {
        dedup_key: DedupKey::scoped(Source::Calls, &format!("callback:{}", callback.customer)),
        source: Source::Calls,
        kind: AlertKind::CallbackOverdue,
        severity: Severity::Warning,
        status: format!(
            "{} waiting {} after {} missed call(s)",
            callback.customer,
            human_duration(waited),
            callback.missed.len()
        ),
        occurred_at: callback.first_missed_at,
        lines: Vec::new(),
        lines_omitted: 0,
        lines_affected: 0,
        outage_seconds: None,
        notes,
    }
}

/// The watchdog's decision on one callback at `now`: still owed, not alerted, and its
/// first miss more than `deadline` ago, it is marked alerted (which moves it out of the
/// partition the watchdog reads) and raises its overdue alert; otherwise nothing (the
/// index is read eventually consistently, so a row found there may be closed already).
pub fn overdue(
    callback: &CallbackState,
    now: DateTime<Utc>,
    deadline: Duration,
    tz: Tz,
) -> Option<(CallbackState, Alert)> {
    if !callback.is_open() || callback.alerted_at.is_some() {
        return None;
    }
    if callback.first_missed_at >= now - deadline {
        return None;
    }
    let mut alerted = callback.clone();
    alerted.alerted_at = Some(now);
    Some((alerted, callback_overdue(callback, now, tz)))
}
