//! CPU time of the Telerivet handler for a typical incoming message (the sample in
//! `events/`: contact, state, phone, media, unicode), as criterion's mean: the real
//! pipeline (verify the secret, parse the form, decide, build the commit, answer) against
//! an offline store, so the network is excluded.
//!
//! `cargo bench -p telerivet-webhook`

mod common;

use common::receiver;
use criterion::{criterion_group, criterion_main, Criterion};
use dialtone_testkit::offline::{ingest, OfflineStore};
use std::hint::black_box;

fn incoming_message(c: &mut Criterion) {
    let request = lambda_http::request::from_str(include_str!(
        "../../../events/telerivet-incoming-message.json"
    ))
    .expect("envelope");
    let receiver = receiver();
    c.bench_function(
        "telerivet incoming_message: the pipeline, network excluded",
        |b| {
            b.iter(|| {
                let store = OfflineStore::new(Vec::new());
                let response = ingest(&receiver, &store, black_box(&request).clone());
                assert_eq!(response.status(), 200);
                black_box((response, store.into_commit()))
            })
        },
    );
}

criterion_group!(benches, incoming_message);
criterion_main!(benches);
