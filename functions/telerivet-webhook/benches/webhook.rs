//! CPU of the Telerivet receiver's own work per webhook, network excluded, as percentiles
//! of individually timed iterations (the criterion bench `incoming_message` gives the
//! mean): verify the secret, parse the form, decide, build the commit. The sample is the
//! incoming message of `events/` (contact, state, phone, media, unicode, an auto-reply).
//!
//! `cargo bench -p telerivet-webhook --bench webhook`

#[path = "../../exotel-heartbeat/benches/support/mod.rs"]
mod support;

use dialtone_shared::secret::Secret;
use dialtone_shared::telerivet::AutoReplies;
use support::{handle, iterations, report, request, time_each};
use telerivet_webhook::{Burst, TelerivetReceiver};

fn receiver() -> TelerivetReceiver {
    TelerivetReceiver {
        secrets: (
            Secret::new("local-telerivet-secret-0123456789".into()).expect("secret"),
            Some(Secret::new("old-telerivet-secret-0123456789".into()).expect("secret")),
        ),
        auto_replies: AutoReplies::from_json(
            r#"{"rules":[{"keyword":"hours","reply":"Open 9-6"}],"default":{"reply":"Thanks!"}}"#,
        )
        .expect("auto-replies"),
        sms_failures: Burst {
            at_least: 10,
            window: chrono::Duration::minutes(15),
        },
        auth_failures: Burst {
            at_least: 5,
            window: chrono::Duration::hours(1),
        },
    }
}

fn main() {
    let request = request(include_str!(
        "../../../events/telerivet-incoming-message.json"
    ));
    let receiver = receiver();
    let timings = time_each(2_000, iterations(), || {
        handle(&receiver, &request, Vec::new())
    });
    report("telerivet-webhook sample", &timings, &[]);
}
