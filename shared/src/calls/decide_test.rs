use super::*;
use crate::calls::CallEvent;

fn exotel(event: &str, sid: &str, at: &str, extra: &str) -> CallEvent {
    CallEvent::parse_exotel(
        format!(r#"{{"event":"{event}","call_sid":"{sid}","timestamp":"{at}"{extra}}}"#).as_bytes(),
    )
    .unwrap()
}

const TZ: Tz = chrono_tz::Asia::Kolkata;

/// Applies the events in order, as stored state would; returns the last call, callback,
/// and the sum of all counter moves.
fn run(
    events: &[CallEvent],
) -> (
    CallState,
    Option<CallbackState>,
    std::collections::BTreeMap<&'static str, i64>,
) {
    let mut call: Option<CallState> = None;
    let mut callback: Option<CallbackState> = None;
    let mut totals = std::collections::BTreeMap::new();
    for e in events {
        let d = decide(call.as_ref(), callback.as_ref(), e, TZ);
        for (k, n) in d.counts {
            *totals.entry(k).or_insert(0) += n;
        }
        if d.call.is_some() {
            call = d.call;
        }
        if d.callback.is_some() {
            callback = d.callback;
        }
    }
    (call.unwrap(), callback, totals)
}

fn answered_call() -> Vec<CallEvent> {
    vec![
        exotel(
            "incoming_call",
            "c1",
            "2026-11-01T11:00:00Z",
            r#","from":"+919812345678","exophone":"+918030752522""#,
        ),
        exotel("call_ringing", "c1", "2026-11-01T11:00:01Z", ""),
        exotel("call_answered", "c1", "2026-11-01T11:00:05Z", ""),
        exotel(
            "call_completed",
            "c1",
            "2026-11-01T11:05:05Z",
            r#","duration":300,"talk_time":295"#,
        ),
    ]
}

#[test]
fn any_order_and_any_repetition_settle_on_the_same_call() {
    let events = answered_call();
    let (forward, _, counts) = run(&events);
    assert_eq!(forward.outcome(), Some(Outcome::Answered));
    assert_eq!(
        (forward.ring_seconds, forward.talk_seconds),
        (Some(5), Some(295))
    );
    assert_eq!(
        counts,
        [
            ("answered", 1),
            ("calls", 1),
            ("talk_seconds", 295),
            ("talked", 1)
        ]
        .into()
    );

    let reversed: Vec<CallEvent> = events.iter().rev().cloned().collect();
    let twice: Vec<CallEvent> = events.iter().chain(&events).cloned().collect();
    for order in [reversed, twice] {
        let (call, _, counts) = run(&order);
        assert_eq!(call.outcome(), Some(Outcome::Answered));
        assert_eq!(
            (call.answered_at, call.started_at, call.talk_seconds),
            (forward.answered_at, forward.started_at, Some(295))
        );
        assert_eq!(counts.get("calls"), Some(&1));
        assert_eq!(counts.get("answered"), Some(&1));
        assert_eq!(counts.get("missed").copied().unwrap_or(0), 0);
    }
}

#[test]
fn a_missed_call_opens_a_callback_and_calling_back_closes_it() {
    let missed = [
        exotel(
            "incoming_call",
            "m1",
            "2026-11-01T11:10:00Z",
            r#","from":"+919876500033","exophone":"+918030752522""#,
        ),
        exotel(
            "call_missed",
            "m1",
            "2026-11-01T11:10:31Z",
            r#","ring_time":30"#,
        ),
    ];
    let (call, callback, counts) = run(&missed);
    assert_eq!(call.outcome(), Some(Outcome::Missed));
    assert_eq!(counts, [("calls", 1), ("missed", 1)].into());
    let callback = callback.unwrap();
    assert!(callback.is_open());
    assert_eq!(
        callback.first_missed_at.to_rfc3339(),
        "2026-11-01T11:10:31+00:00"
    );

    let out = exotel(
        "outbound_call",
        "o1",
        "2026-11-01T11:30:00Z",
        r#","direction":"outbound","to":"+919876500033","exophone":"+918030752522""#,
    );
    let d = decide(None, Some(&callback), &out, TZ);
    let closed = d.callback.unwrap();
    assert_eq!(closed.closed_by.as_deref(), Some("o1"));
    assert_eq!(closed.waited_seconds, Some(1169));
    assert_eq!(
        callback_index(&CallsState::Callback(closed)),
        None,
        "a paid callback leaves the open index"
    );
}

#[test]
fn answered_beats_missed_and_moves_the_counters() {
    let events = [
        exotel(
            "incoming_call",
            "x",
            "2026-11-01T11:00:00Z",
            r#","from":"+919812345678""#,
        ),
        exotel("call_missed", "x", "2026-11-01T11:00:30Z", ""),
        exotel("call_answered", "x", "2026-11-01T11:00:20Z", ""),
        exotel(
            "call_completed",
            "x",
            "2026-11-01T11:02:00Z",
            r#","talk_time":100"#,
        ),
    ];
    let (call, _, counts) = run(&events);
    assert_eq!(call.outcome(), Some(Outcome::Answered));
    assert_eq!(counts.get("missed"), Some(&0));
    assert_eq!(counts.get("answered"), Some(&1));
    assert_eq!(counts.get("calls"), Some(&1));
}

#[test]
fn the_day_is_the_accounts_day() {
    let late = exotel(
        "incoming_call",
        "n",
        "2026-11-01T20:00:00Z",
        r#","from":"+919812345678""#,
    );
    assert_eq!(
        decide(None, None, &late, TZ).day.as_deref(),
        Some("2026-11-02")
    );
}

#[test]
fn overdue_alerts_are_one_per_callback() {
    let (_, callback, _) = run(&[exotel(
        "missed_call",
        "m",
        "2026-11-01T11:10:31Z",
        r#","from":"+919876500033","exophone":"+918030752522""#,
    )]);
    let callback = callback.unwrap();
    let now: DateTime<Utc> = "2026-11-01T11:45:31Z".parse().unwrap();
    let a = callback_overdue(&callback, now, TZ);
    let b = callback_overdue(&callback, now + chrono::Duration::minutes(5), TZ);
    assert_eq!(a.id(), b.id());
    assert_eq!(
        a.status,
        "+919876500033 waiting 35m 0s after 1 missed call(s)"
    );
}

mod properties {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    /// The events of one call in any order, some delivered more than once: the pipeline
    /// drops a redelivery by its idempotency key; what is left must settle the same.
    fn delivered(order: &[usize], events: &[CallEvent]) -> Vec<CallEvent> {
        let mut seen = HashSet::new();
        order
            .iter()
            .map(|i| &events[*i % events.len()])
            .filter(|e| seen.insert(e.dedup_key.clone()))
            .cloned()
            .collect()
    }

    fn missed_then_called_back() -> Vec<CallEvent> {
        vec![
            exotel(
                "incoming_call",
                "m1",
                "2026-11-01T11:10:00Z",
                r#","from":"+919876500033","exophone":"+918030752522""#,
            ),
            exotel(
                "call_missed",
                "m1",
                "2026-11-01T11:10:31Z",
                r#","ring_time":30"#,
            ),
        ]
    }

    proptest! {
        #[test]
        fn any_order_and_multiplicity_of_a_calls_events_settle_the_same(
            sequence in proptest::collection::vec(0usize..4, 0..12)
                .prop_map(|extra| (0..4).chain(extra).collect::<Vec<_>>())
                .prop_shuffle(),
        ) {
            let events = answered_call();
            let (forward, _, forward_counts) = run(&events);
            let (call, _, counts) = run(&delivered(&sequence, &events));
            prop_assert_eq!(call.outcome(), forward.outcome());
            prop_assert_eq!(
                (call.started_at, call.answered_at, call.ended_at, call.ring_seconds, call.talk_seconds),
                (forward.started_at, forward.answered_at, forward.ended_at, forward.ring_seconds, forward.talk_seconds)
            );
            // A late event may move a count and move it back: what matters is the sum.
            let moved: std::collections::BTreeMap<_, _> = counts.into_iter().filter(|(_, n)| *n != 0).collect();
            prop_assert_eq!(moved, forward_counts);
        }

        #[test]
        fn a_missed_call_owes_one_callback_whatever_the_order(
            reversed in any::<bool>(), repeats in 1usize..4,
        ) {
            let mut events = missed_then_called_back();
            if reversed {
                events.reverse();
            }
            let order: Vec<usize> = (0..events.len() * repeats).collect();
            let (call, callback, counts) = run(&delivered(&order, &events));
            prop_assert_eq!(call.outcome(), Some(Outcome::Missed));
            prop_assert_eq!(counts.get("missed"), Some(&1));
            let callback = callback.expect("a callback is owed");
            prop_assert!(callback.is_open());
            prop_assert_eq!(callback.missed.len(), 1);
        }
    }
}
