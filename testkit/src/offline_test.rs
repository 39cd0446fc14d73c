use super::*;
use dialtone_shared::calls::receiver::{CallReceiver, Voipstudio};
use dialtone_shared::secret::Secret;

fn voipstudio() -> CallReceiver<Voipstudio> {
    CallReceiver::new(
        dialtone_shared::secrets::Cached::fixed(
            Secret::new("local-voipstudio-token-0123456789".into()).expect("token"),
        ),
        chrono_tz::Asia::Kolkata,
    )
}

fn initial_call() -> lambda_http::Request {
    lambda_http::request::from_str(include_str!("../../events/voipstudio-call-initial.json"))
        .expect("envelope")
}

#[test]
fn the_pipeline_runs_to_its_commit_without_a_network() {
    let store = OfflineStore::new(Vec::new());
    let response = ingest(&voipstudio(), &store, initial_call());
    assert_eq!(response.status(), 200);
    let commit = store.into_commit().expect("a commit");
    assert_eq!(commit.source, "voipstudio");
    assert!(!commit.states.is_empty());
}

#[test]
fn stored_rows_are_served_to_the_reads() {
    let store = OfflineStore::new(Vec::new());
    ingest(&voipstudio(), &store, initial_call());
    let call_row = store.into_commit().expect("commit").states[0].state.clone();

    // The same event again with its call row stored: the row is read, and the event
    // moves nothing (unread, the row would be written again as new).
    let store = OfflineStore::new(vec![Some(call_row)]);
    let response = ingest(&voipstudio(), &store, initial_call());
    assert_eq!(response.status(), 200);
    assert!(store.into_commit().expect("commit").states.is_empty());
}

#[test]
fn a_stored_row_that_does_not_decode_is_a_storage_error() {
    let not_a_call = StateJson::of("not a call").expect("text");
    let store = OfflineStore::new(vec![Some(not_a_call)]);
    let response = ingest(&voipstudio(), &store, initial_call());
    assert_eq!(response.status(), 503);
}
