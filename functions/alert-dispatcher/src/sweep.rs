//! The sweep: on a schedule, alert rows left unpublished are published, oldest first.

use crate::{publish_once, AlertEnricher, Deps, DispatchError, Dispatched};
use chrono::{DateTime, Duration, Utc};
use dialtone_shared::phone::mask_numbers;
use dialtone_shared::publish::AlertPublisher;
use dialtone_shared::store::AlertLedger;
use serde::Serialize;

/// An alert is the stream's for this long after it is stored (it normally goes out within
/// seconds); after it, the sweep publishes it.
pub const SWEEP_MIN_AGE: Duration = Duration::minutes(5);
/// How far back the sweep looks, by the alerts' own time: well past the stream's 24 hours
/// and a long weekend of a broken topic. An alert older than this that never went out is
/// in the dispatcher's DLQ, whose alarm has fired.
pub const SWEEP_LOOKBACK: Duration = Duration::days(4);

/// What one sweep did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    /// Unpublished rows found old enough to be the sweep's.
    pub found: usize,
    pub published: usize,
    /// Published or claimed by the stream meanwhile.
    pub left: usize,
    /// Not published (the invocation fails): the next sweep tries them again.
    pub failed: usize,
}

/// Publishes every alert left unpublished for [`SWEEP_MIN_AGE`], oldest first. An alert
/// that fails is left for the next sweep and the others go on (one alert SNS refuses must
/// not hold up the rest); the invocation then fails with the first error, so the function's
/// error alarm sees it.
pub async fn sweep<L: AlertLedger, P: AlertPublisher, E: AlertEnricher>(
    deps: &Deps<L, P, E>,
    now: DateTime<Utc>,
) -> Result<SweepReport, DispatchError> {
    let started = std::time::Instant::now();
    let rows = deps
        .ledger
        .unpublished(now - SWEEP_LOOKBACK, now - SWEEP_MIN_AGE)
        .await?;
    let mut report = SweepReport {
        found: rows.len(),
        ..SweepReport::default()
    };
    let mut first_error = None;
    for row in &rows {
        // Each claim runs from the moment it is taken, not from the sweep's start.
        let at = now + Duration::from_std(started.elapsed()).unwrap_or_default();
        match publish_once(deps, row, at).await {
            Ok(Dispatched::Published) => report.published += 1,
            Ok(_) => report.left += 1,
            Err(err) => {
                tracing::error!(alert = %mask_numbers(&row.alert_id), error = %err, "alert not published by the sweep; the next sweep tries again");
                report.failed += 1;
                first_error.get_or_insert(err);
            }
        }
    }
    if report.found > 0 {
        tracing::warn!(
            found = report.found,
            published = report.published,
            failed = report.failed,
            "alerts the stream had not published were published by the sweep"
        );
    }
    match first_error {
        Some(err) => Err(err),
        None => Ok(report),
    }
}

#[cfg(test)]
#[path = "sweep_test.rs"]
pub(crate) mod tests;
