use super::*;

#[test]
fn the_schedule_and_a_backfill_are_told_apart() {
    let schedule: AggregatorEvent =
        serde_json::from_str(include_str!("../../../events/eventbridge-schedule.json")).unwrap();
    assert!(matches!(schedule, AggregatorEvent::Schedule(_)));
    let backfill: AggregatorEvent =
        serde_json::from_str(include_str!("../../../events/call-log-backfill.json")).unwrap();
    let AggregatorEvent::Backfill { backfill: range } = backfill else {
        panic!("a backfill")
    };
    assert_eq!(
        (range.from.to_string(), range.to.to_string()),
        ("2026-11-19".into(), "2026-11-20".into())
    );
    assert!(
        serde_json::from_str::<AggregatorEvent>(r#"{"backfill": {"from": "19/11/2026"}}"#).is_err()
    );
}
