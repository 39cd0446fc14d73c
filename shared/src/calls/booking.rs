//! Where a call's counts are booked, and how they move when a late event changes where.
//!
//! A call counts in the daily counters of its line, of all lines and of its agent, on the day of its
//! first moment in the account's zone. Neither can be fixed from the first event to
//! arrive: Exotel's status updates (`call_ringing`, `call_answered`, `call_completed`,
//! `call_missed`) carry the call's Sid and a timestamp alone, so the ExoPhone and the
//! call's start are known only once `incoming_call` / `outbound_call` (or `missed_call`)
//! arrives, and Exotel retries a failed notification for 5 minutes, so that one can come
//! last. (VoIPstudio's events each carry `start_time` and both numbers, so its calls
//! never move.) The same goes for the call's agent (Exotel's `answered_by`, else
//! `user_id`): `call_answered` may come before `incoming_call`, and the agent it names
//! replaces the one the call rang for. So the call's state keeps its [`Booking`]: the key it counted under and
//! what it counted there. Each decision books the call afresh from everything known and
//! moves the difference — what the old key held is taken off it and put on the new one —
//! in the same transaction as the state that remembers it. Whatever the order of a call's
//! events, every key then ends holding what one in-order delivery would give it.

use super::decide::{CallState, Outcome};
use super::model::Provider;
use crate::store::{CounterKey, CounterLine};
use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One daily call counter, as the calls see it (the store's [`CounterKey::Calls`] and
/// [`CounterKey::CallAgent`]).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct CallCounterKey {
    pub provider: Provider,
    pub scope: CounterScope,
    /// In the account's zone.
    pub day: NaiveDate,
}

/// What one call counter is kept for: a line (or all lines), or one agent.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum CounterScope {
    Line(CounterLine),
    /// The user who answered the call, or else the one it rang for or was made by
    /// (Exotel WebRTC's `answered_by`, `user_id`).
    Agent(String),
}

impl CallCounterKey {
    /// The store's key of this counter.
    pub fn counter_key(&self) -> CounterKey {
        let provider = self.provider.as_str().to_owned();
        match &self.scope {
            CounterScope::Line(line) => CounterKey::Calls {
                provider,
                line: line.clone(),
                day: self.day,
            },
            CounterScope::Agent(agent) => CounterKey::CallAgent {
                provider,
                agent: agent.clone(),
                day: self.day,
            },
        }
    }
}

/// What a call holds in the daily counters, and where: one call, its outcome, and its
/// talk time once answered and known, under its line (as known then) on its day; and the
/// same under its agent, when one is known.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Booking {
    pub line: Option<String>,
    /// The day of the call's first moment known, in the account's zone (stored as
    /// `YYYY-MM-DD`).
    pub day: NaiveDate,
    pub outcome: Outcome,
    pub talk_seconds: Option<i64>,
    /// Kept only when known, so a booking stored before agents were counted reads and
    /// writes back the same (and holds nothing under any agent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// The device the call was answered on (Exotel's `device`), counted under the agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// An answered call whose recording is available.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub recorded: bool,
}

impl Booking {
    /// What the call should count, and where, from everything known of it: nothing
    /// before its outcome is known.
    pub fn of(call: &CallState, tz: Tz) -> Option<Self> {
        let outcome = call.outcome()?;
        let answered = outcome == Outcome::Answered;
        Some(Self {
            line: call.line.clone(),
            day: call.day(tz)?,
            outcome,
            talk_seconds: call.talk_seconds.filter(|_| answered),
            agent: call.agent().map(str::to_owned),
            device: call.device.clone().filter(|_| answered),
            recorded: answered && call.recording_available == Some(true),
        })
    }

    /// What a call row stored before bookings were kept holds: its `counted` outcome and
    /// talk, under its line and day as they are now (the key the last counts went to).
    /// A row whose counts already went under two keys keeps that split; from here on its
    /// counts move with it.
    pub fn before_bookings(call: &CallState, tz: Tz) -> Option<Self> {
        Some(Self {
            line: call.line.clone(),
            day: call.day(tz)?,
            outcome: call.counted?,
            talk_seconds: call.talk_seconds.filter(|_| call.counted_talk),
            agent: None,
            device: None,
            recorded: false,
        })
    }

    fn keys(&self, provider: Provider) -> Vec<CallCounterKey> {
        let line = match &self.line {
            Some(line) => CounterLine::Line(line.clone()),
            None => CounterLine::Unknown,
        };
        let mut scopes = vec![
            CounterScope::Line(line),
            CounterScope::Line(CounterLine::All),
        ];
        scopes.extend(self.agent.clone().map(CounterScope::Agent));
        scopes
            .into_iter()
            .map(|scope| CallCounterKey {
                provider,
                scope,
                day: self.day,
            })
            .collect()
    }

    fn fields(&self, scope: &CounterScope) -> Vec<(String, i64)> {
        let mut fields = vec![
            ("calls".to_owned(), 1),
            (self.outcome.as_str().to_owned(), 1),
        ];
        if let Some(talk) = self.talk_seconds {
            fields.extend([("talk_seconds".to_owned(), talk), ("talked".to_owned(), 1)]);
        }
        if self.recorded {
            fields.push(("recorded".to_owned(), 1));
        }
        if let (CounterScope::Agent(_), Some(device)) = (scope, &self.device) {
            fields.push((format!("device:{device}"), 1));
        }
        fields
    }
}

/// Where a VoIPstudio `sms.received` counts: one `sms` on the receiving line's counter and
/// on all lines', on the day it came in the account's zone. The event's id is its
/// idempotency key, so a redelivery counts nothing.
pub fn sms_moves(provider: Provider, line: Option<&str>, day: NaiveDate) -> Vec<CounterMove> {
    let line = match line {
        Some(line) => CounterLine::Line(line.to_owned()),
        None => CounterLine::Unknown,
    };
    [line, CounterLine::All]
        .into_iter()
        .map(|line| CounterMove {
            key: CallCounterKey {
                provider,
                scope: CounterScope::Line(line),
                day,
            },
            adds: vec![("sms".to_owned(), 1)],
        })
        .collect()
}

/// Fields to add to one counter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CounterMove {
    pub key: CallCounterKey,
    pub adds: Vec<(String, i64)>,
}

/// What takes the counters from holding `before` to holding `after`: per key, the
/// fields that differ (a key appears once, as one transaction item may).
pub fn moves(
    provider: Provider,
    before: Option<&Booking>,
    after: Option<&Booking>,
) -> Vec<CounterMove> {
    let mut diff: BTreeMap<CallCounterKey, BTreeMap<String, i64>> = BTreeMap::new();
    for (booking, sign) in [(before, -1), (after, 1)] {
        let Some(booking) = booking else { continue };
        for key in booking.keys(provider) {
            let fields = booking.fields(&key.scope);
            let counted = diff.entry(key).or_default();
            for (field, n) in fields {
                *counted.entry(field).or_default() += sign * n;
            }
        }
    }
    diff.into_iter()
        .filter_map(|(key, fields)| {
            let adds: Vec<_> = fields.into_iter().filter(|(_, n)| *n != 0).collect();
            (!adds.is_empty()).then_some(CounterMove { key, adds })
        })
        .collect()
}
