//! Telerivet's form bodies: the two fields read before anything else (`form_field`), the
//! whole event (`TelerivetEvent::parse`), then its keys and the decision on it. Whatever
//! the one-pass reader (`form::read_fields`) reads, serde_qs must read the same.
#![no_main]

use chrono::{TimeZone, Utc};
use dialtone_shared::telerivet::{
    decide, form, form_field, serde_qs_fields, TelerivetEvent, MAX_DEPTH,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let _ = form_field(body, "secret");
    let _ = form_field(body, "event");
    if let Some(fields) = form::read_fields(body, MAX_DEPTH) {
        assert_eq!(
            Some(serde_json::Value::Object(fields)),
            serde_qs_fields(body).ok(),
            "the one-pass reader and serde_qs differ"
        );
    }
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
