use super::*;

#[test]
fn empty_metrics_have_no_rate_average_or_peak() {
    let m = Metrics::default();
    assert_eq!(
        (m.answer_rate(), m.average_answered_seconds(), m.peak_hour()),
        (None, None, None)
    );
}

#[test]
fn a_range_is_the_sum_of_its_days() {
    let mut day = Metrics {
        total: 3,
        answered: 2,
        missed: 1,
        answered_seconds: 90,
        ..Metrics::default()
    };
    day.hourly[10] = 3;
    let mut range = day.clone();
    range += &day;
    assert_eq!(
        (range.total, range.answered, range.missed, range.busy),
        (6, 4, 2, 0)
    );
    assert_eq!((range.answered_seconds, range.hourly[10]), (180, 6));
}
