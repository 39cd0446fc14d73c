//! Telerivet's form bodies: the two fields read before anything else (`form_field`), the
//! whole event (`TelerivetEvent::parse`), then its keys and the decision on it.
#![no_main]

use chrono::{TimeZone, Utc};
use dialtone_shared::telerivet::{decide, form_field, TelerivetEvent};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let _ = form_field(body, "secret");
    let _ = form_field(body, "event");
    let Ok(event) = TelerivetEvent::parse(body) else {
        return;
    };
    let _ = event.kind.name();
    let _ = event.project_id();
    let _ = event.dedup_key();
    let _ = event.state_key();
    // A fixed clock keeps a run reproducible.
    let now = Utc.with_ymd_and_hms(2026, 11, 1, 10, 0, 0).unwrap();
    let first = decide(None, &event, now);
    if let Some(state) = &first.state {
        let _ = decide(Some(state), &event, now);
    }
});
