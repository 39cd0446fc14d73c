//! Missing webhooks: per ExoPhone and account day, the calls Exotel's call log (Bulk Call
//! Details) lists against the calls Exotel's call notifications reported. A webhook that
//! stopped arriving is an outage too, and nothing else notices it: no request, no error.
//!
//! Both sides are counters the table keeps anyway, so the comparison stores nothing per
//! call: the call log's `metrics:<day>:exophone:<PhoneNumberSid>` (its `total`, each Sid
//! counted once) and the notifications' `calls:exotel-webrtc:<line>:<day>` (its `calls`: a
//! call counts there once its notifications have named its ExoPhone and told how it
//! ended). Matching call by call would need every listed Sid of the day kept, or the day
//! read from Exotel again, and that the notifications' `call_sid` is Bulk Call Details'
//! `Sid`, which Exotel does not document; counts need neither.
//!
//! The two sides write an ExoPhone differently (`08030752522` in the call log,
//! `+918030752522` in notifications): both are read with [`E164::from_exotel`].
//!
//! A day is compared once its end plus the lag has passed and the aggregator has read it
//! whole (see [`days_to_compare`]); an ExoPhone is compared only if some call on it produced
//! a notification on that day or the [`ACTIVE_DAYS`]` - 1` before (a line whose call flow
//! sends none is left out by itself), and never if it is listed to be left out.

use crate::alert::{Alert, AlertKind, DedupKey, Severity, Source, MAX_ALERT_LINES};
use crate::config::{self, ConfigError};
use crate::phone::{CountryCode, E164};
use crate::store::{CallLogBucket, CounterKey, CounterLine, COUNTER_TOTAL};
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// An ExoPhone is compared on a day only if a call on it produced a notification within
/// this many days ending with that day.
pub const ACTIVE_DAYS: u64 = 7;
/// Days compared in one aggregator run at most: after a long stop, the backlog is worked
/// through a week per run rather than all in one invocation.
pub const MAX_DAYS_PER_RUN: usize = 7;
/// The notifications' counter field: calls whose notifications told how they ended.
const NOTIFIED_FIELD: &str = "calls";

/// When calls without a notification are worth an alert, and which ExoPhones are not
/// compared at all.
#[derive(Clone, Debug, PartialEq)]
pub struct MissingWebhookPolicy {
    /// How long after a day's end its comparison waits: Exotel lists a call once it ends,
    /// and notifications are retried for 5 minutes.
    pub lag: Duration,
    /// Calls listed on an ExoPhone that day before it is judged.
    pub min_calls: u64,
    /// More than this share of the listed calls (percent) without a notification alerts.
    pub above_percent: f64,
    /// What a national number's leading `0` stands for.
    pub country: CountryCode,
    /// ExoPhones never compared (their call flow sends no notifications), as read by
    /// [`line_id`].
    pub left_out: BTreeSet<String>,
}

/// The template's defaults: compared 6 hours after the day ends (Exotel lists a call up to
/// some 4 hours after it began), judged from 20 calls, alerting above 5 % missing.
impl Default for MissingWebhookPolicy {
    fn default() -> Self {
        Self {
            lag: Duration::hours(6),
            min_calls: 20,
            above_percent: 5.0,
            country: CountryCode::default(),
            left_out: BTreeSet::new(),
        }
    }
}

impl MissingWebhookPolicy {
    /// From the environment: `MISSING_WEBHOOK_LAG_SECONDS`, `MISSING_WEBHOOK_MIN_CALLS`,
    /// `MISSING_WEBHOOK_ALERT_PERCENT`, `EXOPHONE_COUNTRY_CODE` and
    /// `MISSING_WEBHOOK_LEFT_OUT_EXOPHONES`, each defaulting as [`Default`] says.
    pub fn load() -> Result<Self, ConfigError> {
        let defaults = Self::default();
        let lag = config::number_or::<u32>(
            "MISSING_WEBHOOK_LAG_SECONDS",
            defaults.lag.num_seconds() as u32,
        )?;
        let above_percent =
            config::number_or("MISSING_WEBHOOK_ALERT_PERCENT", defaults.above_percent)?;
        if !(0.0..=100.0).contains(&above_percent) {
            return Err(ConfigError::Invalid {
                name: "MISSING_WEBHOOK_ALERT_PERCENT",
                reason: format!("{above_percent} is not a percentage between 0 and 100"),
            });
        }
        let raw_country = config::optional("EXOPHONE_COUNTRY_CODE")
            .unwrap_or_else(|| defaults.country.as_str().to_owned());
        let country = CountryCode::parse(&raw_country).map_err(|_| ConfigError::Invalid {
            name: "EXOPHONE_COUNTRY_CODE",
            reason: format!(
                "{raw_country:?} is not a country calling code (1 to 3 digits, e.g. 91)"
            ),
        })?;
        let left_out = left_out_lines(
            &config::optional("MISSING_WEBHOOK_LEFT_OUT_EXOPHONES").unwrap_or_default(),
            &country,
        )
        .map_err(|reason| ConfigError::Invalid {
            name: "MISSING_WEBHOOK_LEFT_OUT_EXOPHONES",
            reason,
        })?;
        Ok(Self {
            lag: Duration::seconds(i64::from(lag)),
            min_calls: config::number_or("MISSING_WEBHOOK_MIN_CALLS", defaults.min_calls)?,
            above_percent,
            country,
            left_out,
        })
    }
}

/// The ExoPhones to leave out, comma-separated, each in any form Exotel writes a number
/// (`+918030752522`, `08030752522`); one that reads as no number is an error naming it (a
/// typo would otherwise leave out nothing, silently).
pub fn left_out_lines(raw: &str, country: &CountryCode) -> Result<BTreeSet<String>, String> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            E164::from_exotel(s, country)
                .map(String::from)
                .map_err(|_| {
                    format!("{s:?} is not a phone number (e.g. +918030752522 or 08030752522)")
                })
        })
        .collect()
}

/// One ExoPhone's day, compared.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineComparison {
    /// Calls Exotel's call log lists.
    pub listed: u64,
    /// Calls the notifications reported.
    pub notified: u64,
    /// Listed calls no notification reported: `listed - notified`, never below 0.
    pub missing: u64,
}

/// A day compared: what the aggregator stores and the dashboard shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayComparison {
    /// The account's day.
    pub day: NaiveDate,
    /// The ExoPhones compared, by number (E.164 where it reads as one).
    pub lines: BTreeMap<String, LineComparison>,
    /// ExoPhones with calls listed but left out: no notification in [`ACTIVE_DAYS`] days.
    pub silent_lines: Vec<String>,
    /// ExoPhones with calls listed but left out by configuration.
    pub left_out_lines: Vec<String>,
    /// Calls the notifications reported without ever naming their ExoPhone (only status
    /// updates arrived): counted on no line, so a line's `missing` may include them.
    pub notified_without_line: u64,
}

impl DayComparison {
    pub fn missing(&self) -> u64 {
        self.lines.values().map(|l| l.missing).sum()
    }

    pub fn listed(&self) -> u64 {
        self.lines.values().map(|l| l.listed).sum()
    }
}

/// An ExoPhone as both sides are matched on: its E.164 number where the text reads as one,
/// else the text itself, trimmed (so two unreadable spellings still match when equal).
pub fn line_id(raw: &str, country: &CountryCode) -> String {
    E164::from_exotel(raw, country)
        .map(String::from)
        .unwrap_or_else(|_| raw.trim().to_owned())
}

/// Calls listed per ExoPhone on `day` in the call log's counters.
pub fn listed_per_line(
    day: NaiveDate,
    counters: &BTreeMap<CounterKey, BTreeMap<String, i64>>,
    country: &CountryCode,
) -> BTreeMap<String, u64> {
    let mut listed = BTreeMap::new();
    for (key, fields) in counters {
        if let CounterKey::CallLog {
            day: d,
            bucket: CallLogBucket::ExoPhone(line),
        } = key
        {
            if *d == day {
                *listed.entry(line_id(line, country)).or_default() += count(fields, COUNTER_TOTAL);
            }
        }
    }
    listed
}

/// Calls notified per ExoPhone on `day` by `provider`'s counters, and those on no line.
pub fn notified_per_line(
    day: NaiveDate,
    provider: &str,
    counters: &BTreeMap<CounterKey, BTreeMap<String, i64>>,
    country: &CountryCode,
) -> (BTreeMap<String, u64>, u64) {
    let mut notified = BTreeMap::new();
    let mut without_line = 0;
    for (key, fields) in counters {
        let CounterKey::Calls {
            provider: p,
            line,
            day: d,
        } = key
        else {
            continue;
        };
        if p != provider || *d != day {
            continue;
        }
        match line {
            CounterLine::Line(line) => {
                *notified.entry(line_id(line, country)).or_default() +=
                    count(fields, NOTIFIED_FIELD)
            }
            CounterLine::Unknown => without_line += count(fields, NOTIFIED_FIELD),
            CounterLine::All => {}
        }
    }
    (notified, without_line)
}

/// A counter field, never below 0 (a counter whose call moved to another line or day may
/// go through 0 while the move is applied shard by shard).
fn count(fields: &BTreeMap<String, i64>, name: &str) -> u64 {
    fields.get(name).copied().unwrap_or(0).max(0) as u64
}

/// The comparison of one day. `active` holds the ExoPhones with a notified call within
/// [`ACTIVE_DAYS`] days ending with `day` (as read by [`line_id`]).
pub fn compare_day(
    day: NaiveDate,
    listed: &BTreeMap<String, u64>,
    notified: &BTreeMap<String, u64>,
    notified_without_line: u64,
    active: &BTreeSet<String>,
    policy: &MissingWebhookPolicy,
) -> DayComparison {
    let mut comparison = DayComparison {
        day,
        lines: BTreeMap::new(),
        silent_lines: Vec::new(),
        left_out_lines: Vec::new(),
        notified_without_line,
    };
    for (line, &listed) in listed {
        if policy.left_out.contains(line) {
            comparison.left_out_lines.push(line.clone());
        } else if !active.contains(line) && notified.get(line).copied().unwrap_or(0) == 0 {
            comparison.silent_lines.push(line.clone());
        } else {
            let notified = notified.get(line).copied().unwrap_or(0);
            comparison.lines.insert(
                line.clone(),
                LineComparison {
                    listed,
                    notified,
                    missing: listed.saturating_sub(notified),
                },
            );
        }
    }
    comparison
}

/// Whether one ExoPhone's day is past the threshold: enough calls listed, and more than the
/// share of them without a notification.
pub fn over_threshold(line: &LineComparison, policy: &MissingWebhookPolicy) -> bool {
    line.listed >= policy.min_calls
        && line.listed > 0
        && line.missing as f64 * 100.0 > policy.above_percent * line.listed as f64
}

/// The day's one alert, naming every ExoPhone past the threshold (worst first); `None`
/// when none is. Its id is the day's: raised again for the same day, it is the same alert.
pub fn missing_webhooks_alert(
    comparison: &DayComparison,
    policy: &MissingWebhookPolicy,
    tz: chrono_tz::Tz,
) -> Option<Alert> {
    let mut over: Vec<(&String, &LineComparison)> = comparison
        .lines
        .iter()
        .filter(|(_, l)| over_threshold(l, policy))
        .collect();
    if over.is_empty() {
        return None;
    }
    over.sort_by(|a, b| b.1.missing.cmp(&a.1.missing).then(a.0.cmp(b.0)));
    let (missing, listed) = over
        .iter()
        .fold((0, 0), |(m, l), (_, c)| (m + c.missing, l + c.listed));
    let day = comparison.day;
    let lines = if over.len() == 1 {
        format!("on {}", over[0].0)
    } else {
        format!("on {} ExoPhones", over.len())
    };
    let mut notes: Vec<String> = over
        .iter()
        .take(MAX_ALERT_LINES)
        .map(|(line, c)| {
            format!(
                "{line}: {} of {} calls listed had no notification ({:.1}%)",
                c.missing,
                c.listed,
                c.missing as f64 * 100.0 / c.listed as f64
            )
        })
        .collect();
    if over.len() > MAX_ALERT_LINES {
        notes.push(format!(
            "…and {} more ExoPhones",
            over.len() - MAX_ALERT_LINES
        ));
    }
    if comparison.notified_without_line > 0 {
        notes.push(format!(
            "{} notified calls never named their ExoPhone (only status updates arrived)",
            comparison.notified_without_line
        ));
    }
    Some(Alert {
        dedup_key: DedupKey::scoped(Source::CallLog, &format!("missing-webhooks:{day}")),
        source: Source::CallLog,
        kind: AlertKind::WebhooksMissing,
        severity: Severity::Warning,
        status: format!(
            "{missing} of {listed} calls {lines} on {day} had no notification (threshold {:.1}%)",
            policy.above_percent
        ),
        // The end of the day: fixed for the day, whichever run compares it.
        occurred_at: start_of(day + Duration::days(1), tz),
        lines: Vec::new(),
        lines_omitted: 0,
        lines_affected: over.len(),
        outage_seconds: None,
        notes,
    })
}

/// Midnight of `day` in `tz`, as an instant.
pub fn start_of(day: NaiveDate, tz: chrono_tz::Tz) -> DateTime<Utc> {
    day.and_time(NaiveTime::MIN)
        .and_local_timezone(tz)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| day.and_time(NaiveTime::MIN).and_utc())
}

/// The days to compare now, oldest first, at most [`MAX_DAYS_PER_RUN`]: after the last
/// compared, from the first day the aggregator's reads cover whole (`read_since`, the start
/// of its first read), up to the last day whose end plus the lag a finished read reached
/// (`read_through`, the end of the newest read finished). All in the account's local time.
pub fn days_to_compare(
    compared_through: Option<NaiveDate>,
    read_since: Option<NaiveDateTime>,
    read_through: Option<NaiveDateTime>,
    lag: Duration,
) -> Vec<NaiveDate> {
    let (Some(since), Some(through)) = (read_since, read_through) else {
        return Vec::new();
    };
    let first_whole = if since.time() == NaiveTime::MIN {
        since.date()
    } else {
        since.date() + Duration::days(1)
    };
    let first = match compared_through {
        Some(done) => first_whole.max(done + Duration::days(1)),
        None => first_whole,
    };
    // The last day D with (D + 1) 00:00 + lag <= through.
    let last = (through - lag).date() - Duration::days(1);
    first
        .iter_days()
        .take_while(|d| *d <= last)
        .take(MAX_DAYS_PER_RUN)
        .collect()
}

#[cfg(test)]
#[path = "missing_webhooks_test.rs"]
mod tests;
