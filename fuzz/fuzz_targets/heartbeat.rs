//! Exotel's heartbeat body (`Heartbeat::parse`), then what the receiver derives from a
//! parsed one: its dedup key, each line's alternate ExoPhones, and the decision on it as the
//! first heartbeat and again as a repeat of itself.
#![no_main]

use dialtone_shared::exophone::Direction;
use dialtone_shared::heartbeat::{decide, AlertPolicy, Decision, Heartbeat};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let Ok(heartbeat) = Heartbeat::parse(body) else {
        return;
    };
    let _ = heartbeat.at_utc().to_rfc3339();
    for line in heartbeat.data.values() {
        for direction in Direction::ALL {
            let _ = line.alternates(direction);
        }
    }
    let policy = AlertPolicy::default();
    if let Decision::Advance { state, .. } = decide(None, &heartbeat, &policy) {
        let _ = decide(Some(&state), &heartbeat, &policy);
    }
});
