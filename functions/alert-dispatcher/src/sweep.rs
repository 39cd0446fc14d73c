//! The sweep: on a schedule, alert rows left unpublished are published, oldest first.

use crate::{publish_once, Deps, DispatchError, Dispatched};
use chrono::{DateTime, Duration, Utc};
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
}

/// Publishes every alert left unpublished for [`SWEEP_MIN_AGE`]. A failure stops the sweep
/// there (the next one resumes, in order) and fails the invocation, so the function's
/// error alarm sees it.
pub async fn sweep<L: AlertLedger, P: AlertPublisher>(
    deps: &Deps<L, P>,
    now: DateTime<Utc>,
) -> Result<SweepReport, DispatchError> {
    let rows = deps
        .ledger
        .unpublished(now - SWEEP_LOOKBACK, now - SWEEP_MIN_AGE)
        .await?;
    let mut report = SweepReport {
        found: rows.len(),
        ..SweepReport::default()
    };
    for row in &rows {
        match publish_once(deps, row, now).await? {
            Dispatched::Published => report.published += 1,
            _ => report.left += 1,
        }
    }
    if report.found > 0 {
        tracing::warn!(
            found = report.found,
            published = report.published,
            "alerts the stream had not published were published by the sweep"
        );
    }
    Ok(report)
}

#[cfg(test)]
#[path = "sweep_test.rs"]
pub(crate) mod tests;
