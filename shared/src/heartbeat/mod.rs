//! Exotel ExoPhone Heartbeat: the payload, its parser, and the monitor's decision.

mod decide;
pub mod enrich;
mod model;
pub mod receiver;
mod row;
pub mod watchdog;
pub mod wording;

pub use decide::{
    apply_details, decide, AlertPolicy, Decision, LineState, MonitorState, MAX_LINE_ALERTS,
};
pub use model::{Heartbeat, HeartbeatEvent, HeartbeatStatus, ParseError};

/// The heartbeat's state rows: the monitor (`STATE#exotel-heartbeat`) and the watchdog
/// (`STATE#heartbeat-watchdog`), read by both the receiver and the scheduled watchdog.
/// Stored as the state's fields beside `"kind": "monitor"` or `"watchdog"`; read field by
/// field (`row.rs`), not through serde's buffering reader of tagged enums.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HeartbeatRow {
    Monitor(MonitorState),
    Watchdog(watchdog::WatchdogState),
}
