//! States too large for one DynamoDB item on the local stack. A fleet's monitor (a
//! heartbeat listing 20 000 affected lines) keeps its head in its row and its lines in
//! buckets, put before the commit and only where they changed; a large state with no large
//! map is stored in parts within the commit's one transaction. Both are read back whole,
//! and what a smaller state no longer needs is deleted.

mod common;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, TimeZone, Utc};
use common::*;
use dialtone_local::stack::Stack;
use dialtone_shared::heartbeat::{decide, AlertPolicy, Decision, Heartbeat, HeartbeatRow};
use dialtone_shared::store::{
    Commit, CommitOutcome, DashboardStore, DynamoStore, EventStore, StateJson, StateWrite,
    Versioned, BUCKETS,
};
use dialtone_testkit::sample::warning_with_lines;
use serde_json::{json, Value};

const WARNING: &str = include_str!("../../events/heartbeat-warning.json");
const OK: &str = include_str!("../../events/heartbeat-ok.json");
/// A large state with no large map (any state key will do).
const SAVED: &str = "callback:saved";
/// DynamoDB's item size limit.
const ITEM_LIMIT: usize = 400 * 1024;

fn at(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 10, minute, 0)
        .single()
        .expect("time")
}

/// The monitor state a heartbeat of `lines` affected lines leads to from nothing.
fn monitor(lines: usize, at: DateTime<Utc>) -> HeartbeatRow {
    let hb = Heartbeat::parse(warning_with_lines(lines, at).as_bytes()).expect("heartbeat");
    match decide(None, &hb, &AlertPolicy::default()) {
        Decision::Advance { state, .. } => HeartbeatRow::Monitor(state),
        other => panic!("expected advance, got {other:?}"),
    }
}

/// A state that fits its row: one affected line.
fn small_monitor(at: DateTime<Utc>) -> HeartbeatRow {
    monitor(1, at)
}

/// A large state with no large map: kept as JSON text in parts.
fn log_state(entries: usize) -> Value {
    let entries: Vec<String> = (0..entries)
        .map(|i| format!("entry {i:06} of a state kept as text"))
        .collect();
    json!({ "kind": "log", "entries": entries })
}

fn commit<T: serde::Serialize>(key: &str, row: &T, replaces: Option<Versioned<T>>) -> Commit {
    Commit {
        source: "large-state-test",
        dedup_key: format!(
            "{key}@{}",
            replaces.as_ref().map_or(0, |r| r.revision.version)
        ),
        received_at: Utc::now(),
        states: vec![StateWrite {
            key: state_key(key),
            index: None,
            replaces: replaces.map(|r| r.revision),
            state: StateJson::of(row).expect("state"),
        }],
        checks: Vec::new(),
        history: None,
        history_at: Utc::now(),
        alerts: Vec::new(),
        firsts: Vec::new(),
        counters: Vec::new(),
        reply: None,
        reply_to: None,
    }
}

/// A state as the receivers read it.
async fn load(store: &DynamoStore, key: &str) -> Versioned<HeartbeatRow> {
    load_as(store, key).await
}

async fn load_as<T: serde::de::DeserializeOwned + Send>(
    store: &DynamoStore,
    key: &str,
) -> Versioned<T> {
    EventStore::load_state(store, &state_key(key))
        .await
        .expect("load")
        .expect("stored")
}

/// Every item of a state's partition (its row and its parts), in sort key order.
async fn state_items(stack: &Stack, key: &str) -> Vec<Item> {
    stack
        .dynamodb
        .query()
        .table_name(&stack.table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", AttributeValue::S(format!("STATE#{key}")))
        .consistent_read(true)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("query")
}

/// The row's `parts` (absent: 0), and each part's version, checking on the way that the
/// row holds its state itself exactly when it has no parts (nor buckets).
fn layout(items: &[Item]) -> (usize, Vec<String>) {
    let row = &items[0];
    assert_eq!(s(row, "sk"), "STATE");
    let parts: usize = row
        .get("parts")
        .map_or(0, |_| s(row, "parts").parse().unwrap());
    assert_eq!(
        row.contains_key("state"),
        parts == 0 && !row.contains_key("buckets"),
        "{:?}",
        row.keys()
    );
    let versions = items[1..]
        .iter()
        .filter(|i| s(i, "sk").starts_with("STATE#PART#"))
        .enumerate()
        .map(|(i, part)| {
            assert_eq!(s(part, "sk"), format!("STATE#PART#{i:03}"));
            assert_eq!(s(part, "entity"), "state-part");
            s(part, "version")
        })
        .collect();
    (parts, versions)
}

/// An item's size as DynamoDB counts it, for items of strings and numbers only: the row of
/// a state kept in parts, and its parts.
fn flat_size(item: &Item) -> usize {
    item.iter()
        .map(|(name, value)| {
            name.len()
                + match value {
                    AttributeValue::S(s) => s.len(),
                    AttributeValue::N(n) => n.len().div_ceil(2) + 1,
                    AttributeValue::B(b) => b.as_ref().len(),
                    other => panic!("{name} is {other:?}"),
                }
        })
        .sum()
}

#[tokio::test]
async fn a_large_state_is_stored_in_parts_read_back_whole_and_its_parts_go_when_it_shrinks() {
    let stack = stack("large-state").await;
    let store = DynamoStore::new(stack.dynamodb.clone(), &stack.table);
    let large = log_state(60_000);
    let json_bytes = serde_json::to_string(&large).expect("JSON").len();
    assert!(json_bytes > ITEM_LIMIT, "{json_bytes} bytes fit one item");

    assert_eq!(
        store
            .commit(commit(MONITOR_KEY, &large, None))
            .await
            .expect("commit"),
        CommitOutcome::Committed
    );
    let items = state_items(&stack, MONITOR_KEY).await;
    let (parts, versions) = layout(&items);
    assert_eq!(parts, json_bytes.div_ceil(300 * 1024));
    assert_eq!(versions, vec!["1"; parts]);
    assert!(items.iter().all(|i| flat_size(i) < ITEM_LIMIT));
    let first = load_as::<Value>(&store, MONITOR_KEY).await;
    assert_eq!(first.value, large);
    assert_eq!(first.revision.version, 1);
    let dashboard = DashboardStore::load_state::<Value>(&store, &state_key(MONITOR_KEY))
        .await
        .expect("load")
        .expect("stored");
    assert_eq!(dashboard, first);

    // Fewer entries, still in parts: the parts it no longer needs are deleted.
    let medium = log_state(18_000);
    assert_eq!(
        store
            .commit(commit(MONITOR_KEY, &medium, Some(first.clone())))
            .await
            .expect("commit"),
        CommitOutcome::Committed
    );
    let (medium_parts, versions) = layout(&state_items(&stack, MONITOR_KEY).await);
    assert!(
        (2..parts).contains(&medium_parts),
        "{medium_parts} of {parts}"
    );
    assert_eq!(versions, vec!["2"; medium_parts]);
    let second = load_as::<Value>(&store, MONITOR_KEY).await;
    assert_eq!((second.revision.version, &second.value), (2, &medium));

    // Small again: back in its row, no part left.
    let small = log_state(3);
    assert_eq!(
        store
            .commit(commit(MONITOR_KEY, &small, Some(second.clone())))
            .await
            .expect("commit"),
        CommitOutcome::Committed
    );
    let items = state_items(&stack, MONITOR_KEY).await;
    assert_eq!(items.len(), 1, "parts left behind");
    assert_eq!(layout(&items), (0, Vec::new()));
    assert_eq!(s(&items[0], "version"), "3");
    let third = load_as::<Value>(&store, MONITOR_KEY).await;
    assert_eq!((third.revision.version, &third.value), (3, &small));

    // A writer still holding the first revision is refused, and writes none of its parts.
    let mut stale = commit(MONITOR_KEY, &large, Some(first));
    stale.dedup_key = "stale".into();
    assert_eq!(
        store.commit(stale).await.expect("commit"),
        CommitOutcome::StateConflict
    );
    assert_eq!(state_items(&stack, MONITOR_KEY).await, items);
}

/// The sort keys of a state's bucket items, in order.
fn bucket_keys(items: &[Item]) -> Vec<String> {
    items
        .iter()
        .map(|i| s(i, "sk"))
        .filter(|sk| sk.starts_with("STATE#BUCKET#"))
        .collect()
}

#[tokio::test]
async fn a_fleet_keeps_its_lines_in_buckets_that_move_only_where_they_changed() {
    let stack = stack("buckets").await;
    let store = DynamoStore::new(stack.dynamodb.clone(), &stack.table);
    let large = monitor(20_000, at(0));
    assert_eq!(
        store
            .commit(commit(MONITOR_KEY, &large, None))
            .await
            .expect("commit"),
        CommitOutcome::Committed
    );
    let items = state_items(&stack, MONITOR_KEY).await;
    assert_eq!(layout(&items), (0, Vec::new()));
    let first_buckets = bucket_keys(&items);
    assert_eq!(first_buckets.len(), BUCKETS);
    assert!(items.iter().all(|i| flat_size(i) < ITEM_LIMIT));
    assert!(
        flat_size(&items[0]) < 1024,
        "the row: {}",
        flat_size(&items[0])
    );
    let first = load(&store, MONITOR_KEY).await;
    assert_eq!(first.value, large);
    let dashboard = DashboardStore::load_state::<HeartbeatRow>(&store, &state_key(MONITOR_KEY))
        .await
        .expect("load")
        .expect("stored");
    assert_eq!(dashboard, first);

    // The same lines, a newer heartbeat: the row moves, no bucket does.
    let HeartbeatRow::Monitor(mut steady) = large.clone() else {
        panic!()
    };
    steady.last_heartbeat_at = at(1);
    let steady = HeartbeatRow::Monitor(steady);
    assert_eq!(
        store
            .commit(commit(MONITOR_KEY, &steady, Some(first.clone())))
            .await
            .expect("commit"),
        CommitOutcome::Committed
    );
    assert_eq!(
        bucket_keys(&state_items(&stack, MONITOR_KEY).await),
        first_buckets
    );
    let second = load(&store, MONITOR_KEY).await;
    assert_eq!((second.revision.version, &second.value), (2, &steady));

    // A writer still holding the first revision is refused, and leaves none of its buckets.
    let mut stale = commit(MONITOR_KEY, &monitor(7_000, at(3)), Some(first));
    stale.dedup_key = "stale".into();
    assert_eq!(
        store.commit(stale).await.expect("commit"),
        CommitOutcome::StateConflict
    );
    assert_eq!(
        bucket_keys(&state_items(&stack, MONITOR_KEY).await),
        first_buckets
    );

    // Fewer lines: every bucket changed; the replaced ones are deleted.
    let medium = monitor(6_000, at(2));
    assert_eq!(
        store
            .commit(commit(MONITOR_KEY, &medium, Some(second.clone())))
            .await
            .expect("commit"),
        CommitOutcome::Committed
    );
    let medium_buckets = bucket_keys(&state_items(&stack, MONITOR_KEY).await);
    assert_eq!(medium_buckets.len(), BUCKETS);
    assert!(medium_buckets.iter().all(|k| !first_buckets.contains(k)));
    let third = load(&store, MONITOR_KEY).await;
    assert_eq!((third.revision.version, &third.value), (3, &medium));

    // Small again: back in its row, no bucket left.
    let small = small_monitor(at(4));
    assert_eq!(
        store
            .commit(commit(MONITOR_KEY, &small, Some(third)))
            .await
            .expect("commit"),
        CommitOutcome::Committed
    );
    let items = state_items(&stack, MONITOR_KEY).await;
    assert_eq!(items.len(), 1, "buckets left behind");
    assert_eq!(load(&store, MONITOR_KEY).await.value, small);
}

#[tokio::test]
async fn save_state_writes_a_large_state_in_parts_on_its_own() {
    let stack = stack("large-save").await;
    let store = DynamoStore::new(stack.dynamodb.clone(), &stack.table);
    let large = log_state(60_000);
    let write = |row: &Value, replaces| StateWrite {
        key: state_key(SAVED),
        index: None,
        replaces,
        state: StateJson::of(row).expect("state"),
    };

    let first = store
        .save_state(write(&large, None))
        .await
        .expect("save")
        .expect("saved");
    let loaded = load_as::<Value>(&store, SAVED).await;
    assert_eq!((loaded.revision, &loaded.value), (first.clone(), &large));
    let (parts, _) = layout(&state_items(&stack, SAVED).await);
    assert!(parts > 1);

    let small = log_state(3);
    let second = store
        .save_state(write(&small, Some(first.clone())))
        .await
        .expect("save")
        .expect("saved");
    assert_eq!(second.version, 2);
    assert_eq!(
        state_items(&stack, SAVED).await.len(),
        1,
        "parts left behind"
    );

    // Stale: refused, in one put (small) as in a transaction (large).
    assert_eq!(
        store
            .save_state(write(&small, Some(first.clone())))
            .await
            .expect("save"),
        None
    );
    assert_eq!(
        store
            .save_state(write(&large, Some(first)))
            .await
            .expect("save"),
        None
    );
    let loaded = load_as::<Value>(&store, SAVED).await;
    assert_eq!((loaded.revision, &loaded.value), (second, &small));
}

/// An envelope from `events/` with another body.
fn with_body(envelope: &str, body: &str) -> String {
    let mut event: Value = serde_json::from_str(envelope).expect("envelope");
    event["body"] = Value::String(body.to_owned());
    event["isBase64Encoded"] = Value::Bool(false);
    event.to_string()
}

#[tokio::test]
async fn a_20k_line_heartbeat_is_stored_and_the_next_ones_read_and_replace_it() {
    let stack = stack("large-webhook").await;
    let deps = heartbeat_deps(&stack);

    let first = with_body(WARNING, &warning_with_lines(20_000, at(0)));
    assert_eq!(
        send(&deps, &first).await,
        (200, json!({"result": "accepted", "alerts": 1}))
    );
    let buckets_before = bucket_keys(&state_items(&stack, MONITOR_KEY).await);
    assert_eq!(buckets_before.len(), BUCKETS);
    // The same lines a minute later: the stored state is read from its buckets, and only
    // its row moves (with the idempotency key, the history and the watchdog's check).
    let units = deps.store.write_units();
    let again = with_body(WARNING, &warning_with_lines(20_000, at(1)));
    assert_eq!(
        send(&deps, &again).await,
        (200, json!({"result": "accepted", "alerts": 0}))
    );
    let steady = deps.store.write_units() - units;
    assert!(
        steady <= 10,
        "a steady 20 000-line heartbeat cost {steady} write units"
    );
    let items = state_items(&stack, MONITOR_KEY).await;
    assert_eq!(s(&items[0], "version"), "2");
    assert_eq!(bucket_keys(&items), buckets_before, "no bucket rewritten");

    // All OK again (the sample OK heartbeat, timed after the warnings): one resolved alert,
    // the state back in its row, no part left.
    let ok: Value = serde_json::from_str(OK).expect("event");
    let mut body: Value = serde_json::from_str(ok["body"].as_str().expect("body")).expect("body");
    body["timestamp"] = json!(at(2).to_rfc3339());
    let ok = with_body(OK, &body.to_string());
    assert_eq!(
        send(&deps, &ok).await,
        (200, json!({"result": "accepted", "alerts": 1}))
    );
    let items = scan(&stack).await;
    assert!(of_entity(&items, "state-part").is_empty());
    let state = of_entity(&items, "state");
    assert_eq!(state.len(), 1);
    assert_eq!(s(state[0], "version"), "3");
    assert!(state[0].contains_key("state") && !state[0].contains_key("parts"));
    assert!(!state[0].contains_key("buckets"));

    // The stream carries the parts too: only the two alerts go out.
    let received = publish_pending(&stack).await;
    assert_eq!(received.len(), 2, "{received:?}");
}

/// A container that read or wrote a fleet's buckets keeps them: its next heartbeat of the
/// same fleet reads the row (and the watchdog's) and writes one transaction, nothing more.
#[tokio::test]
async fn a_warm_store_reads_a_steady_fleet_from_its_row_alone() {
    use dialtone_local::faults::FaultProxy;
    let stack = stack("warm").await;
    let moto = std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL");
    let proxy = FaultProxy::start(&moto).await.expect("fault proxy");
    let client = dialtone_local::aws::dynamodb_through(proxy.url()).await;
    let deps = heartbeat_deps_with(DynamoStore::new(client, &stack.table));
    let first = with_body(WARNING, &warning_with_lines(20_000, at(0)));
    assert_eq!(send(&deps, &first).await.0, 200);
    let before = proxy.forwarded();
    let again = with_body(WARNING, &warning_with_lines(20_000, at(1)));
    assert_eq!(
        send(&deps, &again).await,
        (200, json!({"result": "accepted", "alerts": 0}))
    );
    assert_eq!(
        proxy.forwarded() - before,
        3,
        "the monitor's row, the watchdog's row, the transaction"
    );
    // A cold store (another container) reads the buckets, once.
    let cold = heartbeat_deps(&stack);
    let items = load(&cold.store, MONITOR_KEY).await;
    assert_eq!(items.revision.version, 2);
}
