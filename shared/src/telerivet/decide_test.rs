use super::*;
use crate::telerivet::TelerivetEvent;

fn status(id: &str, status: &str) -> TelerivetEvent {
    TelerivetEvent::parse(
        format!(
            "event=send_status&id={id}&status={status}&project_id=PJ1&error_message=Example+error"
        )
        .as_bytes(),
    )
    .unwrap()
}

fn now() -> DateTime<Utc> {
    "2026-11-01T10:07:30Z".parse().unwrap()
}

/// Applies events in order, as the pipeline would.
fn settle(statuses: &[&str]) -> (Option<TelerivetState>, Vec<bool>) {
    let mut state = None;
    let mut failures = Vec::new();
    for s in statuses {
        let d = decide(state.as_ref(), &status("SM1", s), now());
        failures.push(d.newly_failed);
        if d.state.is_some() {
            state = d.state;
        }
    }
    (state, failures)
}

fn final_status(statuses: &[&str]) -> String {
    match settle(statuses).0 {
        Some(TelerivetState::Message(m)) => m.status,
        other => panic!("{other:?}"),
    }
}

#[test]
fn statuses_settle_on_the_furthest_whatever_the_order() {
    assert_eq!(final_status(&["queued", "sent", "delivered"]), "delivered");
    assert_eq!(final_status(&["delivered", "sent", "queued"]), "delivered");
    assert_eq!(final_status(&["sent", "queued"]), "sent");
    assert_eq!(final_status(&["failed_queued", "sent"]), "sent");
    assert_eq!(final_status(&["not_delivered", "sent"]), "not_delivered");
}

#[test]
fn a_late_status_is_superseded_but_remembered() {
    let (state, _) = settle(&["delivered", "sent"]);
    let Some(TelerivetState::Message(m)) = state else {
        panic!()
    };
    assert_eq!(m.statuses_seen, ["delivered", "sent"]);
    let d = decide(
        Some(&TelerivetState::Message(m)),
        &status("SM1", "queued"),
        now(),
    );
    assert_eq!(d.outcome, "superseded");
    assert_eq!(d.settled_status, None);
}

#[test]
fn a_failure_is_counted_once_per_message() {
    assert_eq!(settle(&["sent", "not_delivered"]).1, [false, true]);
    assert_eq!(settle(&["failed", "failed"]).1, [true, false]);
    assert_eq!(
        settle(&["queued", "sent", "delivered"]).1,
        [false, false, false]
    );
}

#[test]
fn contact_delete_is_a_tombstone_and_metadata_remembers_call_complete() {
    let del =
        TelerivetEvent::parse(b"event=contact_update&update_type=delete&id=CT1&name=Asha").unwrap();
    let Some(TelerivetState::Contact(c)) = decide(None, &del, now()).state else {
        panic!()
    };
    assert!(c.deleted);
    assert_eq!(c.name.as_deref(), Some("Asha"));

    let done = TelerivetEvent::parse(
        b"event=message_metadata&update_type=call_complete&id=CA1&in_progress=0",
    )
    .unwrap();
    let later =
        TelerivetEvent::parse(b"event=message_metadata&update_type=star&id=CA1&starred=1").unwrap();
    let first = decide(None, &done, now()).state;
    let Some(TelerivetState::Metadata(m)) = decide(first.as_ref(), &later, now()).state else {
        panic!()
    };
    assert!(m.call_complete);
    assert_eq!(m.starred, Some(true));
}

#[test]
fn keys_tell_redeliveries_from_new_changes() {
    assert_eq!(status("SM1", "sent").dedup_key(), "status:SM1:sent");
    assert_eq!(
        status("SM1", "sent")
            .state_key()
            .map(|key| key.to_string())
            .as_deref(),
        Some("telerivet:message:SM1")
    );
    let a =
        TelerivetEvent::parse(b"event=contact_update&update_type=update&id=CT1&name=A").unwrap();
    let b =
        TelerivetEvent::parse(b"event=contact_update&update_type=update&id=CT1&name=B").unwrap();
    assert_ne!(a.dedup_key(), b.dedup_key());
}

#[test]
fn failure_windows_are_aligned() {
    let start = failure_window_start(now(), Duration::minutes(15));
    assert_eq!(start.to_rfc3339(), "2026-11-01T10:00:00+00:00");
}

mod properties {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    const PATHS: [&[&str]; 3] = [
        &["queued", "sent", "delivered"],
        &["queued", "failed_queued", "sent", "failed"],
        &["queued", "sent", "not_delivered"],
    ];

    proptest! {
        /// A message's statuses in any order, each possibly redelivered (dropped by the
        /// pipeline's idempotency key): the message settles on the furthest one, and a
        /// failure raises at most one failure count.
        #[test]
        fn statuses_in_any_order_and_multiplicity_settle_on_the_furthest(
            (statuses, arrivals) in (0usize..3).prop_flat_map(|path| {
                let statuses = PATHS[path];
                let arrivals = proptest::collection::vec(proptest::sample::select(statuses), 0..12)
                    .prop_map(move |extra| statuses.iter().copied().chain(extra).collect::<Vec<_>>())
                    .prop_shuffle();
                (Just(statuses), arrivals)
            }),
        ) {
            let mut seen = HashSet::new();
            let delivered: Vec<&str> = arrivals.into_iter().filter(|s| seen.insert(*s)).collect();
            let (state, failures) = settle(&delivered);
            let Some(TelerivetState::Message(message)) = state else {
                return Err(TestCaseError::fail("no message state"));
            };
            let furthest = statuses.last().copied().unwrap_or_default();
            prop_assert_eq!(message.status.as_str(), furthest);
            let expected = usize::from(FAILED_STATUSES.contains(&furthest));
            prop_assert_eq!(failures.iter().filter(|f| **f).count(), expected);
        }
    }
}

#[test]
fn a_failure_keeps_the_time_it_was_first_received_through_every_retry() {
    let first = now();
    let later = first + Duration::minutes(20);
    let sent = decide(None, &status("SM1", "sent"), first).state;
    let Some(TelerivetState::Message(m)) = &sent else {
        panic!("{sent:?}")
    };
    assert_eq!(m.failed_at, None, "not failed");
    let failed = decide(sent.as_ref(), &status("SM1", "failed"), first);
    assert!(failed.newly_failed);
    let Some(TelerivetState::Message(m)) = &failed.state else {
        panic!("{failed:?}")
    };
    assert_eq!(m.failed_at, Some(first));
    // The same status again, twenty minutes on (Telerivet's retry): nothing counted, and
    // the failure still names its first arrival.
    let retried = decide(failed.state.as_ref(), &status("SM1", "failed"), later);
    assert!(!retried.newly_failed);
    let Some(TelerivetState::Message(m)) = &retried.state else {
        panic!("{retried:?}")
    };
    assert_eq!(m.failed_at, Some(first));
}

fn with(body: &str) -> TelerivetEvent {
    TelerivetEvent::parse(format!("event=send_status&project_id=PJ1&{body}").as_bytes()).unwrap()
}

fn message(state: &Option<TelerivetState>) -> &MessageState {
    match state {
        Some(TelerivetState::Message(m)) => m,
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_message_keeps_its_phone_its_queue_time_and_its_first_move() {
    let created = now() - Duration::minutes(9);
    let queued = with(&format!(
        "id=SM1&status=queued&phone_id=PN1&time_created={}",
        created.timestamp()
    ));
    let first = decide(None, &queued, now());
    assert!(first.first_heard, "its first status is one send");
    let state = first.state;
    assert_eq!(
        message(&state).queued_at,
        Some(created),
        "Telerivet's own time"
    );
    assert_eq!(message(&state).moved_at, None);

    // A later status without a phone keeps the one known; its move is when it arrived.
    let later = now() + Duration::minutes(1);
    let sent = decide(state.as_ref(), &with("id=SM1&status=sent"), later);
    assert!(!sent.first_heard);
    let m = message(&sent.state);
    assert_eq!(m.phone_id.as_deref(), Some("PN1"));
    assert_eq!((m.queued_at, m.moved_at), (Some(created), Some(later)));

    // The first move stays: a delivery report does not move it again.
    let delivered = decide(
        sent.state.as_ref(),
        &with("id=SM1&status=delivered"),
        later + Duration::minutes(5),
    );
    assert_eq!(message(&delivered.state).moved_at, Some(later));
}

#[test]
fn a_sent_before_its_queued_is_a_moved_message_and_a_future_time_is_not_believed() {
    // Telerivet's time from the future (a skewed clock, a hand-written body): the arrival.
    let future = now() + Duration::hours(2);
    let sent = decide(
        None,
        &with(&format!(
            "id=SM2&status=sent&phone_id=PN1&time_created={}",
            future.timestamp()
        )),
        now(),
    );
    assert!(sent.first_heard);
    let m = message(&sent.state);
    assert_eq!((m.queued_at, m.moved_at), (Some(now()), Some(now())));
    // The late `queued` changes nothing: the message is not waiting.
    let queued = decide(
        sent.state.as_ref(),
        &with("id=SM2&status=queued&phone_id=PN1"),
        now(),
    );
    assert_eq!(queued.outcome, "superseded");
    assert_eq!(message(&queued.state).status, "sent");
    // A cancellation is a person's, not a move of the phone.
    let cancelled = decide(None, &with("id=SM3&status=cancelled&phone_id=PN1"), now());
    assert_eq!(message(&cancelled.state).moved_at, None);
}

#[test]
fn the_first_click_on_a_short_link_is_kept_once_and_is_not_a_repeat_of_the_status() {
    let sent = decide(None, &with("id=SM4&status=sent&phone_id=PN1"), now());
    let clicked_at = now() + Duration::minutes(3);
    let click = with(&format!(
        "id=SM4&status=sent&time_clicked={}",
        clicked_at.timestamp()
    ));
    // Not the redelivery of `sent` it would be by its status alone.
    assert_ne!(click.dedup_key(), with("id=SM4&status=sent").dedup_key());
    let clicked = decide(sent.state.as_ref(), &click, clicked_at);
    assert!(clicked.first_click);
    assert_eq!(clicked.outcome, "clicked");
    assert_eq!(message(&clicked.state).status, "sent");
    assert_eq!(message(&clicked.state).clicked_at, Some(clicked_at));
    // A later status carries `time_clicked` too: it moves the status, not the click.
    let delivered = with(&format!(
        "id=SM4&status=delivered&time_clicked={}",
        clicked_at.timestamp()
    ));
    let after = decide(
        clicked.state.as_ref(),
        &delivered,
        clicked_at + Duration::minutes(1),
    );
    assert!(!after.first_click);
    assert_eq!(after.settled_status.as_deref(), Some("delivered"));
    assert_eq!(message(&after.state).clicked_at, Some(clicked_at));
}
