use super::*;
use proptest::prelude::*;
use serde_json::json;

fn fleet(lines: usize, since: &str) -> serde_json::Value {
    let lines: serde_json::Map<String, serde_json::Value> = (0..lines)
        .map(|i| {
            (
                format!("0{:010}", 7_930_000_000u64 + i as u64),
                json!({ "phone_number": format!("+91{}", 7_930_000_000u64 + i as u64), "incoming_since": since }),
            )
        })
        .collect();
    json!({ "kind": "monitor", "status": "WARNING", "last_heartbeat_at": "2026-11-01T10:00:00Z", "lines": lines })
}

/// The read side of a write: the items it put, as the row's manifest names them.
fn read_back(pk: &str, head: &str, writes: &BucketWrites, earlier: &[Item]) -> serde_json::Value {
    let manifest = read_manifest(&manifest(&writes.index).expect("manifest")).expect("readable");
    let items: Vec<Item> = writes.puts.iter().chain(earlier).cloned().collect();
    let keys = bucket_keys(pk, &manifest);
    let wanted: Vec<Item> = items
        .into_iter()
        .filter(|i| keys.iter().any(|k| k["sk"] == i["sk"]))
        .collect();
    let (text, index) = join(head, &manifest, &wanted).expect("whole");
    assert_eq!(*index, writes.index, "the index read is the index written");
    serde_json::from_str(&text).expect("JSON")
}

#[test]
fn a_large_state_splits_and_joins_back_to_itself() {
    let state = fleet(2_000, "2026-11-01T09:00:00Z");
    let split = split(&state.to_string(), None)
        .expect("split")
        .expect("has a large map");
    let count = split.fields["lines"].len();
    assert!(
        count.is_power_of_two() && (16..=BUCKETS).contains(&count),
        "{count}"
    );
    let head = split.head.clone();
    assert!(!head.contains("lines") && head.contains("\"status\":\"WARNING\""));
    let writes = bucket_writes("STATE#m", "m", split.fields, 7, None).expect("writes");
    assert_eq!(writes.puts.len(), count, "a first write puts every bucket");
    assert!(writes.garbage.is_empty());
    assert_eq!(read_back("STATE#m", &head, &writes, &[]), state);
}

#[test]
fn a_steady_state_puts_no_bucket_and_one_change_puts_one() {
    let state = fleet(2_000, "2026-11-01T09:00:00Z");
    let first = split(&state.to_string(), None).unwrap().unwrap();
    let first = bucket_writes("STATE#m", "m", first.fields, 1, None).unwrap();

    let again = split(&state.to_string(), None).unwrap().unwrap();
    let steady = bucket_writes("STATE#m", "m", again.fields, 2, Some(&first.index)).unwrap();
    assert!(steady.puts.is_empty() && steady.garbage.is_empty());
    assert_eq!(steady.index, first.index);

    let mut changed = state.clone();
    changed["lines"]["07930000005"]["incoming_since"] = json!("2026-11-01T09:30:00Z");
    let split_changed = split(&changed.to_string(), None).unwrap().unwrap();
    let head = split_changed.head.clone();
    let one = bucket_writes("STATE#m", "m", split_changed.fields, 3, Some(&first.index)).unwrap();
    assert_eq!(one.puts.len(), 1);
    assert_eq!(one.garbage.len(), 1, "the bucket it replaced");
    assert_ne!(one.garbage[0].key["sk"], one.puts[0]["sk"]);
    assert_eq!(read_back("STATE#m", &head, &one, &first.puts), changed);
}

#[test]
fn a_field_gets_buckets_for_its_size_and_keeps_their_number_while_it_roughly_fits() {
    assert_eq!(bucket_count(1_000, None), 1);
    assert_eq!(bucket_count(100 * 1024, None), 16);
    assert_eq!(bucket_count(10 << 20, None), BUCKETS);
    assert_eq!(
        bucket_count(150 * 1024, Some(16)),
        16,
        "ideal 32: within a factor of two"
    );
    assert_eq!(bucket_count(300 * 1024, Some(16)), 64, "ideal 64: too far");
    assert_eq!(bucket_count(10 << 20, Some(256)), BUCKETS);
}

#[test]
fn small_maps_and_other_shapes_are_not_split() {
    assert!(split(&json!({ "lines": { "a": 1 } }).to_string(), None)
        .unwrap()
        .is_none());
    assert!(split(&json!(vec!["x"; 10_000]).to_string(), None)
        .unwrap()
        .is_none());
    let long_text = json!({ "note": "x".repeat(100_000) });
    assert!(split(&long_text.to_string(), None).unwrap().is_none());
}

#[test]
fn a_missing_bucket_is_a_torn_read() {
    let state = fleet(500, "2026-11-01T09:00:00Z");
    let split = split(&state.to_string(), None).unwrap().unwrap();
    let head = split.head.clone();
    let writes = bucket_writes("STATE#m", "m", split.fields, 1, None).unwrap();
    let manifest = read_manifest(&manifest(&writes.index).unwrap()).unwrap();
    let mut items = writes.puts.clone();
    let count = items.len();
    items.pop();
    assert_eq!(
        join(&head, &manifest, &items).err(),
        Some(TornParts::Missing {
            expected: count,
            found: count - 1
        })
    );
}

#[test]
fn the_manifest_is_small_and_refuses_garbage() {
    let state = fleet(500, "2026-11-01T09:00:00Z");
    let split = split(&state.to_string(), None).unwrap().unwrap();
    let writes = bucket_writes("STATE#m", "m", split.fields, u32::MAX, None).unwrap();
    let bytes = manifest(&writes.index).unwrap();
    assert_eq!(bytes.len(), 1 + "lines".len() + 1 + 4 * writes.puts.len());
    assert!(read_manifest(&bytes[..bytes.len() - 1]).is_none());
    assert!(read_manifest(&[3, b'a']).is_none());
}

proptest! {
    /// Any map of entries, any head: what is split and joined reads as what was written.
    #[test]
    fn split_then_join_is_the_identity(
        entries in prop::collection::btree_map("[a-zA-Z0-9\"\\\\é]{1,12}", (0u32..1000, "[ -~]{0,40}"), 0..400),
        head in prop::collection::btree_map("[a-z]{1,6}", "[ -~]{0,10}", 0..4),
    ) {
        let mut state = serde_json::Map::new();
        for (k, v) in &head {
            state.insert(k.clone(), json!(v));
        }
        let lines: serde_json::Map<String, serde_json::Value> = entries
            .iter()
            .map(|(k, (n, t))| (k.clone(), json!({ "n": n, "t": t, "pad": "x".repeat(40) })))
            .collect();
        state.insert("zlines".into(), serde_json::Value::Object(lines));
        let state = serde_json::Value::Object(state);
        match split(&state.to_string(), None).unwrap() {
            None => prop_assert!(state["zlines"].to_string().len() <= 512),
            Some(s) => {
                let h = s.head.clone();
                let writes = bucket_writes("STATE#p", "p", s.fields, 9, None).unwrap();
                prop_assert_eq!(read_back("STATE#p", &h, &writes, &[]), state);
            }
        }
    }
}
