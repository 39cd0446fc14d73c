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

/// The tutorial's `answerRate` as Node computes it (`events/node-answer-rate-tofixed.json`:
/// every pair up to 60 calls, and every pair up to 2 000 where the double's rounding
/// differs from exact arithmetic), matched digit for digit.
#[test]
fn the_answer_rate_is_written_as_the_tutorials_javascript_writes_it() {
    #[derive(serde::Deserialize)]
    struct Fixture {
        rows: Vec<(u64, u64, String)>,
    }
    let fixture: Fixture = serde_json::from_str(include_str!(
        "../../../events/node-answer-rate-tofixed.json"
    ))
    .unwrap();
    assert!(fixture.rows.len() > 2000);
    let mut differ = Vec::new();
    for (answered, total, node) in &fixture.rows {
        let m = Metrics {
            total: *total,
            answered: *answered,
            ..Metrics::default()
        };
        if m.answer_rate_text() != *node {
            differ.push((answered, total, node.clone(), m.answer_rate_text()));
        }
    }
    assert!(
        differ.is_empty(),
        "{} differ: {:?}",
        differ.len(),
        &differ[..differ.len().min(10)]
    );
    assert_eq!(Metrics::default().answer_rate_text(), "0.0");
    let tie = Metrics {
        total: 16,
        answered: 1,
        ..Metrics::default()
    };
    assert_eq!(tie.answer_rate_text(), "6.3", "an exact half goes up");
}

#[test]
fn the_average_talk_time_rounds_halves_up_as_math_round_does() {
    let m = |answered, answered_seconds| Metrics {
        answered,
        answered_seconds,
        ..Metrics::default()
    };
    assert_eq!(m(2, 5).average_seconds_rounded(), 3);
    assert_eq!(m(3, 4).average_seconds_rounded(), 1);
    assert_eq!(m(0, 0).average_seconds_rounded(), 0);
}
