//! `GET /api/dashboard/range` as the Exotel dashboard tutorial answers it:
//! `{ metrics, generatedAt }`, `metrics` being the tutorial's raw aggregate with its field
//! names, types and rounding, so a client written against the tutorial works unchanged;
//! dialtone's extras beside them.

use chrono::{DateTime, NaiveDate, Utc};
use dialtone_shared::call_log::metrics::{format_duration, Metrics};
use serde::Serialize;
use std::collections::BTreeMap;

/// The tutorial's `aggregateCallMetrics` result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RawMetrics {
    pub total: u64,
    pub answered: u64,
    pub missed: u64,
    pub busy: u64,
    pub failed: u64,
    /// Seconds of the answered (`completed`) calls.
    pub total_duration: u64,
    pub hourly_distribution: [u64; 24],
    /// `"78.3"`: `toFixed(1)`; `"0.0"` with no calls.
    pub answer_rate: String,
    /// `Math.round(totalDuration / answered)`; 0 without answered calls.
    pub avg_duration_seconds: u64,
    /// `"2m 14s"`.
    pub avg_duration_formatted: String,
    /// The first busiest hour, a number; 0 with no calls, as the tutorial's `indexOf`.
    pub peak_hour: u32,
}

impl From<&Metrics> for RawMetrics {
    fn from(m: &Metrics) -> Self {
        let seconds = m.average_seconds_rounded();
        Self {
            total: m.total,
            answered: m.answered,
            missed: m.missed,
            busy: m.busy,
            failed: m.failed,
            total_duration: m.answered_seconds,
            hourly_distribution: m.hourly,
            answer_rate: m.answer_rate_text(),
            avg_duration_seconds: seconds,
            avg_duration_formatted: format_duration(seconds),
            peak_hour: m.peak_hour().unwrap_or(0),
        }
    }
}

/// The range's answer: the tutorial's two fields first, then dialtone's.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RangeMetrics {
    pub metrics: RawMetrics,
    pub generated_at: DateTime<Utc>,
    pub start: NaiveDate,
    pub end: NaiveDate,
    /// The same figures per direction (`inbound`, `outbound-dial`, …) and per ExoPhone, as
    /// the tutorial's step 5 filters them.
    pub by_direction: BTreeMap<String, RawMetrics>,
    pub by_exo_phone: BTreeMap<String, RawMetrics>,
    /// How fresh the figures are: the end of the newest call-log range the aggregator read
    /// to its last page; `null` before its first.
    pub data_as_of: Option<DateTime<Utc>>,
}

/// Sums days' figures per key.
#[derive(Default)]
pub struct RangeSum {
    pub all: Metrics,
    pub by_direction: BTreeMap<String, Metrics>,
    pub by_exo_phone: BTreeMap<String, Metrics>,
}

impl RangeSum {
    pub fn add(&mut self, day: &crate::view::DayFigures) {
        self.all += &day.all;
        for (direction, m) in &day.by_direction {
            *self.by_direction.entry(direction.clone()).or_default() += m;
        }
        for (line, m) in &day.by_line {
            *self.by_exo_phone.entry(line.clone()).or_default() += m;
        }
    }

    pub fn answer(
        &self,
        (start, end): (NaiveDate, NaiveDate),
        now: DateTime<Utc>,
        data_as_of: Option<DateTime<Utc>>,
    ) -> RangeMetrics {
        let raw = |buckets: &BTreeMap<String, Metrics>| {
            buckets
                .iter()
                .map(|(k, m)| (k.clone(), RawMetrics::from(m)))
                .collect()
        };
        RangeMetrics {
            metrics: RawMetrics::from(&self.all),
            generated_at: now,
            start,
            end,
            by_direction: raw(&self.by_direction),
            by_exo_phone: raw(&self.by_exo_phone),
            data_as_of,
        }
    }
}
