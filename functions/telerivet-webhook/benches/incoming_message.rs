//! CPU time of the Telerivet handler's own work for a typical incoming message (the sample
//! in `events/`: contact, state, phone, media, unicode): verify the secret, parse the form,
//! decide, and serialise what is written. Network and DynamoDB are excluded.
//!
//! `cargo bench -p telerivet-webhook`

use chrono::Utc;
use criterion::{criterion_group, criterion_main, Criterion};
use dialtone_shared::pipeline::{Receiver, Verification};
use dialtone_shared::secret::Secret;
use dialtone_shared::telerivet::AutoReplies;
use std::hint::black_box;
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

fn incoming_message(c: &mut Criterion) {
    let request = lambda_http::request::from_str(include_str!(
        "../../../events/telerivet-incoming-message.json"
    ))
    .expect("envelope");
    let receiver = receiver();
    let now = Utc::now();
    c.bench_function(
        "telerivet incoming_message: verify + parse + decide + serialise",
        |b| {
            b.iter(|| {
                assert!(matches!(
                    receiver.verify(black_box(&request), now),
                    Verification::Genuine
                ));
                let event = receiver.parse(black_box(&request), now).expect("parses");
                let verdict = receiver.decide(&[None], &event, now);
                black_box(serde_json::to_string(&verdict.history).expect("serialises"));
                black_box((receiver.dedup_key(&event), verdict.reply))
            })
        },
    );
}

criterion_group!(benches, incoming_message);
criterion_main!(benches);
