//! Exotel ExoPhone Heartbeat: the payload, its parser, and the monitor's decision.

mod decide;
mod model;

pub use decide::{decide, AlertPolicy, Decision, LineState, MonitorState, MAX_LINE_ALERTS};
pub use model::{
    Connectivity, Direction, ExoPhoneSid, Heartbeat, HeartbeatStatus, LineInfo, ParseError,
};
