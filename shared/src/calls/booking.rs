//! Where a call's counts are booked, and how they move when a late event changes where.
//!
//! A call counts in the daily counters of its line and of all lines, on the day of its
//! first moment in the account's zone. Neither can be fixed from the first event to
//! arrive: Exotel's status updates (`call_ringing`, `call_answered`, `call_completed`,
//! `call_missed`) carry the call's Sid and a timestamp alone, so the ExoPhone and the
//! call's start are known only once `incoming_call` / `outbound_call` (or `missed_call`)
//! arrives, and Exotel retries a failed notification for 5 minutes, so that one can come
//! last. (VoIPstudio's events each carry `start_time` and both numbers, so its calls
//! never move.) So the call's state keeps its [`Booking`]: the key it counted under and
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

/// One daily call counter, as the calls see it (the store's [`CounterKey::Calls`]).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct CallCounterKey {
    pub provider: Provider,
    pub line: CounterLine,
    /// In the account's zone.
    pub day: NaiveDate,
}

impl CallCounterKey {
    /// The store's key of this counter.
    pub fn counter_key(&self) -> CounterKey {
        CounterKey::Calls {
            provider: self.provider.as_str().to_owned(),
            line: self.line.clone(),
            day: self.day,
        }
    }
}

/// What a call holds in the daily counters, and where: one call, its outcome, and its
/// talk time once answered and known, under its line (as known then) on its day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Booking {
    pub line: Option<String>,
    /// The day of the call's first moment known, in the account's zone (stored as
    /// `YYYY-MM-DD`).
    pub day: NaiveDate,
    pub outcome: Outcome,
    pub talk_seconds: Option<i64>,
}

impl Booking {
    /// What the call should count, and where, from everything known of it: nothing
    /// before its outcome is known.
    pub fn of(call: &CallState, tz: Tz) -> Option<Self> {
        let outcome = call.outcome()?;
        Some(Self {
            line: call.line.clone(),
            day: call.day(tz)?,
            outcome,
            talk_seconds: call.talk_seconds.filter(|_| outcome == Outcome::Answered),
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
        })
    }

    fn keys(&self, provider: Provider) -> [CallCounterKey; 2] {
        let line = match &self.line {
            Some(line) => CounterLine::Line(line.clone()),
            None => CounterLine::Unknown,
        };
        [line, CounterLine::All].map(|line| CallCounterKey {
            provider,
            line,
            day: self.day,
        })
    }

    fn fields(&self) -> Vec<(&'static str, i64)> {
        let mut fields = vec![("calls", 1), (self.outcome.as_str(), 1)];
        if let Some(talk) = self.talk_seconds {
            fields.extend([("talk_seconds", talk), ("talked", 1)]);
        }
        fields
    }
}

/// Fields to add to one counter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CounterMove {
    pub key: CallCounterKey,
    pub adds: Vec<(&'static str, i64)>,
}

/// What takes the counters from holding `before` to holding `after`: per key, the
/// fields that differ (a key appears once, as one transaction item may).
pub fn moves(
    provider: Provider,
    before: Option<&Booking>,
    after: Option<&Booking>,
) -> Vec<CounterMove> {
    let mut diff: BTreeMap<CallCounterKey, BTreeMap<&'static str, i64>> = BTreeMap::new();
    for (booking, sign) in [(before, -1), (after, 1)] {
        let Some(booking) = booking else { continue };
        for key in booking.keys(provider) {
            let fields = diff.entry(key).or_default();
            for (field, n) in booking.fields() {
                *fields.entry(field).or_default() += sign * n;
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
