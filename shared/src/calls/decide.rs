//! A call's state, folded from its events in any order and any multiplicity; the daily
//! counters it moves (`booking.rs`); and the callback it opens or closes (`callback.rs`).

use super::booking::{self, Booking, CounterMove};
use super::callback::{next_callback, CallbackState};
use super::model::{CallDirection, CallEvent, Provider, Step};
use crate::phone::E164;
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

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
    pub fn day(&self, tz: Tz) -> Option<NaiveDate> {
        self.first_seen().map(|t| t.with_timezone(&tz).date_naive())
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

/// The state rows of the calls receivers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CallsState {
    /// Boxed: a call's row is several times a callback's (serde reads and writes it the
    /// same).
    Call(Box<CallState>),
    Callback(CallbackState),
}

#[derive(Clone, Debug, PartialEq)]
pub struct CallDecision {
    pub call: Option<CallState>,
    pub callback: Option<CallbackState>,
    /// Counter fields to add, per counter key (the call's line and all lines, on its day).
    pub counts: Vec<CounterMove>,
    /// The day the call counts in, in the account's zone.
    pub day: Option<NaiveDate>,
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

#[cfg(test)]
#[path = "decide_test.rs"]
mod tests;
