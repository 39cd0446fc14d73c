//! A heartbeat of a large fleet, built rather than recorded: the benchmarks and the tests of
//! large states need the same one.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

/// A WARNING heartbeat body listing `lines` affected lines: every one incoming, every other
/// one outgoing too, each with its number in `data`.
pub fn warning_with_lines(lines: usize, at: DateTime<Utc>) -> String {
    warning_with_lines_from(0, lines, at)
}

/// [`warning_with_lines`] for the lines numbered `first..first + lines`: a heartbeat whose
/// fleet overlaps another's where their numbers do.
pub fn warning_with_lines_from(first: usize, lines: usize, at: DateTime<Utc>) -> String {
    let sids: Vec<String> = (first..first + lines)
        .map(|i| format!("0{:010}", 7_930_000_000u64 + i as u64))
        .collect();
    let data: serde_json::Map<String, Value> = sids
        .iter()
        .map(|sid| {
            (
                sid.clone(),
                json!({ "phone_number": format!("+91{}", &sid[1..]) }),
            )
        })
        .collect();
    // By the line's own number, so that a line fails the same way in overlapping fleets.
    let outgoing: Vec<&String> = sids.iter().skip(first % 2).step_by(2).collect();
    json!({
        "timestamp": at.to_rfc3339(),
        "status_type": "WARNING",
        "incoming_affected": sids,
        "outgoing_affected": outgoing,
        "data": data,
    })
    .to_string()
}
