//! Each newly affected line named with its way out. Exotel's heartbeat document advises
//! querying Get ExoPhone Details "in case any of your ExoPhone faces an issue as reported by
//! webhook": it says how each direction fails (`major_outage`, `partial_network_outage`),
//! when Exotel last checked, and the alternate ExoPhones to use meanwhile.
//!
//! The heartbeat's own write comes first: the receiver stores the state and its alerts
//! without calling Exotel, so a slow or throttled API never delays what is acknowledged.
//! The details are read when the alert is published, for its newly affected lines only
//! (Exotel: "polling the GET endpoint is not recommended"), a few lines an alert read side
//! by side, within a request budget a minute and a deadline; a 429, a deadline missed or an
//! Exotel that fails stops all reading for a minute, so a slow Exotel costs one alert a
//! minute its deadline, no more. An alert whose details could not be read goes out as it
//! is.

use crate::alert::{Alert, LineChange, Source};
use crate::exophone::ExoPhoneSid;
use crate::exotel::client::{ExotelClient, ExotelError};
use crate::exotel::details::{ExoPhoneDetails, LineHealth};
use crate::phone::mask_numbers;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// Lines whose details one alert reads: the first ones it lists. A fleet alert listing more
/// still names them all; the others' details wait for their own alert or the dashboard.
pub const MAX_LINES_ENRICHED: usize = 5;

/// The lines of `alert` to read the details of: heartbeat alerts' newly affected lines not
/// told already (a PAYLOAD_TOO_LARGE fleet's lines come from the details), each once, at
/// most [`MAX_LINES_ENRICHED`].
pub fn lines_to_enrich(alert: &Alert) -> Vec<ExoPhoneSid> {
    if alert.source != Source::ExotelHeartbeat {
        return Vec::new();
    }
    let mut sids: Vec<ExoPhoneSid> = Vec::new();
    for line in &alert.lines {
        let told = line.outage.is_some() || line.last_check_time.is_some();
        if line.change == LineChange::NewlyAffected && !told && !sids.contains(&line.sid) {
            if sids.len() == MAX_LINES_ENRICHED {
                break;
            }
            sids.push(line.sid.clone());
        }
    }
    sids
}

/// The alert with what the details say of its newly affected lines: per direction, the
/// outage kind and its last check, and the alternates (the heartbeat's first, then the
/// details' others). `None` when the details add nothing.
pub fn with_details(alert: &Alert, details: &[ExoPhoneDetails]) -> Option<Alert> {
    let mut enriched = alert.clone();
    for line in &mut enriched.lines {
        if line.change != LineChange::NewlyAffected {
            continue;
        }
        let Some(found) = details.iter().find(|d| d.sid == line.sid) else {
            continue;
        };
        // A status of unknown meaning says nothing: not even when it was checked.
        if found.health(line.direction) == LineHealth::Unknown {
            continue;
        }
        line.outage = found.info.outage(line.direction).or(line.outage);
        line.last_check_time = found
            .info
            .last_check_time(line.direction)
            .or(line.last_check_time);
        for alternate in found.info.alternates(line.direction) {
            if !line.alternate_exophones.contains(&alternate) {
                line.alternate_exophones.push(alternate);
            }
        }
        if line.phone_number.is_none() {
            line.phone_number = found.info.phone_number.clone();
        }
    }
    (enriched != *alert).then_some(enriched)
}

/// How the details are read on the way out.
#[derive(Clone, Copy, Debug)]
pub struct EnrichPolicy {
    /// The longest an alert waits for its details.
    pub deadline: Duration,
    /// No reading for this long after Exotel answers 429, misses the deadline or fails.
    pub paused_for: Duration,
}

impl Default for EnrichPolicy {
    fn default() -> Self {
        Self {
            deadline: Duration::from_secs(3),
            paused_for: Duration::from_secs(60),
        }
    }
}

/// Reads the details of alerts' newly affected lines from Exotel. Its client's budget is a
/// number of requests a minute (`begin_run` each minute), its spacing none (the budget
/// paces it), its own retries off: the alert does not wait for a back-off.
pub struct DetailsEnricher {
    client: ExotelClient,
    policy: EnrichPolicy,
    /// When the current minute's budget started, and until when reading is paused.
    window: Mutex<(Option<Instant>, Option<Instant>)>,
}

/// Why an alert went out without (some of) its details.
#[derive(Debug, PartialEq, Eq)]
pub enum Skipped {
    /// Exotel answered 429, missed a deadline or failed less than a minute ago.
    Paused,
    Throttled,
    BudgetSpent,
    Deadline,
    Failed(String),
}

impl DetailsEnricher {
    pub fn new(client: ExotelClient, policy: EnrichPolicy) -> Self {
        Self {
            client,
            policy,
            window: Mutex::new((None, None)),
        }
    }

    /// Starts a new minute's budget when the last one is over; `false` while paused.
    fn open_window(&self, now: Instant) -> bool {
        let mut window = self.window.lock().unwrap_or_else(|e| e.into_inner());
        let (started, paused_until) = &mut *window;
        if paused_until.is_some_and(|until| now < until) {
            return false;
        }
        if started.is_none_or(|s| now.duration_since(s) >= Duration::from_secs(60)) {
            *started = Some(now);
            self.client.begin_run();
        }
        true
    }

    fn pause(&self, now: Instant) {
        let mut window = self.window.lock().unwrap_or_else(|e| e.into_inner());
        window.1 = Some(now + self.policy.paused_for);
    }

    /// The details of `sids`, read side by side, as many as the budget, the deadline and
    /// Exotel allow, and why the rest were not read.
    pub async fn read(&self, sids: &[ExoPhoneSid]) -> (Vec<ExoPhoneDetails>, Option<Skipped>) {
        let start = Instant::now();
        if !self.open_window(start) {
            return (Vec::new(), Some(Skipped::Paused));
        }
        let reads =
            futures_util::future::join_all(sids.iter().map(|sid| self.client.exophone(sid)));
        let Ok(answers) = tokio::time::timeout_at(start + self.policy.deadline, reads).await else {
            self.pause(Instant::now());
            return (Vec::new(), Some(Skipped::Deadline));
        };
        let mut found = Vec::new();
        let mut skipped = None;
        for (sid, answer) in sids.iter().zip(answers) {
            match answer {
                Ok(Some(details)) => found.push(details),
                Ok(None) => tracing::warn!(exophone = %sid, "Exotel does not know this ExoPhone"),
                Err(ExotelError::BudgetSpent(_)) => skipped = Some(Skipped::BudgetSpent),
                Err(ExotelError::Status { status: 429 }) => {
                    self.pause(Instant::now());
                    skipped = Some(Skipped::Throttled);
                }
                Err(err) => {
                    self.pause(Instant::now());
                    skipped = Some(Skipped::Failed(err.to_string()));
                }
            }
        }
        (found, skipped)
    }

    /// The alert as it should go out: with its lines' details when any could be read.
    pub async fn enrich(&self, alert: &Alert) -> Option<Alert> {
        let sids = lines_to_enrich(alert);
        if sids.is_empty() {
            return None;
        }
        let (details, skipped) = self.read(&sids).await;
        if let Some(why) = &skipped {
            tracing::warn!(
                alert = %mask_numbers(&alert.id()),
                read = details.len(),
                wanted = sids.len(),
                why = ?why,
                "ExoPhone details not read for every line; the alert goes out without them"
            );
        }
        with_details(alert, &details)
    }
}

#[cfg(test)]
#[path = "enrich_test.rs"]
mod tests;
