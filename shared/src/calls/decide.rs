//! A call's state, folded from its events in any order and any multiplicity; the daily
//! counters it moves (`booking.rs`); and the callback it opens or closes (`callback.rs`).

use super::booking::{self, Booking, CounterMove};
use super::callback::{next_callback, CallbackState};
use super::details::{add_press, DtmfPress, WrapUp};
use super::model::{CallContext, CallDirection, CallEvent, Provider, Step};
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
    /// The call's miss: Exotel's, or VoIPstudio's outside a user's context (the queue's,
    /// when the caller gave up waiting in it).
    pub missed_at: Option<DateTime<Utc>>,
    /// VoIPstudio's `call.missed` in a user's context (`LOCAL_USER`): the call's miss when
    /// it rang one user, but only one agent's leg when it came through a queue (`queue`),
    /// where the queue's own `call.missed` says whether the caller was missed.
    #[serde(default)]
    pub user_missed_at: Option<DateTime<Utc>>,
    /// Some event of the call came in the queue's context.
    #[serde(default)]
    pub queue: bool,
    /// How long it rang and how long they talked: as the provider reported, or else
    /// worked out from the earliest start, the answer and the end known so far.
    pub ring_seconds: Option<i64>,
    pub talk_seconds: Option<i64>,
    pub reported_ring_seconds: Option<i64>,
    pub reported_talk_seconds: Option<i64>,
    pub queue_abandoned: bool,
    pub held_at: Option<DateTime<Utc>>,
    pub resumed_at: Option<DateTime<Utc>>,
    /// The DTMF presses' tags and targets, in the order they were pressed.
    pub dtmf: Vec<String>,
    /// The presses themselves, by when they were made (see `details::DtmfPress`).
    #[serde(default)]
    pub dtmf_presses: Vec<DtmfPress>,
    /// The wrap-up panel's latest meaningful state: `END` or `TIMEOUT` once closed, else
    /// `START` (or a state the document does not name, as sent).
    pub wrap_up: Option<String>,
    /// The panel's opening and closing, kept apart (see `details::WrapUp`).
    #[serde(default, skip_serializing_if = "WrapUp::is_empty")]
    pub wrap_up_panel: WrapUp,
    /// Exotel WebRTC: the user the call rang for or was made by, who answered it and on
    /// which device.
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub answered_by: Option<String>,
    #[serde(default)]
    pub device: Option<String>,
    /// Exotel WebRTC `call_completed`: a recording of the call is available.
    #[serde(default)]
    pub recording_available: Option<bool>,
    /// What the daily counters already hold for this call.
    pub counted: Option<Outcome>,
    pub counted_talk: bool,
    /// Where those counts are, and what they are: the next decision moves them if the
    /// call's line or day turns out otherwise (`None` in rows stored before it was kept).
    #[serde(default)]
    pub booked: Option<Booking>,
}

impl CallState {
    /// Answered beats missed whatever the order. An inbound call that was missed or ended
    /// unanswered was missed; an outbound one, unanswered (nobody owes that customer a
    /// call). A miss with no direction known yet (Exotel's `call_missed` carries none) is
    /// missed until `outbound_call` says otherwise. `None` while it rings, and while a
    /// queue call's only miss is an agent's leg.
    pub fn outcome(&self) -> Option<Outcome> {
        if self.answered().is_some() {
            return Some(Outcome::Answered);
        }
        let missed = self.missed().is_some();
        let over = missed || self.ended_at.is_some();
        match self.direction {
            Some(CallDirection::Outbound) if over => Some(Outcome::Unanswered),
            Some(CallDirection::Inbound) if over => Some(Outcome::Missed),
            None if missed => Some(Outcome::Missed),
            _ => None,
        }
    }

    /// When the call was answered: its answer, or else, when its end reported talk time,
    /// the end less that time. Exotel gives up a notification after its third retry, and a
    /// `call_completed` with `talk_time` is a call that was talked on whether or not its
    /// `call_answered` arrived: it is answered for its figures and for a callback it pays.
    pub fn answered(&self) -> Option<DateTime<Utc>> {
        self.answered_at.or_else(|| {
            let talk = self.reported_talk_seconds.filter(|t| *t > 0)?;
            Some(self.ended_at? - chrono::Duration::seconds(talk))
        })
    }

    /// How long the wrap-up panel was open, once its opening and closing are both known.
    pub fn wrap_up_seconds(&self) -> Option<i64> {
        self.wrap_up_panel.seconds()
    }

    /// When the call was missed: its own miss, or a user's when it did not come through a
    /// queue (a queue's agent leg going unanswered is not the caller being missed).
    pub fn missed(&self) -> Option<DateTime<Utc>> {
        self.missed_at
            .or(self.user_missed_at.filter(|_| !self.queue))
    }

    /// Who the call's figures count under: the user who answered it, or else the one it
    /// rang for or was made by.
    pub fn agent(&self) -> Option<&str> {
        self.answered_by.as_deref().or(self.user_id.as_deref())
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
            self.user_missed_at,
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
    call.user_id = call.user_id.take().or_else(|| event.user_id.clone());
    call.answered_by = call
        .answered_by
        .take()
        .or_else(|| event.answered_by.clone());
    call.device = call.device.take().or_else(|| event.device.clone());
    // None < Some(false) < Some(true): once available, a recording stays so.
    call.recording_available = call.recording_available.max(event.recording_available);
    call.queue |= event.context == Some(CallContext::Queue);
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
            let press = DtmfPress {
                at,
                event_id: Some(event.dedup_key.clone()),
                tag: tag.clone(),
                target: target.clone(),
            };
            call.dtmf = add_press(&mut call.dtmf_presses, &call.dtmf, press);
        }
        Step::Ended { talk_seconds } => {
            call.ended_at = latest(call.ended_at, at);
            call.reported_talk_seconds = call.reported_talk_seconds.or(*talk_seconds);
        }
        Step::Missed {
            ring_seconds,
            queue,
        } => {
            if event.provider == Provider::Voipstudio
                && event.context == Some(CallContext::LocalUser)
            {
                call.user_missed_at = earliest(call.user_missed_at, at);
            } else {
                call.missed_at = earliest(call.missed_at, at);
            }
            call.reported_ring_seconds = call.reported_ring_seconds.or(*ring_seconds);
            call.queue_abandoned |= *queue;
        }
        Step::WrapUp { state } => {
            // A row stored before the times were kept knows only its last state: a close
            // there stays the close, so a late START cannot reopen it.
            let legacy_end = call
                .wrap_up
                .clone()
                .filter(|s| s == "END" || s == "TIMEOUT");
            let panel = &mut call.wrap_up_panel;
            panel.end = panel.end.take().or(legacy_end);
            let known = panel.fold(state, event.at);
            // A state the document does not name shows only while no named one is known
            // (the greatest of them, so the order of delivery does not decide).
            let unnamed = (!known).then(|| state.clone());
            call.wrap_up = call
                .wrap_up_panel
                .state()
                .or(call.wrap_up.take().max(unnamed));
        }
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
        call.answered().or(call.missed()),
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
    if event.step == Step::Sms {
        let day = event.at.with_timezone(&tz).date_naive();
        return CallDecision {
            call: None,
            callback: None,
            counts: booking::sms_moves(event.provider, event.line.as_deref(), day),
            day: Some(day),
        };
    }
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
