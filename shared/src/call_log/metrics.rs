//! Call metrics folded page by page: memory grows with days, directions and ExoPhones,
//! never with the number of calls.

use crate::store::{CallLogBucket, CounterKey};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Daily metrics are kept this long (their rows' time to live): the dashboard's range
/// horizon.
pub const METRICS_HORIZON_DAYS: i64 = 400;

/// One bucket's figures (a day, a direction on a day, an ExoPhone on a day).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metrics {
    pub total: u64,
    /// `completed`.
    pub answered: u64,
    /// `no-answer`.
    pub missed: u64,
    pub busy: u64,
    pub failed: u64,
    /// Seconds talked on answered calls.
    pub answered_seconds: u64,
    /// Calls per hour of the day (the account's time zone).
    pub hourly: [u64; 24],
}

/// A bucket added to another: a range's figures are the sum of its days'.
impl std::ops::AddAssign<&Metrics> for Metrics {
    fn add_assign(&mut self, other: &Metrics) {
        self.total += other.total;
        self.answered += other.answered;
        self.missed += other.missed;
        self.busy += other.busy;
        self.failed += other.failed;
        self.answered_seconds += other.answered_seconds;
        for (slot, n) in self.hourly.iter_mut().zip(other.hourly) {
            *slot += n;
        }
    }
}

impl Metrics {
    /// Answered over all calls, in percent; `None` with no calls.
    pub fn answer_rate(&self) -> Option<f64> {
        (self.total > 0).then(|| self.answered as f64 * 100.0 / self.total as f64)
    }

    /// Average talk time of answered calls, rounded as the tutorial's `Math.round` (halves
    /// up); `None` without answered calls.
    pub fn average_answered_seconds(&self) -> Option<u64> {
        (self.answered > 0)
            .then(|| (2 * self.answered_seconds + self.answered) / (2 * self.answered))
    }

    /// The answer rate as the Exotel dashboard tutorial writes it:
    /// `((answered / total) * 100).toFixed(1)`, `"0.0"` with no calls. The same double,
    /// rounded as JavaScript rounds it: its exact value to one decimal, halves up (Rust's
    /// `{:.1}` would round an exact half to even, and exact arithmetic would differ from
    /// the tutorial where the double is just under a half: 23 of 80 is `"28.7"` there).
    pub fn answer_rate_text(&self) -> String {
        if self.total == 0 {
            return "0.0".into();
        }
        to_fixed_1((self.answered as f64 / self.total as f64) * 100.0)
    }

    /// The same, 0 without answered calls (the tutorial's `avgDurationSeconds`).
    pub fn average_seconds_rounded(&self) -> u64 {
        self.average_answered_seconds().unwrap_or(0)
    }

    /// The busiest hour (the earliest of equals); `None` with no calls.
    pub fn peak_hour(&self) -> Option<u32> {
        let max = *self.hourly.iter().max()?;
        (max > 0).then(|| self.hourly.iter().position(|n| *n == max).unwrap_or(0) as u32)
    }
}

impl Metrics {
    /// The bucket as stored in a counter row's fields.
    pub fn from_fields(fields: &BTreeMap<String, i64>) -> Self {
        let get = |name: &str| fields.get(name).copied().unwrap_or(0).max(0) as u64;
        let mut hourly = [0; 24];
        for (hour, slot) in hourly.iter_mut().enumerate() {
            *slot = get(&format!("h{hour:02}"));
        }
        Self {
            total: get(crate::store::COUNTER_TOTAL),
            answered: get("answered"),
            missed: get("missed"),
            busy: get("busy"),
            failed: get("failed"),
            answered_seconds: get("answered_seconds"),
            hourly,
        }
    }
}

/// The tutorial's `formatDuration`: `"2m 14s"`.
pub fn format_duration(seconds: u64) -> String {
    format!("{}m {}s", seconds / 60, seconds % 60)
}

/// The hour bucket of a call created at `hour` (the account's time).
pub fn hour_field(hour: u32) -> (String, i64) {
    (format!("h{hour:02}"), 1)
}

/// The counter field of a call's status: the tutorial's four, `other` for the rest.
pub fn status_field(status: &str) -> &'static str {
    match status {
        "completed" => "answered",
        "no-answer" => "missed",
        "busy" => "busy",
        "failed" => "failed",
        _ => "other",
    }
}

/// The status fields one call adds: its status, and its talk time once answered.
pub fn status_fields(status: &str, duration_seconds: Option<u64>) -> Vec<(String, i64)> {
    let field = status_field(status);
    let mut fields = vec![(field.to_owned(), 1)];
    if field == "answered" {
        fields.push((
            "answered_seconds".to_owned(),
            duration_seconds.unwrap_or(0) as i64,
        ));
    }
    fields
}

/// JavaScript's `Number.prototype.toFixed(1)` of a finite, non-negative double: the
/// double's exact decimal value (every digit of it: 1 100 places hold any double's), cut
/// after the first decimal and rounded up when what follows is half or more.
fn to_fixed_1(x: f64) -> String {
    let exact = format!("{:.1100}", x.max(0.0));
    let (whole, fraction) = exact.split_once('.').unwrap_or((&exact, "0"));
    let digits = fraction.as_bytes();
    let tenth = u64::from(digits.first().map_or(0, |d| d - b'0'));
    let up = digits.get(1).is_some_and(|d| *d >= b'5');
    let tenths = whole.parse::<u64>().unwrap_or(0) * 10 + tenth + u64::from(up);
    format!("{}.{}", tenths / 10, tenths % 10)
}

/// The counter rows a call is counted in on `day`: all calls, its direction, its ExoPhone.
pub fn counter_keys(day: NaiveDate, direction: &str, exophone: Option<&str>) -> Vec<CounterKey> {
    let mut buckets = vec![
        CallLogBucket::All,
        CallLogBucket::Direction(direction.to_owned()),
    ];
    if let Some(exophone) = exophone {
        buckets.push(CallLogBucket::ExoPhone(exophone.to_owned()));
    }
    buckets
        .into_iter()
        .map(|bucket| CounterKey::CallLog { day, bucket })
        .collect()
}

#[cfg(test)]
#[path = "metrics_test.rs"]
mod tests;
