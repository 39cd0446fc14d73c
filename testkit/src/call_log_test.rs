use super::*;
use chrono::NaiveDateTime;
use std::borrow::Cow;

fn call(
    sid: &str,
    created: &str,
    status: &str,
    direction: &str,
    duration: u64,
) -> CallRecord<'static> {
    CallRecord {
        sid: Cow::Owned(sid.to_owned()),
        created: NaiveDateTime::parse_from_str(created, "%Y-%m-%d %H:%M:%S").unwrap(),
        status: Cow::Owned(status.to_owned()),
        direction: Cow::Owned(direction.to_owned()),
        exophone: Some(Cow::Borrowed("0803")),
        duration_seconds: Some(duration),
    }
}

#[test]
fn the_tutorials_figures_per_day_direction_and_exophone() {
    let mut agg = Aggregate::default();
    for c in [
        call("1", "2026-11-01 11:05:00", "completed", "inbound", 100),
        call("2", "2026-11-01 11:40:00", "completed", "inbound", 201),
        call("3", "2026-11-01 11:59:59", "no-answer", "inbound", 0),
        call("4", "2026-11-01 15:00:00", "busy", "outbound-dial", 0),
        call("5", "2026-11-01 15:30:00", "failed", "outbound-api", 0),
        call("6", "2026-11-02 00:00:01", "completed", "inbound", 60),
    ] {
        agg.add(&c);
    }
    let day = &agg.days[&chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()];
    let all = &day.all;
    assert_eq!(
        (all.total, all.answered, all.missed, all.busy, all.failed),
        (5, 2, 1, 1, 1)
    );
    assert_eq!(all.answer_rate(), Some(40.0));
    assert_eq!(all.average_answered_seconds(), Some(151), "150.5 rounds up");
    assert_eq!(all.peak_hour(), Some(11));
    assert_eq!(all.hourly.iter().sum::<u64>(), 5);
    assert_eq!(day.by_direction["inbound"].total, 3);
    assert_eq!(day.by_direction["outbound-api"].failed, 1);
    assert_eq!(day.by_exophone["0803"].total, 5);
    assert_eq!(agg.days.len(), 2);
}
