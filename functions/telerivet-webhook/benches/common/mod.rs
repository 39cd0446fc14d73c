//! The receiver both Telerivet benches run: two secrets (one rotated out), a keyword rule
//! and a default auto-reply, as a deployment configures it.

use dialtone_shared::secret::Secret;
use dialtone_shared::secrets::{Cached, Rotating};
use dialtone_shared::telerivet::receiver::{Burst, FailureRatio, TelerivetReceiver};
use dialtone_shared::telerivet::AutoReplies;

pub fn receiver() -> TelerivetReceiver {
    TelerivetReceiver {
        secrets: Cached::fixed(Rotating {
            current: Secret::new("local-telerivet-secret-0123456789".into()).expect("secret"),
            previous: Some((
                Secret::new("old-telerivet-secret-0123456789".into()).expect("secret"),
                chrono::DateTime::<chrono::Utc>::MAX_UTC,
            )),
        }),
        auto_replies: AutoReplies::from_json(
            r#"{"rules":[{"keyword":"hours","reply":"Open 9-6"}],"default":{"reply":"Thanks!"}}"#,
        )
        .expect("auto-replies"),
        sms_failures: Burst {
            at_least: 10,
            window: chrono::Duration::minutes(15),
        },
        // The template's defaults: a first status counts a send.
        sms_failure_ratio: Some(FailureRatio {
            at_least: 5,
            above_percent: 20,
        }),
        auth_failures: Burst {
            at_least: 5,
            window: chrono::Duration::hours(1),
        },
    }
}
