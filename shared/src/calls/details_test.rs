use super::*;

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn press(time: &str, id: &str, tag: &str) -> DtmfPress {
    DtmfPress {
        at: Some(at(time)),
        event_id: Some(id.into()),
        tag: Some(tag.into()),
        target: None,
    }
}

#[test]
fn presses_keep_their_order_and_repeats_whatever_order_they_arrive_in() {
    let presses = [
        press("2026-11-01T10:00:01Z", "e1", "1"),
        press("2026-11-01T10:00:02Z", "e2", "1"),
        press("2026-11-01T10:00:03Z", "e3", "#"),
    ];
    for order in [[0, 1, 2], [2, 1, 0], [1, 2, 0]] {
        let mut kept = Vec::new();
        let mut dtmf = Vec::new();
        // Each delivered twice: a redelivery is the same press.
        for i in order.iter().chain(&order) {
            dtmf = add_press(&mut kept, &dtmf, presses[*i].clone());
        }
        assert_eq!(dtmf, ["1", "1", "#"], "{order:?}");
        assert_eq!(kept.len(), 3);
    }
}

#[test]
fn presses_kept_before_they_had_times_come_first_and_stay() {
    let mut kept = Vec::new();
    let legacy = vec!["* U:123456".to_owned(), "2".to_owned()];
    let dtmf = add_press(&mut kept, &legacy, press("2026-11-01T10:00:01Z", "e9", "3"));
    assert_eq!(dtmf, ["* U:123456", "2", "3"]);
}

#[test]
fn a_late_start_never_reopens_a_closed_wrap_up() {
    let (start, end) = (at("2026-11-01T10:12:10Z"), at("2026-11-01T10:13:40Z"));
    let mut in_order = WrapUp::default();
    assert!(in_order.fold("START", start));
    assert!(in_order.fold("END", end));
    let mut late_start = WrapUp::default();
    late_start.fold("END", end);
    late_start.fold("START", start);
    late_start.fold("START", start);
    assert_eq!(in_order, late_start);
    assert_eq!(late_start.state().as_deref(), Some("END"));
    assert_eq!(late_start.seconds(), Some(90));
}

#[test]
fn a_wrap_up_closed_twice_keeps_its_first_close_whatever_the_order() {
    let start = at("2026-11-01T10:12:10Z");
    let timeout = at("2026-11-01T10:14:10Z");
    let end = at("2026-11-01T10:13:00Z");
    let mut a = WrapUp::default();
    let mut b = WrapUp::default();
    for (state, t) in [("START", start), ("TIMEOUT", timeout), ("END", end)] {
        a.fold(state, t);
    }
    for (state, t) in [("END", end), ("TIMEOUT", timeout), ("START", start)] {
        b.fold(state, t);
    }
    assert_eq!(a, b);
    assert_eq!((a.state().as_deref(), a.seconds()), (Some("END"), Some(50)));
    let mut open = WrapUp::default();
    open.fold("START", start);
    assert_eq!(
        (open.state().as_deref(), open.seconds()),
        (Some("START"), None)
    );
    assert!(
        !open.fold("PAUSED", start),
        "a state the document does not name"
    );
}
