//! Get ExoPhone Details answers (`details::read_blocks`, on the JSON value the client
//! reads first), each line's health and alternates, and the lines applied to a monitor
//! that a PAYLOAD_TOO_LARGE heartbeat left without them (`heartbeat::apply_details`).
#![no_main]

use chrono::{TimeZone, Utc};
use dialtone_shared::exophone::Direction;
use dialtone_shared::exotel::details::read_blocks;
use dialtone_shared::heartbeat::{
    apply_details, decide, AlertPolicy, Decision, Heartbeat, MonitorState,
};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// The monitor after a PAYLOAD_TOO_LARGE heartbeat: the only state details apply to.
fn too_large() -> &'static MonitorState {
    static STATE: OnceLock<MonitorState> = OnceLock::new();
    STATE.get_or_init(|| {
        let heartbeat = Heartbeat::parse(
            br#"{"timestamp": "2026-11-01T10:06:00Z", "status_type": "PAYLOAD_TOO_LARGE"}"#,
        )
        .unwrap();
        match decide(None, &heartbeat, &AlertPolicy::default()) {
            Decision::Advance { state, .. } => state,
            Decision::Stale { .. } => unreachable!("nothing is stored before the first"),
        }
    })
}

fuzz_target!(|body: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return;
    };
    let Some(read) = read_blocks(&value) else {
        return;
    };
    for line in &read.lines {
        for direction in Direction::ALL {
            let _ = line.health(direction);
            let _ = line.info.alternates(direction);
        }
    }
    let at = Utc.with_ymd_and_hms(2026, 11, 1, 10, 7, 0).unwrap();
    let _ = apply_details(too_large(), &read.lines, at);
});
