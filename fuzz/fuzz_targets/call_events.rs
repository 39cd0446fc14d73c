//! VoIPstudio and Exotel call events: every input goes to both parsers (their corpora are
//! one JSON family, so each learns from the other's seeds). A parsed event must serialise
//! (the history stores it), and the decision runs on it first and again as a redelivery.
#![no_main]

use dialtone_shared::calls::{decide, CallEvent};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    for parsed in [
        CallEvent::parse_voipstudio(body),
        CallEvent::parse_exotel(body),
    ] {
        let Ok(event) = parsed else {
            continue;
        };
        serde_json::to_vec(&event).expect("a parsed call event serialises");
        let tz = chrono_tz::Asia::Kolkata;
        let first = decide(None, None, &event, tz);
        let _ = decide(first.call.as_ref(), first.callback.as_ref(), &event, tz);
    }
});
