//! What a commit means, end to end on the local stack: only the idempotency key makes a
//! delivery a duplicate; an alert that exists never cancels an event; a state read and
//! left alone is checked; an event of a kind not known yet is stored and raised once; an
//! event no retry could store is answered 200, quarantined and alerted.

mod common;

use chrono::{DateTime, Duration, Utc};
use common::*;
use dialtone_shared::alert::{Alert, AlertKind, DedupKey, Severity, Source};
use dialtone_shared::calls::receiver::{ExotelCalls, Voipstudio};
use dialtone_shared::heartbeat::watchdog::WatchdogPolicy;
use dialtone_shared::heartbeat::HeartbeatRow;
use dialtone_shared::pipeline::handler;
use dialtone_shared::store::{
    Commit, CommitOutcome, DynamoStore, EventStore, StateCheck, StateJson, StateWrite,
};
use heartbeat_watchdog::{check_silence, Deps as WatchdogDeps};
use serde_json::json;

const WARNING: &str = include_str!("../../events/heartbeat-warning.json");
const CRITICAL: &str = include_str!("../../events/heartbeat-critical.json");
const VOIPSTUDIO: &str = include_str!("../../events/voipstudio-call-initial.json");
const EXOTEL_CALL: &str = include_str!("../../events/exotel-call-incoming-call.json");

fn at(text: &str) -> DateTime<Utc> {
    text.parse().expect("instant")
}

fn store(stack: &dialtone_local::stack::Stack) -> DynamoStore {
    DynamoStore::new(stack.dynamodb.clone(), &stack.table)
}

fn monitor_status(state: Option<serde_json::Value>) -> String {
    state.expect("monitor row")["status"]
        .as_str()
        .expect("status")
        .to_owned()
}

/// Exotel on its cadence with a grace of 0: the watchdog calls the 10:02 heartbeat LATE at
/// 10:02, and the 10:02 heartbeat recovers it at the same instant, under the same dedup key.
/// Both alerts are kept and the CRITICAL is applied (on main before this change the
/// recovery's alert row collided with the LATE one, the whole heartbeat was dropped and
/// Exotel told "duplicate").
#[tokio::test]
async fn a_recovery_at_the_instant_the_watchdog_crossed_is_applied() {
    let stack = stack("coincide").await;
    let deps = heartbeat_deps(&stack);
    let watchdog = WatchdogDeps {
        store: store(&stack),
        policy: WatchdogPolicy {
            interval: Duration::minutes(1),
            grace: Duration::zero(),
        },
        details: None,
    };
    assert_eq!(send(&deps, WARNING).await.0, 200);
    assert_eq!(
        check_silence(&watchdog, at("2026-11-01T10:02:00Z"))
            .await
            .expect("watchdog"),
        Some("LATE".into())
    );
    assert_eq!(
        send(&deps, CRITICAL).await,
        (200, json!({"result": "accepted", "alerts": 2}))
    );
    assert_eq!(
        monitor_status(state_of(&stack, MONITOR_KEY).await),
        "CRITICAL"
    );
    let kinds: Vec<String> = publish_pending(&stack)
        .await
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r.attributes["kind"],
                r.alert.occurred_at.to_rfc3339()
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "fleet_status 2026-11-01T10:01:00+00:00",
            "heartbeat_missing 2026-11-01T10:02:00+00:00",
            "heartbeat_recovered 2026-11-01T10:02:00+00:00",
            "fleet_status 2026-11-01T10:02:00+00:00",
        ]
    );
}

/// An alert row already there (raised before, by whatever path) costs that one alert, not
/// the event: the state moves and the answer is "accepted".
#[tokio::test]
async fn an_alert_row_that_exists_is_dropped_and_the_event_kept() {
    let stack = stack("alert-exists").await;
    let deps = heartbeat_deps(&stack);
    assert_eq!(send(&deps, WARNING).await.0, 200);
    let squatter = Alert {
        dedup_key: DedupKey::fleet(Source::ExotelHeartbeat),
        source: Source::ExotelHeartbeat,
        kind: AlertKind::FleetStatus,
        severity: Severity::Critical,
        status: "CRITICAL".into(),
        occurred_at: at("2026-11-01T10:02:00Z"),
        lines: Vec::new(),
        lines_omitted: 0,
        lines_affected: 2,
        outage_seconds: None,
        notes: vec!["written before the heartbeat".into()],
    };
    assert!(store(&stack).put_alert_once(&squatter).await.expect("put"));
    let (status, body) = send(&deps, CRITICAL).await;
    assert_eq!((status, body["result"].as_str()), (200, Some("accepted")));
    assert_eq!(
        monitor_status(state_of(&stack, MONITOR_KEY).await),
        "CRITICAL"
    );
    let alerts = of_entity(&scan(&stack).await, "alert").len();
    assert_eq!(alerts, 2, "the WARNING's alert and the one already there");
    // The retry of that heartbeat is a duplicate: its key was stored with the state.
    assert_eq!(send(&deps, CRITICAL).await.1["result"], "duplicate");
}

/// The watchdog's row, written as LATE where none was.
fn watchdog_late() -> StateWrite {
    StateWrite {
        key: state_key(WATCHDOG_KEY),
        index: None,
        replaces: None,
        state: StateJson::of(&json!({"kind": "watchdog", "silence": "LATE"})).expect("json"),
    }
}

/// A heartbeat's commit that read no watchdog row and left it so.
fn judged_on_no_watchdog(dedup_key: &str) -> Commit {
    let mut commit = Commit::new("exotel-heartbeat", dedup_key.into(), Utc::now());
    commit.checks.push(StateCheck {
        key: state_key(WATCHDOG_KEY),
        revision: None,
    });
    commit
}

/// A decision made on a row that moved before its commit does not hold: the watchdog's
/// LATE, judged on a heartbeat that is no longer the last, and a heartbeat judged on a
/// watchdog row the watchdog has since written, both conflict and decide again.
#[tokio::test]
async fn a_row_read_and_left_unchanged_is_checked_at_commit() {
    let stack = stack("checked").await;
    let deps = heartbeat_deps(&stack);
    let store = store(&stack);
    assert_eq!(send(&deps, WARNING).await.0, 200);
    let read = store
        .load_state::<HeartbeatRow>(&state_key(MONITOR_KEY))
        .await
        .expect("read")
        .expect("monitor");
    // A heartbeat lands between the watchdog's read and its commit.
    assert_eq!(send(&deps, CRITICAL).await.0, 200);
    let mut late = Commit::new(
        "heartbeat-watchdog",
        "late-judged-on-10:01".into(),
        Utc::now(),
    );
    late.states.push(watchdog_late());
    late.checks.push(StateCheck {
        key: state_key(MONITOR_KEY),
        revision: Some(read.revision),
    });
    assert_eq!(
        store.commit(late).await.expect("commit"),
        CommitOutcome::StateConflict
    );
    assert_eq!(
        state_of(&stack, WATCHDOG_KEY).await,
        None,
        "nothing written"
    );

    // The other way: a row absent when read must still be absent.
    assert_eq!(
        store
            .commit(judged_on_no_watchdog("judged-on-no-watchdog"))
            .await
            .expect("commit"),
        CommitOutcome::Committed
    );
    let mut watchdog_first = Commit::new("heartbeat-watchdog", "late".into(), Utc::now());
    watchdog_first.states.push(watchdog_late());
    assert_eq!(
        store.commit(watchdog_first).await.expect("commit"),
        CommitOutcome::Committed
    );
    assert_eq!(
        store
            .commit(judged_on_no_watchdog("judged-on-no-watchdog-2"))
            .await
            .expect("commit"),
        CommitOutcome::StateConflict
    );
}

/// A well-formed event of a kind not known yet, from every JSON receiver: 200, stored in
/// the history whole, no state moved, one "unrecognised event" warning per new kind.
#[tokio::test]
async fn events_of_a_new_kind_are_stored_and_raised_once() {
    let stack = stack("unrecognised").await;
    let heartbeat = heartbeat_deps(&stack);
    for (minute, status) in [(3, "DEGRADED"), (4, "DEGRADED"), (5, "MAINTENANCE")] {
        let body = json!({
            "timestamp": format!("2026-11-01T10:0{minute}:00Z"),
            "status_type": status,
            "note": "added by Exotel later",
        });
        let response = handler(&heartbeat, with_body(WARNING, &body.to_string()))
            .await
            .expect("answers");
        let (code, answer) = answer(response);
        assert_eq!(
            (code, answer["result"].as_str()),
            (200, Some("unrecognised"))
        );
    }
    assert_eq!(state_of(&stack, MONITOR_KEY).await, None, "no state moved");

    let voipstudio = call_deps::<Voipstudio>(&stack, "local-voipstudio-token-0123456789");
    let voip_body = json!({
        "id": "evt-teleport-1", "event_time": "2026-11-01 10:05:00",
        "event_name": "call.teleport", "call_id": 77,
        "connected_at": "2026-11-01 10:04:00", "destination": "in", "dst": "+918030752522",
    });
    let voip_request = with_body(VOIPSTUDIO, &voip_body.to_string());
    let voip = answer(handler(&voipstudio, voip_request).await.expect("answers"));
    assert_eq!(voip.0, 200, "{voip:?}");

    let exotel = call_deps::<ExotelCalls>(&stack, "local-exotel-calls-token-0123456789");
    for sid in ["CA-new-1", "CA-new-2"] {
        let body = json!({
            "event": "call_transferred", "call_sid": sid,
            "timestamp": "20261101T100500+0530",
        });
        let code = answer(
            handler(&exotel, with_body(EXOTEL_CALL, &body.to_string()))
                .await
                .expect("answers"),
        )
        .0;
        assert_eq!(code, 200);
    }

    let items = scan(&stack).await;
    assert!(
        of_entity(&items, "state").is_empty(),
        "no call or monitor row"
    );
    assert!(of_entity(&items, "counter").is_empty(), "nothing counted");
    let history = of_entity(&items, "history");
    assert_eq!(history.len(), 6, "each event stored whole");
    let mut raised: Vec<String> = publish_pending(&stack)
        .await
        .iter()
        .map(|r| {
            assert_eq!(r.attributes["kind"], "event_unrecognised");
            assert_eq!(r.attributes["severity"], "warning");
            r.alert.status.clone()
        })
        .collect();
    raised.sort();
    assert_eq!(
        raised,
        [
            r#"exotel-calls sent "call_transferred""#,
            r#"exotel-heartbeat sent "DEGRADED""#,
            r#"exotel-heartbeat sent "MAINTENANCE""#,
            r#"voipstudio sent "call.teleport""#,
        ]
    );
}
