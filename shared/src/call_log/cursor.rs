//! Where the call-log aggregator stands between (and within) runs, stored under
//! `StateKey::CallLogCursor`: written by the aggregator, read by the dashboard for how fresh
//! the figures are (`read_through`).

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

/// Where the aggregator stands between (and within) runs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// The newest `DateCreated` counted (the account's local time).
    pub watermark: Option<NaiveDateTime>,
    /// The ranges of this run still to read, and the next page of the first one.
    pub pending: Vec<(NaiveDateTime, NaiveDateTime)>,
    pub next_page: Option<String>,
    /// The day whose low answer rate is alerted and not yet recovered.
    pub answer_rate_alert: Option<NaiveDate>,
    /// The days a backfill cursor is reading.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backfill: Option<BackfillRange>,
    /// Where the schedule's reads began (local time): days before it were not read whole,
    /// so they are never compared with the notifications. Set by the first run that
    /// starts new ranges (for a cursor stored before it was kept, the next one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_since: Option<NaiveDateTime>,
    /// The end (local time) of the newest ranges read to their last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_through: Option<NaiveDateTime>,
    /// The newest day whose listed calls were compared with the notifications.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhooks_compared_through: Option<NaiveDate>,
}

/// Days to read again, in the account's zone, first and last included.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackfillRange {
    pub from: NaiveDate,
    pub to: NaiveDate,
}
