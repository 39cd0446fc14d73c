use super::*;

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn policy() -> WatchdogPolicy {
    WatchdogPolicy {
        interval: Duration::minutes(5),
        grace: Duration::minutes(2),
    }
}

#[test]
fn silence_goes_late_then_down_once_each() {
    let last = Some(t("2026-11-01T10:00:00Z"));
    let heard = WatchdogState::default();
    assert_eq!(
        check(&heard, last, t("2026-11-01T10:06:59Z"), &policy()),
        None
    );
    let (late, alert) = check(&heard, last, t("2026-11-01T10:07:30Z"), &policy()).unwrap();
    assert_eq!(
        (late.silence, alert.severity, alert.status.as_str()),
        (Silence::Late, Severity::Warning, "LATE")
    );
    assert_eq!(
        alert.occurred_at,
        t("2026-11-01T10:07:00Z"),
        "when the threshold was crossed"
    );
    assert_eq!(
        check(&late, last, t("2026-11-01T10:10:00Z"), &policy()),
        None,
        "still late: no repeat"
    );
    let (down, alert) = check(&late, last, t("2026-11-01T10:17:00Z"), &policy()).unwrap();
    assert_eq!(
        (down.silence, alert.severity),
        (Silence::Down, Severity::Critical)
    );
    assert_eq!(
        check(&down, last, t("2026-11-01T11:00:00Z"), &policy()),
        None
    );
}

#[test]
fn a_long_silence_noticed_late_goes_straight_to_down() {
    let (state, alert) = check(
        &WatchdogState::default(),
        Some(t("2026-11-01T10:00:00Z")),
        t("2026-11-01T12:00:00Z"),
        &policy(),
    )
    .unwrap();
    assert_eq!(state.silence, Silence::Down);
    assert_eq!(alert.occurred_at, t("2026-11-01T10:17:00Z"));
}

#[test]
fn the_next_heartbeat_recovers_with_the_silence_duration() {
    let down = WatchdogState {
        silence: Silence::Down,
        last_heard: Some(t("2026-11-01T10:00:00Z")),
    };
    let (state, alert) = heard(&down, t("2026-11-01T10:45:00Z")).unwrap();
    assert_eq!(state, WatchdogState::default());
    assert_eq!(
        (alert.kind, alert.outage_seconds),
        (AlertKind::HeartbeatRecovered, Some(2700))
    );
    assert_eq!(
        heard(&WatchdogState::default(), t("2026-11-01T10:50:00Z")),
        None
    );
}

#[test]
fn nothing_to_judge_before_the_first_heartbeat() {
    assert_eq!(
        check(
            &WatchdogState::default(),
            None,
            t("2026-11-01T12:00:00Z"),
            &policy()
        ),
        None
    );
}
