//! The tutorial's figures folded in memory, one page at a time, as its Python loop does:
//! what the 1 M-record benchmark compares with it. (The aggregator itself folds each call
//! into counter rows: `call_log::tally`.)

use chrono::{NaiveDate, Timelike};
use dialtone_shared::call_log::metrics::Metrics;
use dialtone_shared::call_log::records::{CallRecord, RecordError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Adds one call to a bucket.
pub fn count(metrics: &mut Metrics, call: &CallRecord<'_>) {
    metrics.total += 1;
    match &*call.status {
        "completed" => {
            metrics.answered += 1;
            metrics.answered_seconds += call.duration_seconds.unwrap_or(0);
        }
        "no-answer" => metrics.missed += 1,
        "busy" => metrics.busy += 1,
        "failed" => metrics.failed += 1,
        _ => {}
    }
    if let Some(slot) = metrics.hourly.get_mut(call.created.hour() as usize) {
        *slot += 1;
    }
}

/// One day's figures, overall and split by direction and by ExoPhone.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayMetrics {
    pub all: Metrics,
    pub by_direction: BTreeMap<String, Metrics>,
    pub by_exophone: BTreeMap<String, Metrics>,
}

/// The running aggregate of a run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Aggregate {
    pub days: BTreeMap<NaiveDate, DayMetrics>,
    /// Records that could not be read, by reason: counted and reported.
    pub unreadable: BTreeMap<&'static str, u64>,
}

impl Aggregate {
    pub fn add(&mut self, call: &CallRecord<'_>) {
        let day = self.days.entry(call.created.date()).or_default();
        count(&mut day.all, call);
        add_to(&mut day.by_direction, &call.direction, call);
        if let Some(exophone) = &call.exophone {
            add_to(&mut day.by_exophone, exophone, call);
        }
    }

    pub fn add_unreadable(&mut self, error: &RecordError) {
        *self.unreadable.entry(error.label()).or_default() += 1;
    }
}

/// Adds the call to the bucket of `key`, made on first use: keys are few and calls many,
/// so a key is copied once, not once a call.
fn add_to(buckets: &mut BTreeMap<String, Metrics>, key: &str, call: &CallRecord<'_>) {
    match buckets.get_mut(key) {
        Some(bucket) => count(bucket, call),
        None => {
            let mut bucket = Metrics::default();
            count(&mut bucket, call);
            buckets.insert(key.to_owned(), bucket);
        }
    }
}

#[cfg(test)]
#[path = "call_log_test.rs"]
mod tests;
