//! The table's other rows: idempotency keys, markers, alerts, counters, and their keys.

use super::*;
use chrono::NaiveDate;

/// An idempotency key's row (written with `attribute_not_exists(pk)`).
pub(super) fn dedup_item(source: &str, key: &str, at: DateTime<Utc>) -> Result<Item, StoreError> {
    Ok(dynamo::to_item(serde_json::json!({
        "pk": dedup_pk(source, key),
        "sk": "DEDUP",
        "entity": "dedup",
        "received_at": at,
        TTL_ATTRIBUTE: expiry(at, DEDUP_TTL_DAYS),
    }))?)
}

pub(super) fn dedup_pk(source: &str, key: &str) -> String {
    format!("DEDUP#{source}#{key}")
}

pub(super) fn seen_pk(source: &str, key: &str) -> String {
    format!("SEEN#{source}#{key}")
}

pub(super) fn counter_pk(key: &CounterKey) -> String {
    format!("COUNTER#{key}")
}

pub(super) fn alert_item(alert: &Alert) -> Result<HashMap<String, AttributeValue>, StoreError> {
    let id = alert.id();
    Ok(dynamo::to_item(serde_json::json!({
        "pk": alert_pk(&id),
        "sk": "ALERT",
        "entity": "alert",
        "alert_id": id,
        "alert": alert,
        "gsi1pk": ALERTS_PARTITION,
        "gsi1sk": format!("{}#{id}", alert.occurred_at.to_rfc3339()),
        "stored_at": Utc::now(),
        TTL_ATTRIBUTE: expiry(alert.occurred_at.max(Utc::now()), HISTORY_TTL_DAYS),
    }))?)
}

/// `SET entity, expiry ADD c:<field> n, …`: one expression for a transaction or on its own.
pub(super) fn counter_expression(
    bump: &CounterBump,
    now: DateTime<Utc>,
) -> (
    String,
    HashMap<String, String>,
    HashMap<String, AttributeValue>,
) {
    let mut names = HashMap::from([("#ttl".to_owned(), TTL_ATTRIBUTE.to_owned())]);
    let mut values = HashMap::from([
        (":entity".to_owned(), AttributeValue::S("counter".into())),
        (
            ":ttl".to_owned(),
            AttributeValue::N(expiry(now, bump.keep_days).to_string()),
        ),
    ]);
    let mut adds = Vec::new();
    for (i, (field, n)) in bump.adds.iter().enumerate() {
        names.insert(format!("#c{i}"), format!("{COUNTER_FIELD_PREFIX}{field}"));
        values.insert(format!(":c{i}"), AttributeValue::N(n.to_string()));
        adds.push(format!("#c{i} :c{i}"));
    }
    let mut sets = "entity = :entity, #ttl = :ttl".to_owned();
    if let Some(day) = bump.key.day() {
        values.insert(":gpk".into(), AttributeValue::S(day_index_pk(day)));
        values.insert(":gsk".into(), AttributeValue::S(bump.key.to_string()));
        sets.push_str(", gsi1pk = :gpk, gsi1sk = :gsk");
    }
    let expression = format!("SET {sets} ADD {}", adds.join(", "));
    (expression, names, values)
}

pub(super) fn day_index_pk(day: NaiveDate) -> String {
    format!("COUNTERS#{day}")
}

pub(super) fn counter_fields(
    item: Option<HashMap<String, AttributeValue>>,
) -> BTreeMap<String, i64> {
    item.unwrap_or_default()
        .into_iter()
        .filter_map(|(name, value)| {
            let field = name.strip_prefix(COUNTER_FIELD_PREFIX)?.to_owned();
            match value {
                AttributeValue::N(n) => n.parse().ok().map(|n| (field, n)),
                _ => None,
            }
        })
        .collect()
}

pub(super) fn add_fields(sum: &mut BTreeMap<String, i64>, fields: BTreeMap<String, i64>) {
    for (field, n) in fields {
        *sum.entry(field).or_default() += n;
    }
}

pub(super) fn expiry(from: DateTime<Utc>, days: i64) -> i64 {
    (from + Duration::days(days)).timestamp()
}
