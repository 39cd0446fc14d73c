//! Telerivet's form bodies: the two fields read before anything else (`form_field`), what
//! is kept of a refused body (`redact_secret`), the whole event (`TelerivetEvent::parse`),
//! then its keys and the decision on it.
#![no_main]

use chrono::{TimeZone, Utc};
use dialtone_shared::telerivet::{decide, form_field, redact_secret, TelerivetEvent};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let secret = form_field(body, "secret");
    let _ = form_field(body, "event");
    // Whatever the body, what is kept of it holds no secret but the placeholder.
    let redacted = redact_secret(body);
    if secret.is_some() {
        assert_eq!(
            form_field(&redacted, "secret").as_deref(),
            Some("[redacted]"),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
    let Ok(event) = TelerivetEvent::parse(body) else {
        return;
    };
    assert!(
        event.raw.get("secret").is_none(),
        "the secret is never kept"
    );
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
