use super::*;
use chrono::TimeZone;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap()
}

fn policy() -> StuckPolicy {
    StuckPolicy {
        after: Duration::minutes(5),
        at_least: 2,
    }
}

fn message(status: &str, phone: Option<&str>, queued_minutes_ago: i64) -> MessageState {
    MessageState {
        status: status.into(),
        error_message: None,
        statuses_seen: vec![status.into()],
        project_id: Some("PJ1".into()),
        updated_at: now(),
        failed_at: None,
        phone_id: phone.map(Into::into),
        queued_at: Some(now() - Duration::minutes(queued_minutes_ago)),
        moved_at: phone_moved(status).then(now),
        clicked_at: None,
    }
}

#[test]
fn a_waiting_message_is_indexed_by_its_queue_time_and_a_moved_one_under_its_phone() {
    let waiting = TelerivetState::Message(message("failed_queued", Some("PN1"), 7));
    assert_eq!(
        message_index(&waiting),
        Some((
            SMS_WAITING.to_owned(),
            "2026-12-01T09:53:00+00:00".to_owned()
        ))
    );
    let sent = TelerivetState::Message(message("sent", Some("PN1"), 7));
    assert_eq!(
        message_index(&sent),
        Some((
            "SMS_MOVED#PN1".to_owned(),
            "2026-12-01T10:00:00+00:00".to_owned()
        ))
    );
    // Cancelled by a person, or with no phone to judge: in neither partition.
    assert_eq!(
        message_index(&TelerivetState::Message(message(
            "cancelled",
            Some("PN1"),
            7
        ))),
        None
    );
    assert_eq!(
        message_index(&TelerivetState::Message(message("queued", None, 7))),
        None
    );
}

#[test]
fn a_phone_is_stuck_with_enough_messages_waiting_past_the_threshold() {
    let rows = vec![
        ("SM1".to_owned(), message("queued", Some("PN1"), 9)),
        ("SM2".to_owned(), message("failed_queued", Some("PN1"), 12)),
        // Not yet past the threshold: not counted.
        ("SM3".to_owned(), message("queued", Some("PN1"), 4)),
        // Another phone with one stuck message: under the minimum of 2.
        ("SM4".to_owned(), message("queued", Some("PN2"), 30)),
        // Moved since the index was read.
        ("SM5".to_owned(), message("sent", Some("PN3"), 30)),
    ];
    let stuck = stuck_phones(&rows, now(), &policy());
    assert_eq!(stuck.len(), 2, "{stuck:?}");
    let pn1 = &stuck["PN1"];
    assert_eq!(pn1.messages, 2);
    assert_eq!(pn1.oldest_message, "SM2");
    assert_eq!(pn1.oldest_queued_at, now() - Duration::minutes(12));
    // Both are still waiting (neither is resolved), but only PN1 has enough to alert.
    assert!(is_not_sending(pn1, None, now(), &policy()));
    assert!(!is_not_sending(&stuck["PN2"], None, now(), &policy()));
    // A phone that moved a message within the threshold is sending (a send limit).
    let recently = Some(now() - Duration::minutes(2));
    assert!(!is_not_sending(pn1, recently, now(), &policy()));
    assert!(is_not_sending(
        pn1,
        Some(now() - Duration::minutes(6)),
        now(),
        &policy()
    ));
}

#[test]
fn the_alert_names_the_phone_and_its_oldest_message_and_is_the_same_from_any_run() {
    let stuck = Stuck {
        phone_id: "PN1".into(),
        project_id: Some("PJ1".into()),
        messages: 3,
        oldest_message: "SM2".into(),
        oldest_queued_at: now() - Duration::minutes(12),
        last_active: Some(now() - Duration::minutes(40)),
    };
    let (state, alert) = not_sending(&stuck, None, now(), &policy());
    let (_, later) = not_sending(&stuck, None, now() + Duration::minutes(1), &policy());
    assert_eq!(alert.id(), later.id(), "one alert, whichever run raises it");
    // Another episode (the phone moved a message after this one was queued, then stopped)
    // is another alert.
    let moved = Some(now() - Duration::minutes(7));
    let (_, again) = not_sending(&stuck, moved, now(), &policy());
    assert_ne!(again.id(), alert.id());
    assert_eq!(again.occurred_at, now() - Duration::minutes(2));
    assert_eq!(alert.kind, AlertKind::SmsGatewayNotSending);
    assert!(alert.status.contains("PN1"), "{}", alert.status);
    assert!(alert.notes[0].contains("SM2"), "{:?}", alert.notes);
    assert!(
        alert.notes.iter().any(|n| n.contains("40m")),
        "{:?}",
        alert.notes
    );
    assert_eq!(state.index().map(|i| i.0), Some(PHONES_NOT_SENDING.into()));

    let (resolved, back) = sending_again(&state, now() + Duration::minutes(10), "SM9 was sent");
    assert_eq!(back.kind, AlertKind::SmsGatewaySending);
    assert_eq!(back.dedup_key, alert.dedup_key);
    assert_eq!(resolved.index(), None, "a resolved phone leaves the index");
}

#[test]
fn an_alerted_phone_is_back_when_it_moves_a_message_or_nothing_waits() {
    let stuck = Stuck {
        phone_id: "PN1".into(),
        project_id: None,
        messages: 1,
        oldest_message: "SM1".into(),
        oldest_queued_at: now() - Duration::minutes(12),
        last_active: None,
    };
    let (state, _) = not_sending(&stuck, None, now(), &policy());
    let later = now() + Duration::minutes(3);
    // A move after the alert resolves it at that move: the same id from any run.
    let moved = Some(now() + Duration::minutes(1));
    assert_eq!(
        back(&state, moved, Some(true), later).map(|(at, _)| at),
        moved
    );
    // A move from before the alert does not.
    let before = Some(now() - Duration::minutes(20));
    assert_eq!(back(&state, before, Some(true), later), None);
    // Nothing waiting any more resolves it; not knowing does not.
    assert_eq!(
        back(&state, before, Some(false), later).map(|(at, _)| at),
        Some(later)
    );
    assert_eq!(back(&state, before, None, later), None);
}

#[test]
fn two_readers_of_one_phone_keep_the_larger_count_and_the_older_message() {
    let mut hooks = Stuck {
        phone_id: "PN1".into(),
        project_id: None,
        messages: 2,
        oldest_message: "SM2".into(),
        oldest_queued_at: now() - Duration::minutes(8),
        last_active: None,
    };
    hooks.merge(Stuck {
        phone_id: "PN1".into(),
        project_id: Some("PJ1".into()),
        messages: 5,
        oldest_message: "SM0".into(),
        oldest_queued_at: now() - Duration::minutes(20),
        last_active: Some(now() - Duration::minutes(30)),
    });
    assert_eq!(hooks.messages, 5);
    assert_eq!(hooks.oldest_message, "SM0");
    assert_eq!(hooks.project_id.as_deref(), Some("PJ1"));
    assert!(hooks.last_active.is_some());
}
