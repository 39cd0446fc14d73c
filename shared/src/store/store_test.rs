use super::*;
use crate::heartbeat::{
    decide, AlertPolicy, Decision, Heartbeat, HeartbeatRow, MonitorState, MAX_LINE_ALERTS,
};
use chrono::TimeZone;
use dialtone_testkit::sample::warning_with_lines;
use proptest::prelude::*;
use serde_json::{json, Value};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0)
        .single()
        .expect("time")
}

/// The monitor state a WARNING heartbeat of `lines` affected lines leads to from nothing,
/// and its alerts.
fn fleet(lines: usize) -> (MonitorState, Vec<Alert>) {
    let body = warning_with_lines(lines, now());
    let hb = Heartbeat::parse(body.as_bytes()).expect("heartbeat");
    match decide(None, &hb, &AlertPolicy::default()) {
        Decision::Advance { state, alerts } => (state, alerts),
        other => panic!("expected advance, got {other:?}"),
    }
}

fn monitor_value(state: MonitorState) -> Value {
    serde_json::to_value(HeartbeatRow::Monitor(state)).expect("state")
}

/// The state these tests write (any key will do; this one has no digits to mask).
fn key() -> StateKey {
    StateKey::Callback {
        customer: "test".into(),
    }
}

fn write(value: Value, replaces: Option<Revision>) -> StateWrite {
    StateWrite {
        key: key(),
        index: None,
        replaces,
        state: StateJson::of(&value).expect("state"),
    }
}

fn revision(version: u64, parts: usize) -> Revision {
    Revision {
        version,
        parts,
        buckets: None,
    }
}

/// A large state with no large map (a list): kept whole, as JSON text in parts.
fn large_list(entries: usize) -> Value {
    let entries: Vec<String> = (0..entries)
        .map(|i| format!("entry {i:06} of a state kept as text"))
        .collect();
    json!({ "kind": "log", "entries": entries })
}

fn text(item: &Item, name: &str) -> String {
    match item.get(name) {
        Some(AttributeValue::S(s)) => s.clone(),
        Some(AttributeValue::N(n)) => n.clone(),
        other => panic!("{name} is {other:?}"),
    }
}

/// The JSON text a state's parts hold, joined as a load joins them.
fn joined(rows: &StateRows) -> String {
    join_parts(rows.revision.version, rows.parts.len(), rows.parts.clone()).expect("whole")
}

/// A state (one string) whose row is `size` bytes as DynamoDB counts it.
fn state_of_row_size(size: usize) -> Value {
    let empty = state_rows(&write(json!({ "s": "" }), None), now()).expect("rows");
    let mut head = empty.row.item;
    head.remove("state");
    let mut fields = serde_json::Map::new();
    for (name, value) in head {
        fields.insert(
            name,
            dynamo::from_attribute_value(value).expect("attribute"),
        );
    }
    // `state` (5) + map overhead (3) + `s` (1) + its element byte (1) + the string.
    let overhead = item_size(&fields) + 5 + 3 + 1 + 1;
    json!({ "s": "x".repeat(size - overhead) })
}

#[test]
fn sizes_follow_dynamodbs_published_rules() {
    assert_eq!(attribute_size(&json!("héllo")), 6);
    assert_eq!(attribute_size(&json!(12345)), 4);
    assert_eq!(attribute_size(&json!(-1.5)), 2);
    assert_eq!(attribute_size(&json!(null)), 1);
    assert_eq!(attribute_size(&json!(true)), 1);
    assert_eq!(attribute_size(&json!([])), 3);
    assert_eq!(attribute_size(&json!({})), 3);
    // 3 + (1 + 2) + (1 + "ab" 2) for the list; 3 + ("k" 1 + 1 + list) for the map.
    assert_eq!(attribute_size(&json!([1, "ab"])), 9);
    assert_eq!(attribute_size(&json!({ "k": [1, "ab"] })), 14);
    let item = json!({ "pk": "STATE#x", "version": 12 });
    assert_eq!(item_size(item.as_object().expect("object")), 2 + 7 + 7 + 2);
}

/// Any JSON value: numbers of every kind, strings with escapes and non-ASCII text, nested.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "[a-z\"\\\n\u{0}é€😀]{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map("[a-zé\"]{0,6}", inner, 0..6)
                .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

#[test]
fn a_state_is_sized_from_its_text_as_its_value_would_be() {
    for value in [
        json!("héllo"),
        json!(12345),
        json!(-1.5),
        json!(0),
        json!(u64::MAX),
        json!(i64::MIN),
        json!(1e300),
        json!(null),
        json!({ "k": [1, "ab", {"é": "a\"b"}], "": [] }),
    ] {
        let state = StateJson::of(&value).expect("state");
        assert_eq!(state.attribute_bytes(), attribute_size(&value), "{value}");
        assert_eq!(state.to_value().expect("value"), value);
    }
}

#[test]
fn a_state_that_fits_one_item_stays_in_its_row_as_before() {
    let value = json!({ "kind": "monitor", "status": "OK", "lines": {} });
    let rows = state_rows(
        &StateWrite {
            key: StateKey::HeartbeatMonitor,
            index: Some(("GPK".into(), "GSK".into())),
            replaces: Some(revision(4, 0)),
            state: StateJson::of(&value).expect("state"),
        },
        now(),
    )
    .expect("rows");
    // Exactly the row states have always been written as.
    let expected = dynamo::to_item(json!({
        "pk": "STATE#exotel-heartbeat",
        "sk": "STATE",
        "entity": "state",
        "version": 5,
        "updated_at": now(),
        "state": value,
        "gsi1pk": "GPK",
        "gsi1sk": "GSK",
    }))
    .expect("item");
    assert_eq!(rows.row.item, expected);
    assert!(rows.parts.is_empty() && rows.stale.is_empty());
    assert_eq!(rows.revision, revision(5, 0));
    assert_eq!(rows.row.condition, "version = :expected");
    assert_eq!(
        rows.row.expected,
        Some(HashMap::from([(
            ":expected".to_owned(),
            AttributeValue::N("4".into())
        )]))
    );
}

#[test]
fn a_row_at_the_limit_stays_whole_and_one_byte_more_is_split() {
    let at_limit =
        state_rows(&write(state_of_row_size(STATE_ROW_LIMIT), None), now()).expect("rows");
    assert!(at_limit.parts.is_empty() && at_limit.stale.is_empty());
    assert!(at_limit.row.item.contains_key("state"));

    let over = state_of_row_size(STATE_ROW_LIMIT + 1);
    let rows = state_rows(&write(over.clone(), None), now()).expect("rows");
    assert!(!rows.row.item.contains_key("state"));
    assert_eq!(text(&rows.row.item, "parts"), "2");
    assert_eq!(rows.parts.len(), 2);
    assert_eq!(rows.revision, revision(1, 2));
    assert_eq!(rows.row.condition, "attribute_not_exists(pk)");
    let back: Value = serde_json::from_str(&joined(&rows)).expect("JSON");
    assert_eq!(back, over);
}

#[test]
fn a_large_state_without_a_large_map_is_split_into_parts_of_its_version() {
    let value = large_list(40_000);
    let json_bytes = serde_json::to_string(&value).expect("JSON").len();
    assert!(STATE_ROW_LIMIT < attribute_size(&value));
    let rows = state_rows(&write(value.clone(), Some(revision(7, 0))), now()).expect("rows");

    assert_eq!(rows.parts.len(), json_bytes.div_ceil(PART_TEXT_BYTES));
    assert_eq!(text(&rows.row.item, "parts"), rows.parts.len().to_string());
    assert_eq!(text(&rows.row.item, "version"), "8");
    for (index, part) in rows.parts.iter().enumerate() {
        assert_eq!(text(part, "pk"), "STATE#callback:test");
        assert_eq!(text(part, "sk"), format!("STATE#PART#{index:03}"));
        assert_eq!(text(part, "entity"), "state-part");
        assert_eq!(text(part, "version"), "8");
        assert!(text(part, "text").len() <= PART_TEXT_BYTES);
    }
    let back: Value = serde_json::from_str(&joined(&rows)).expect("JSON");
    assert_eq!(back, value);
}

#[test]
fn a_states_size_and_the_items_its_first_write_puts_besides_its_row() {
    let items_besides_row = |write: &StateWrite| {
        let rows = state_rows(write, now()).expect("rows");
        rows.parts.len() + rows.bucket_puts.len()
    };
    let small = write(json!({"kind": "monitor", "lines": {}}), None);
    let large = write(large_list(40_000), None);
    let rows = state_rows(&large, now()).expect("rows");

    assert_eq!(
        small.state.attribute_bytes(),
        attribute_size(&small.state.to_value().expect("value"))
    );
    assert_eq!(items_besides_row(&small), 0);
    assert_eq!(items_besides_row(&large), rows.parts.len());
    assert!(rows.parts.len() > 1);
    assert!(large.state.attribute_bytes() > ITEM_LIMIT);
    // A fleet's state: its buckets.
    let fleet = write(monitor_value(fleet(20_000).0), None);
    assert_eq!(items_besides_row(&fleet), BUCKETS);
}

#[test]
fn a_20k_line_monitor_state_keeps_its_head_in_the_row_and_its_lines_in_buckets() {
    let value = monitor_value(fleet(20_000).0);
    let rows = state_rows(&write(value.clone(), Some(revision(7, 2))), now()).expect("rows");
    assert!(rows.parts.is_empty());
    assert_eq!(rows.stale.len(), 2, "the parts of the replaced revision go");
    assert_eq!(rows.bucket_puts.len(), BUCKETS);
    assert!(rows.row.item.contains_key("head") && !rows.row.item.contains_key("state"));
    assert!(
        item_bytes(&rows.row.item) < 1024,
        "the row a steady heartbeat rewrites stays under 1 KB: {}",
        item_bytes(&rows.row.item)
    );
    let Some(AttributeValue::B(manifest)) = rows.row.item.get("buckets") else {
        panic!("no manifest")
    };
    let manifest = read_manifest(manifest.as_ref()).expect("manifest");
    let (joined, _) =
        join(&text(&rows.row.item, "head"), &manifest, &rows.bucket_puts).expect("whole");
    let back: Value = serde_json::from_str(&joined).expect("JSON");
    assert_eq!(back, value);
    assert!(rows
        .bucket_puts
        .iter()
        .all(|b| text(b, "entity") == "state-part" && item_bytes(b) < PART_TEXT_BYTES));
}

#[test]
fn a_write_deletes_the_parts_its_state_no_longer_needs() {
    let keys =
        |rows: &StateRows| -> Vec<String> { rows.stale.iter().map(|k| text(k, "sk")).collect() };
    let small = state_rows(&write(json!({ "a": 1 }), Some(revision(3, 3))), now()).expect("rows");
    assert_eq!(
        keys(&small),
        ["STATE#PART#000", "STATE#PART#001", "STATE#PART#002"]
    );
    assert!(small
        .stale
        .iter()
        .all(|k| text(k, "pk") == "STATE#callback:test" && k.len() == 2));
    assert_eq!(small.revision, revision(4, 0));

    let two_parts = state_of_row_size(STATE_ROW_LIMIT + 1);
    let shrunk = state_rows(&write(two_parts.clone(), Some(revision(3, 5))), now()).expect("rows");
    assert_eq!(
        keys(&shrunk),
        ["STATE#PART#002", "STATE#PART#003", "STATE#PART#004"]
    );
    let grown = state_rows(&write(two_parts, Some(revision(3, 1))), now()).expect("rows");
    assert!(grown.stale.is_empty());
}

#[test]
fn a_state_over_what_one_transaction_carries_is_refused_with_its_size() {
    let huge = json!({ "s": "x".repeat(STATE_TEXT_LIMIT) });
    match state_rows(&write(huge, None), now()) {
        Err(err @ StoreError::StateTooLarge { .. }) => {
            let message = err.to_string();
            let bytes = (STATE_TEXT_LIMIT + 8).to_string();
            assert!(message.contains("state callback:test"), "{message}");
            assert!(message.contains(&bytes), "{message}");
            assert!(message.contains(&STATE_TEXT_LIMIT.to_string()), "{message}");
        }
        Err(other) => panic!("{other}"),
        Ok(_) => panic!("a state over the limit was accepted"),
    }
}

#[test]
fn a_20k_line_heartbeat_commit_fits_one_transaction() {
    let (state, alerts) = fleet(20_000);
    let state = monitor_value(state);
    let alert = alerts.first().expect("a fleet alert").clone();
    // The most a heartbeat's commit holds: per-line alerts up to the cap, the watchdog's
    // recovery, a watchdog state, and a monitor state replacing one of the most parts.
    let alerts: Vec<Alert> = (0..=MAX_LINE_ALERTS as i64)
        .map(|i| Alert {
            occurred_at: alert.occurred_at + Duration::seconds(i),
            ..alert.clone()
        })
        .collect();
    let most_parts = STATE_TEXT_LIMIT.div_ceil(PART_TEXT_BYTES);
    let commit = Commit {
        source: "exotel-heartbeat",
        dedup_key: now().to_rfc3339(),
        received_at: now(),
        states: vec![
            write(state, Some(revision(9, most_parts))),
            write(json!({ "kind": "watchdog" }), Some(revision(2, 0))),
        ],
        checks: Vec::new(),
        history: Some(json!({ "lines_reported": 20_000 })),
        history_at: now(),
        alerts,
        firsts: Vec::new(),
        counters: Vec::new(),
        reply: None,
        reply_to: None,
    };
    let client = Client::from_conf(
        aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .build(),
    );
    let laid_out: Vec<StateRows> = commit
        .states
        .iter()
        .map(|s| state_rows(s, now()).expect("rows"))
        .collect();
    let items = DynamoStore::new(client, "table")
        .transact_items(&commit, &laid_out)
        .expect("items")
        .0;
    // The idempotency key, the 2 state rows, the history and the alerts; then the parts of
    // the replaced revision deleted (the fleet's lines are in buckets, put before it).
    let rows = 1 + 2 + 1 + MAX_LINE_ALERTS + 1;
    assert_eq!(items.len(), rows + most_parts);
    assert!(items.len() <= TRANSACTION_ITEMS);
    // The state rows right after the key, where `commit` looks for their conditions.
    assert!(items[1..3].iter().all(|i| i
        .put()
        .and_then(|p| p.condition_expression())
        .is_some_and(|c| c == "version = :expected")));
    let parts = &items[rows..];
    let written = parts
        .iter()
        .filter(|i| i.put().is_some_and(|p| p.condition_expression().is_none()))
        .count();
    let deleted = parts
        .iter()
        .filter(|i| {
            i.delete()
                .is_some_and(|d| d.condition_expression().is_none())
        })
        .count();
    assert_eq!((written, deleted), (0, most_parts));
    assert_eq!(laid_out[0].bucket_puts.len(), BUCKETS);
}

fn part(index: usize, version: &str, text: Option<&str>) -> Item {
    let mut item = HashMap::from([
        (
            "pk".to_owned(),
            AttributeValue::S("STATE#callback:test".into()),
        ),
        ("sk".to_owned(), AttributeValue::S(part_sk(index))),
        ("version".to_owned(), AttributeValue::N(version.into())),
    ]);
    if let Some(text) = text {
        item.insert("text".into(), AttributeValue::S(text.into()));
    }
    item
}

#[test]
fn parts_join_only_when_all_of_them_belong_to_the_rows_version() {
    let whole = vec![
        part(0, "4", Some("{\"a\":")),
        part(1, "4", Some("[1,2]")),
        part(2, "4", Some("}")),
    ];
    assert_eq!(
        join_parts(4, 3, whole.clone()).as_deref(),
        Ok("{\"a\":[1,2]}")
    );
    assert_eq!(
        join_parts(4, 4, whole.clone()),
        Err(TornParts::Missing {
            expected: 4,
            found: 3
        })
    );
    // A commit landed between reading the row and reading its parts.
    let mut mixed = whole.clone();
    mixed[1] = part(1, "5", Some("[1,2]"));
    assert_eq!(
        join_parts(4, 3, mixed),
        Err(TornParts::OtherVersion {
            index: 1,
            found: "5".into()
        })
    );
    let mut swapped = whole.clone();
    swapped.swap(0, 1);
    assert!(matches!(
        join_parts(4, 3, swapped),
        Err(TornParts::OutOfPlace { index: 0, .. })
    ));
    let mut blank = whole;
    blank[2] = part(2, "4", None);
    assert_eq!(join_parts(4, 3, blank), Err(TornParts::NoText { index: 2 }));
}

proptest! {
    #[test]
    fn any_state_is_sized_from_its_text_as_its_value_would_be(value in any_json()) {
        let state = StateJson::of(&value).expect("state");
        prop_assert_eq!(state.attribute_bytes(), attribute_size(&value));
        prop_assert_eq!(state.to_value().expect("value"), value);
    }

    #[test]
    fn split_text_keeps_every_character_in_pieces_of_at_most_max_bytes(
        text in "[a-z\"{}é€😀]{0,400}",
        max in 4usize..40,
    ) {
        let pieces = split_text(&text, max);
        prop_assert_eq!(pieces.concat(), text.clone());
        prop_assert!(pieces.iter().all(|p| !p.is_empty() && p.len() <= max));
        // Only a character straddling a boundary shortens a piece: at most 3 bytes.
        prop_assert!(pieces.iter().rev().skip(1).all(|p| p.len() + 3 >= max));
    }

    #[test]
    fn any_state_split_into_parts_joins_back_to_itself(
        words in prop::collection::vec("[a-zé😀\"\\\\]{0,12}", 1..40),
        max in 4usize..64,
    ) {
        let value = json!({ "words": words });
        let text = serde_json::to_string(&value).expect("JSON");
        let items: Vec<Item> = split_text(&text, max)
            .into_iter()
            .enumerate()
            .map(|(i, piece)| part_item("STATE#callback:test", i, 6, piece))
            .collect();
        let count = items.len();
        let back: Value = serde_json::from_str(&join_parts(6, count, items).expect("whole"))
            .expect("JSON");
        prop_assert_eq!(back, value);
    }
}

#[test]
fn store_errors_mask_the_numbers_in_state_keys_and_quoted_values() {
    let errors = [
        StoreError::StateTooLarge {
            key: "callback:+919812345678".into(),
            bytes: 5_000_000,
            limit: STATE_TEXT_LIMIT,
        },
        StoreError::TornState {
            key: "callback:+919812345678".into(),
            version: 3,
            why: TornParts::NoState,
        },
        StoreError::Request("state callback:+919812345678: unreadable bucket manifest".into()),
        StoreError::Rejected("Item size has exceeded: callback:+919812345678".into()),
        StoreError::StateText(
            serde_json::from_str::<u64>("\"+919812345678\"").expect_err("a string"),
        ),
    ];
    for error in errors {
        let text = error.to_string();
        assert!(!text.contains("9812345678"), "{text}");
        assert!(text.contains("+91********78"), "{text}");
    }
}
