//! A call's state, folded from its events in any order and any multiplicity; the daily
//! counters it feeds; and the callback owed to a caller whose call was missed.

use super::booking::{self, Booking, CounterMove};
use super::model::{CallDirection, CallEvent, Provider, Step};
use crate::phone::E164;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// The index partition of callbacks still owed (`gsi1pk`), ordered by the first miss.
pub const CALLBACKS_OPEN: &str = "CALLBACKS_OPEN";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Answered,
    Missed,
    /// An outbound call nobody picked up.
    Unanswered,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Answered => "answered",
            Self::Missed => "missed",
            Self::Unanswered => "unanswered",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallState {
    pub provider: Option<Provider>,
    pub call_id: String,
    pub direction: Option<CallDirection>,
    pub line: Option<String>,
    pub customer: Option<E164>,
    pub started_at: Option<DateTime<Utc>>,
    pub ringing_at: Option<DateTime<Utc>>,
    pub answered_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub missed_at: Option<DateTime<Utc>>,
    /// How long it rang and how long they talked: as the provider reported, or else
    /// worked out from the earliest start, the answer and the end known so far.
    pub ring_seconds: Option<i64>,
    pub talk_seconds: Option<i64>,
    pub reported_ring_seconds: Option<i64>,
    pub reported_talk_seconds: Option<i64>,
    pub queue_abandoned: bool,
    pub held_at: Option<DateTime<Utc>>,
    pub resumed_at: Option<DateTime<Utc>>,
    pub dtmf: Vec<String>,
    pub wrap_up: Option<String>,
    /// What the daily counters already hold for this call.
    pub counted: Option<Outcome>,
    pub counted_talk: bool,
    /// Where those counts are, and what they are: the next decision moves them if the
    /// call's line or day turns out otherwise (`None` in rows stored before it was kept).
    #[serde(default)]
    pub booked: Option<Booking>,
}

impl CallState {
    /// Answered beats missed whatever the order; an inbound call that ended unanswered
    /// was missed; `None` while it rings. Facts only accumulate, so once known an outcome
    /// can change (missed → answered) but never go back to `None`.
    pub fn outcome(&self) -> Option<Outcome> {
        if self.answered_at.is_some() {
            return Some(Outcome::Answered);
        }
        match (self.missed_at, self.ended_at, self.direction) {
            (Some(_), _, _) => Some(Outcome::Missed),
            (None, Some(_), Some(CallDirection::Inbound)) => Some(Outcome::Missed),
            (None, Some(_), Some(CallDirection::Outbound)) => Some(Outcome::Unanswered),
            _ => None,
        }
    }

    pub fn on_hold(&self) -> bool {
        match (self.held_at, self.resumed_at) {
            (Some(held), Some(resumed)) => held > resumed,
            (held, _) => held.is_some(),
        }
    }

    /// The day the call counts in: its first moment known, in the account's zone.
    pub fn day(&self, tz: Tz) -> Option<String> {
        self.first_seen()
            .map(|t| crate::time_text::day(t.with_timezone(&tz).date_naive()))
    }

    fn first_seen(&self) -> Option<DateTime<Utc>> {
        [
            self.started_at,
            self.ringing_at,
            self.answered_at,
            self.missed_at,
            self.ended_at,
        ]
        .into_iter()
        .flatten()
        .min()
    }
}

fn earliest(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn latest(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// Folds one event into the call. Commutative and idempotent in what it keeps: earliest
/// starts, latest ends, facts filled in by whichever event knows them.
fn fold(prev: Option<&CallState>, event: &CallEvent, call_id: &str) -> CallState {
    let mut call = prev.cloned().unwrap_or_else(|| CallState {
        call_id: call_id.to_owned(),
        ..CallState::default()
    });
    call.provider = Some(event.provider);
    call.direction = call.direction.or(event.direction);
    call.line = call.line.take().or_else(|| event.line.clone());
    call.customer = call.customer.take().or_else(|| event.customer.clone());
    call.started_at = earliest(call.started_at, event.started_at);
    call.answered_at = earliest(call.answered_at, event.answered_at);
    let at = Some(event.at);
    match &event.step {
        Step::Started => call.started_at = earliest(call.started_at, at),
        Step::Ringing => call.ringing_at = earliest(call.ringing_at, at),
        Step::Answered => call.answered_at = earliest(call.answered_at, at),
        Step::Held => call.held_at = latest(call.held_at, at),
        Step::Resumed => call.resumed_at = latest(call.resumed_at, at),
        Step::Dtmf { tag, target } => {
            let entry = format!(
                "{} {}",
                tag.as_deref().unwrap_or(""),
                target.as_deref().unwrap_or("")
            )
            .trim()
            .to_owned();
            if !call.dtmf.contains(&entry) {
                call.dtmf.push(entry);
            }
        }
        Step::Ended { talk_seconds } => {
            call.ended_at = latest(call.ended_at, at);
            call.reported_talk_seconds = call.reported_talk_seconds.or(*talk_seconds);
        }
        Step::Missed {
            ring_seconds,
            queue,
        } => {
            call.missed_at = earliest(call.missed_at, at);
            call.reported_ring_seconds = call.reported_ring_seconds.or(*ring_seconds);
            call.queue_abandoned |= *queue;
        }
        Step::WrapUp { state } => call.wrap_up = Some(state.clone()),
        Step::Sms | Step::Unrecognised => {}
    }
    // Derived afresh from everything known, so the order events came in does not matter.
    let span = |from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>| {
        Some((to? - from?).num_seconds().max(0))
    };
    call.talk_seconds = call
        .reported_talk_seconds
        .or(span(call.answered_at, call.ended_at));
    call.ring_seconds = call.reported_ring_seconds.or(span(
        earliest(call.started_at, call.ringing_at),
        call.answered_at.or(call.missed_at),
    ));
    call
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
}

impl CallbackState {
    pub fn is_open(&self) -> bool {
        self.closed_at.is_none()
    }
}

/// The state rows of the calls receivers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CallsState {
    /// Boxed: a call's row is several times a callback's (serde reads and writes it the
    /// same).
    Call(Box<CallState>),
    Callback(CallbackState),
}

/// Open callbacks are indexed by when the customer first missed us.
pub fn callback_index(state: &CallsState) -> Option<(String, String)> {
    match state {
        CallsState::Callback(c) if c.is_open() => Some((
            CALLBACKS_OPEN.into(),
            format!("{}#{}", c.first_missed_at.to_rfc3339(), c.customer),
        )),
        _ => None,
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct CallDecision {
    pub call: Option<CallState>,
    pub callback: Option<CallbackState>,
    /// Counter fields to add, per counter key (the call's line and all lines, on its day).
    pub counts: Vec<CounterMove>,
    /// The day the call counts in, in the account's zone.
    pub day: Option<String>,
}

/// The call's new state, the callback it opens or closes, and the counters it moves.
/// `tz` is the account's time zone: the day a call counts in.
pub fn decide(
    call: Option<&CallState>,
    callback: Option<&CallbackState>,
    event: &CallEvent,
    tz: Tz,
) -> CallDecision {
    let Some(call_id) = event.call_id.as_deref() else {
        return CallDecision {
            call: None,
            callback: None,
            counts: Vec::new(),
            day: None,
        };
    };
    let mut next = fold(call, event, call_id);

    // Booked afresh from all that is known; the counters move by the difference, so a
    // late event that changes the call's line or day moves its counts there too.
    let before = call.and_then(|c| c.booked.clone().or_else(|| Booking::before_bookings(c, tz)));
    let after = Booking::of(&next, tz);
    let counts = booking::moves(event.provider, before.as_ref(), after.as_ref());
    next.counted = after.as_ref().map(|b| b.outcome);
    next.counted_talk = after.as_ref().is_some_and(|b| b.talk_seconds.is_some());
    next.booked = after;
    let day = next.day(tz);

    let callback = next_callback(&next, callback);
    CallDecision {
        call: (call != Some(&next)).then_some(next),
        callback,
        counts,
        day,
    }
}

fn next_callback(call: &CallState, prev: Option<&CallbackState>) -> Option<CallbackState> {
    let customer = call.customer.clone()?;
    let missed_inbound =
        call.outcome() == Some(Outcome::Missed) && call.direction == Some(CallDirection::Inbound);
    if missed_inbound {
        let at = call.missed_at.or(call.ended_at).or(call.started_at)?;
        let miss = MissedCall {
            provider: call.provider.unwrap_or(Provider::Voipstudio),
            call_id: call.call_id.clone(),
            at,
            line: call.line.clone(),
            queue_abandoned: call.queue_abandoned,
        };
        return match prev {
            Some(open) if open.is_open() => {
                if open.missed.iter().any(|m| m.call_id == miss.call_id) {
                    return None;
                }
                let mut next = open.clone();
                next.first_missed_at = next.first_missed_at.min(at);
                next.missed.push(miss);
                Some(next)
            }
            // Missed again after the last call back: a new callback is owed.
            Some(closed) if closed.closed_at.is_some_and(|c| c >= at) => None,
            _ => Some(CallbackState {
                customer,
                first_missed_at: at,
                missed: vec![miss],
                closed_at: None,
                closed_by: None,
                waited_seconds: None,
            }),
        };
    }
    // Answering the customer, or calling them, pays the callback.
    let reached_at = match call.direction {
        Some(CallDirection::Inbound) => call.answered_at,
        Some(CallDirection::Outbound) => call.started_at.or(call.answered_at).or(call.ended_at),
        None => None,
    }?;
    match prev {
        Some(open) if open.is_open() && reached_at > open.first_missed_at => {
            let mut next = open.clone();
            next.closed_at = Some(reached_at);
            next.closed_by = Some(call.call_id.clone());
            next.waited_seconds = Some((reached_at - open.first_missed_at).num_seconds());
            Some(next)
        }
        _ => None,
    }
}

#[cfg(test)]
#[path = "decide_test.rs"]
mod tests;

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
