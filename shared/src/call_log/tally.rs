//! How one call of the call log is counted, as the Exotel dashboard tutorial counts the
//! records it fetches: every record in the total; the four statuses it names; the hour it
//! was created in, when that can be read.
//!
//! Two cases the tutorial meets by fetching afresh each time, and the aggregator, which
//! counts each call once, must meet on purpose:
//!
//! - **A call still going** (`queued`, `ringing`, `in-progress`) is counted in the total and
//!   its hour, under the marker `<Sid>#open`, as `pending`. Read again once it settled, its
//!   final status is added and `pending` taken off, under the marker `<Sid>`; the total and
//!   the hour stay. A settled call writes both markers, so a settled call is never
//!   counted twice whichever way it was first read, and a call counted before `#open`
//!   markers existed is recognised by its `<Sid>`.
//! - **A record whose `DateCreated` cannot be read** still counts: in the total, its status,
//!   its direction and ExoPhone, in no hour (the tutorial's `getHours()` is `NaN` there: no
//!   hour is bumped either), on the day of the readable records beside it on its page (the
//!   aggregator's `day_near`), or else the day its range ends.
//!
//! A call counted as `other` while going before `#open` markers existed, and read while
//! still going after, is counted once more (its `<Sid>#open` is new): a one-off of the
//! release, for calls listed while going in the 4 h around it.

use super::metrics::{counter_keys, hour_field, status_fields};
use super::records::{CallRecord, Undated};
use crate::store::CounterKey;
use chrono::{NaiveDate, Timelike};

/// Exotel's statuses of a call not ended yet.
const NOT_FINAL: [&str; 3] = ["queued", "ringing", "in-progress"];

/// The counter field of calls counted before they settled.
pub const PENDING: &str = "pending";

/// One call of the call log, as it is counted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tally {
    pub sid: String,
    /// The day it counts in (the account's time).
    pub day: NaiveDate,
    /// `None` when `DateCreated` could not be read.
    pub hour: Option<u32>,
    pub status: String,
    pub direction: String,
    pub exophone: Option<String>,
    pub duration_seconds: Option<u64>,
}

/// What to write for a call: its first count, or only its settling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Count {
    First,
    Settle,
}

impl Tally {
    pub fn of(call: &CallRecord<'_>) -> Self {
        Self {
            sid: call.sid.to_string(),
            day: call.created.date(),
            hour: Some(call.created.hour()),
            status: call.status.to_string(),
            direction: call.direction.to_string(),
            exophone: call.exophone.as_deref().map(str::to_owned),
            duration_seconds: call.duration_seconds,
        }
    }

    /// A record without a readable `DateCreated`, counted on `day`.
    pub fn undated(call: &Undated, day: NaiveDate) -> Self {
        Self {
            sid: call.sid.clone(),
            day,
            hour: None,
            status: call.status.clone(),
            direction: call.direction.clone(),
            exophone: call.exophone.clone(),
            duration_seconds: call.duration_seconds,
        }
    }

    pub fn is_final(&self) -> bool {
        !NOT_FINAL.contains(&self.status.as_str())
    }

    fn open_marker(&self) -> String {
        format!("{}#open", self.sid)
    }

    /// The idempotency markers a count writes; the first is the one that says the call is
    /// already counted this way.
    pub fn markers(&self, count: Count) -> Vec<String> {
        match (count, self.is_final()) {
            (Count::First, true) => vec![self.sid.clone(), self.open_marker()],
            (Count::First, false) => vec![self.open_marker()],
            (Count::Settle, _) => vec![self.sid.clone()],
        }
    }

    pub fn counter_keys(&self) -> Vec<CounterKey> {
        counter_keys(self.day, &self.direction, self.exophone.as_deref())
    }

    /// The fields a count adds, and whether it adds one to the total.
    pub fn fields(&self, count: Count) -> (Vec<(String, i64)>, bool) {
        let settled = || status_fields(&self.status, self.duration_seconds);
        match count {
            Count::First => {
                let mut fields: Vec<_> = self.hour.map(hour_field).into_iter().collect();
                if self.is_final() {
                    fields.extend(settled());
                } else {
                    fields.push((PENDING.to_owned(), 1));
                }
                (fields, true)
            }
            Count::Settle => {
                let mut fields = settled();
                fields.push((PENDING.to_owned(), -1));
                (fields, false)
            }
        }
    }
}

#[cfg(test)]
#[path = "tally_test.rs"]
mod tests;
