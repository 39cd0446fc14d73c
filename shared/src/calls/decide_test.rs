use super::*;
use crate::calls::{callback_index, callback_overdue, CallEvent};
use crate::store::CounterLine;

fn exotel(event: &str, sid: &str, at: &str, extra: &str) -> CallEvent {
    CallEvent::parse_exotel(
        format!(r#"{{"event":"{event}","call_sid":"{sid}","timestamp":"{at}"{extra}}}"#).as_bytes(),
    )
    .unwrap()
}

const TZ: Tz = chrono_tz::Asia::Kolkata;

/// Counter fields and what they add up to.
type Totals = std::collections::BTreeMap<String, i64>;

use crate::calls::document_tests::fields as totals;

/// Applies the events in order, as stored state would; returns the last call, callback,
/// and the sum of all counter moves (those of the all-lines counters, on any day).
fn run(events: &[CallEvent]) -> (CallState, Option<CallbackState>, Totals) {
    let mut call: Option<CallState> = None;
    let mut callback: Option<CallbackState> = None;
    let mut totals = std::collections::BTreeMap::new();
    for e in events {
        let d = decide(call.as_ref(), callback.as_ref(), e, TZ);
        let all = crate::calls::CounterScope::Line(CounterLine::All);
        for moved in d.counts.iter().filter(|m| m.key.scope == all) {
            for (k, n) in &moved.adds {
                *totals.entry(k.clone()).or_insert(0) += n;
            }
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
        totals(&[
            ("answered", 1),
            ("calls", 1),
            ("talk_seconds", 295),
            ("talked", 1)
        ])
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
    assert_eq!(counts, totals(&[("calls", 1), ("missed", 1)]));
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
        decide(None, None, &late, TZ)
            .day
            .map(|day| day.to_string())
            .as_deref(),
        Some("2026-11-02")
    );
}

/// The callback a missed call at 11:10:31 UTC opens.
fn missed_at_11_10() -> CallbackState {
    let (_, callback, _) = run(&[exotel(
        "missed_call",
        "m",
        "2026-11-01T11:10:31Z",
        r#","from":"+919876500033","exophone":"+918030752522""#,
    )]);
    callback.expect("a callback owed")
}

#[test]
fn overdue_alerts_are_one_per_callback() {
    let callback = missed_at_11_10();
    let now: DateTime<Utc> = "2026-11-01T11:45:31Z".parse().unwrap();
    let a = callback_overdue(&callback, now, TZ);
    let b = callback_overdue(&callback, now + chrono::Duration::minutes(5), TZ);
    assert_eq!(a.id(), b.id());
    assert_eq!(
        a.status,
        "+919876500033 waiting 35m 0s after 1 missed call(s)"
    );
}

type Counters = std::collections::BTreeMap<String, std::collections::BTreeMap<String, i64>>;

/// Every counter key the call's events move through the receiver (as the pipeline
/// commits them), and the fields each ends with. `total` (how many times a key was
/// bumped) is left out: a late event bumps more often. A field at 0 reads as absent.
fn counters_by_key(events: &[CallEvent]) -> Counters {
    use crate::calls::receiver::{CallReceiver, ExotelCalls};
    use crate::pipeline::Receiver;
    let receiver = CallReceiver::<ExotelCalls>::new(
        crate::secrets::Cached::fixed(
            crate::secret::Secret::new("a-token-of-the-right-length".into()).unwrap(),
        ),
        TZ,
    );
    let now: DateTime<Utc> = "2026-11-03T00:00:00Z".parse().unwrap();
    let mut rows: Vec<Option<CallsState>> = vec![None, None];
    let mut keys = Counters::new();
    for event in events {
        let verdict = receiver.decide(&rows, event, now);
        for (row, state) in rows.iter_mut().zip(verdict.states) {
            if state.is_some() {
                *row = state;
            }
        }
        for bump in verdict.counters {
            let fields = keys.entry(bump.key.to_string()).or_default();
            for (field, n) in bump.adds {
                if field != crate::store::COUNTER_TOTAL {
                    *fields.entry(field).or_default() += n;
                }
            }
        }
    }
    for fields in keys.values_mut() {
        fields.retain(|_, n| *n != 0);
    }
    keys.retain(|_, fields| !fields.is_empty());
    keys
}

#[test]
fn a_first_event_arriving_last_moves_the_counts_to_its_line_and_day() {
    // Rang from 23:59:50 to 00:00:20 in Kolkata: missed, then an answer reported late.
    // Only `incoming_call` names the ExoPhone and holds the call's first moment.
    let incoming = exotel(
        "incoming_call",
        "late",
        "2026-11-01T18:29:50Z",
        r#","from":"+919812345678","exophone":"+918030752522""#,
    );
    let missed = exotel("call_missed", "late", "2026-11-01T18:30:20Z", "");
    let answered = exotel("call_answered", "late", "2026-11-01T18:30:15Z", "");
    let in_order = counters_by_key(&[incoming.clone(), answered.clone(), missed.clone()]);
    let one_call =
        std::collections::BTreeMap::from([("answered".to_owned(), 1), ("calls".to_owned(), 1)]);
    assert_eq!(
        in_order,
        Counters::from([
            (
                "calls:exotel-webrtc:+918030752522:2026-11-01".to_owned(),
                one_call.clone()
            ),
            ("calls:exotel-webrtc:all:2026-11-01".to_owned(), one_call),
        ])
    );
    assert_eq!(
        counters_by_key(&[missed, incoming, answered]),
        in_order,
        "no count is left under the unknown line or the next day, and none at -1"
    );
}

#[test]
fn a_row_stored_before_bookings_moves_what_it_counted() {
    // Stored by the code before bookings were kept: counted missed, under the unknown
    // line (the status update came first), and no booking.
    let missed = exotel("call_missed", "old", "2026-11-01T11:00:30Z", "");
    let mut stored = decide(None, None, &missed, TZ).call.unwrap();
    stored.direction = Some(CallDirection::Inbound);
    stored.booked = None;
    let stored: CallState = serde_json::from_value(serde_json::to_value(&stored).unwrap()).unwrap();
    assert_eq!(
        (stored.counted, stored.booked.as_ref()),
        (Some(Outcome::Missed), None)
    );

    let incoming = exotel(
        "incoming_call",
        "old",
        "2026-11-01T11:00:00Z",
        r#","from":"+919812345678","exophone":"+918030752522""#,
    );
    let decision = decide(Some(&stored), None, &incoming, TZ);
    let moved: Vec<(String, Vec<(&str, i64)>)> = decision
        .counts
        .iter()
        .map(|m| {
            let adds = m.adds.iter().map(|(f, n)| (f.as_str(), *n)).collect();
            (m.key.counter_key().to_string(), adds)
        })
        .collect();
    assert_eq!(
        moved,
        [
            (
                "calls:exotel-webrtc:+918030752522:2026-11-01".to_owned(),
                vec![("calls", 1), ("missed", 1)]
            ),
            (
                "calls:exotel-webrtc:unknown-line:2026-11-01".to_owned(),
                vec![("calls", -1), ("missed", -1)]
            ),
        ]
    );
}

#[test]
fn the_watchdog_decides_once_per_callback_and_alerted_ones_leave_its_partition() {
    let callback = missed_at_11_10();
    let deadline = chrono::Duration::minutes(30);
    let at = |t: &str| t.parse::<DateTime<Utc>>().unwrap();
    assert_eq!(
        crate::calls::overdue(&callback, at("2026-11-01T11:40:31Z"), deadline, TZ),
        None,
        "not yet due"
    );
    let now = at("2026-11-01T11:41:00Z");
    let (alerted, alert) = crate::calls::overdue(&callback, now, deadline, TZ).unwrap();
    assert_eq!(alerted.alerted_at, Some(now));
    assert_eq!(alert.id(), callback_overdue(&callback, now, TZ).id());
    let index = |c: &CallbackState| callback_index(&CallsState::Callback(c.clone())).unwrap();
    assert_eq!(index(&callback).0, crate::calls::CALLBACKS_OPEN);
    assert_eq!(index(&alerted).0, crate::calls::CALLBACKS_ALERTED);
    assert_eq!(index(&alerted).1, index(&callback).1, "same sort key");
    assert_eq!(
        crate::calls::overdue(&alerted, now + deadline, deadline, TZ),
        None,
        "decided"
    );

    // Missed again while alerted: still alerted, nothing more to decide; calling back
    // closes it and it leaves the index.
    let again = exotel(
        "missed_call",
        "m2",
        "2026-11-01T11:50:00Z",
        r#","from":"+919876500033","exophone":"+918030752522""#,
    );
    let more = decide(None, Some(&alerted), &again, TZ).callback.unwrap();
    assert_eq!((more.missed.len(), more.alerted_at), (2, Some(now)));
    assert_eq!(index(&more).0, crate::calls::CALLBACKS_ALERTED);
    let out = exotel(
        "outbound_call",
        "o",
        "2026-11-01T12:00:00Z",
        r#","direction":"outbound","to":"+919876500033""#,
    );
    let closed = decide(None, Some(&more), &out, TZ).callback.unwrap();
    assert_eq!(callback_index(&CallsState::Callback(closed.clone())), None);
    assert_eq!(
        crate::calls::overdue(&closed, now + deadline, deadline, TZ),
        None
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

    /// What a call's outcome was, for the generated calls.
    #[derive(Clone, Copy, Debug)]
    enum Kind {
        Answered,
        Missed,
        /// Missed, then an answer reported late: answered beats missed.
        MissedThenAnswered,
        OutboundUnanswered,
        /// An outbound call's `call_missed`: unanswered, though the status update alone
        /// looks like a missed call.
        OutboundMissed,
    }

    /// Midnight in the account's zone (Asia/Kolkata, UTC+05:30) of 2026-11-02.
    const MIDNIGHT: &str = "2026-11-01T18:30:00Z";

    /// The Exotel events of one call, in the order they happened, starting `start` seconds
    /// from midnight in the account's zone (negative: the day before), ringing `ring`
    /// seconds and talking `talk`: generated so that a call often spans midnight. Only the
    /// call's first event (`incoming_call`, `outbound_call`) and `missed_call` name the
    /// ExoPhone; the status updates carry the call's Sid and a timestamp alone. It rings for
    /// `agent_001`; `agent_002` answers (so its counts move between agents too).
    fn exotel_call(kind: Kind, start: i64, ring: i64, talk: i64) -> Vec<CallEvent> {
        let midnight: DateTime<Utc> = MIDNIGHT.parse().unwrap();
        let at = |s: i64| (midnight + chrono::Duration::seconds(s)).to_rfc3339();
        let sid = "c-midnight";
        let (from, line) = (r#""from":"+919812345678""#, r#""exophone":"+918030752522""#);
        let user = r#""user_id":"agent_001""#;
        let first = exotel(
            "incoming_call",
            sid,
            &at(start),
            &format!(",{from},{line},{user}"),
        );
        let ringing = exotel("call_ringing", sid, &at(start + 1), "");
        let answered = exotel(
            "call_answered",
            sid,
            &at(start + ring),
            r#","answered_by":"agent_002","device":"sip""#,
        );
        let completed = exotel(
            "call_completed",
            sid,
            &at(start + ring + talk),
            &format!(r#","talk_time":{talk},"recording_available":true"#),
        );
        let outbound = exotel(
            "outbound_call",
            sid,
            &at(start),
            &format!(r#","direction":"outbound","to":"+919812345678",{line},{user}"#),
        );
        let missed = exotel(
            "call_missed",
            sid,
            &at(start + ring),
            &format!(r#","ring_time":{ring}"#),
        );
        match kind {
            Kind::Answered => vec![first, ringing, answered, completed],
            Kind::Missed => vec![
                first,
                ringing,
                missed,
                exotel(
                    "missed_call",
                    sid,
                    &at(start + ring),
                    &format!(",{from},{line}"),
                ),
            ],
            Kind::MissedThenAnswered => vec![first, ringing, missed, answered, completed],
            Kind::OutboundUnanswered => vec![
                outbound,
                ringing,
                exotel("call_completed", sid, &at(start + ring), ""),
            ],
            Kind::OutboundMissed => vec![outbound, ringing, missed],
        }
    }

    fn a_call() -> impl Strategy<Value = Vec<CallEvent>> {
        (
            prop_oneof![
                Just(Kind::Answered),
                Just(Kind::Missed),
                Just(Kind::MissedThenAnswered),
                Just(Kind::OutboundUnanswered),
                Just(Kind::OutboundMissed),
            ],
            -120i64..60,
            2i64..90,
            1i64..900,
        )
            .prop_map(|(kind, start, ring, talk)| exotel_call(kind, start, ring, talk))
    }

    proptest! {
        #[test]
        fn any_order_and_multiplicity_of_a_calls_events_settle_the_same(
            sequence in proptest::collection::vec(0usize..5, 0..12)
                .prop_map(|extra| (0..5).chain(extra).collect::<Vec<_>>())
                .prop_shuffle(),
            events in prop_oneof![Just(answered_call()), a_call()],
        ) {
            let (forward, _, forward_counts) = run(&events);
            let reordered = delivered(&sequence, &events);
            let (call, _, counts) = run(&reordered);
            prop_assert_eq!(call.outcome(), forward.outcome());
            prop_assert_eq!(
                (call.started_at, call.answered_at, call.ended_at, call.ring_seconds, call.talk_seconds),
                (forward.started_at, forward.answered_at, forward.ended_at, forward.ring_seconds, forward.talk_seconds)
            );
            // A late event may move a count and move it back: the sum is the in-order one...
            let moved: std::collections::BTreeMap<_, _> = counts.into_iter().filter(|(_, n)| *n != 0).collect();
            let forward_counts: std::collections::BTreeMap<_, _> = forward_counts.into_iter().filter(|(_, n)| *n != 0).collect();
            prop_assert_eq!(moved, forward_counts);
            // ...and so is every counter key: its line and its day in the account's zone.
            prop_assert_eq!(counters_by_key(&reordered), counters_by_key(&events));
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

/// A call row's booking as stored before its day was typed: read, and written back the
/// same, so the counts it holds still move from where they are.
#[test]
fn a_booking_stored_before_its_day_was_typed_reads_and_writes_back_the_same() {
    let stored = serde_json::json!({
        "line": "+918030752522",
        "day": "2026-11-02",
        "outcome": "answered",
        "talk_seconds": 42,
    });
    let booking: crate::calls::Booking = serde_json::from_value(stored.clone()).unwrap();
    assert_eq!(booking.day.to_string(), "2026-11-02");
    assert_eq!(serde_json::to_value(&booking).unwrap(), stored);
}
