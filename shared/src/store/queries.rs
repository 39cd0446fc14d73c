//! The DynamoDB adapter's reads: states (whole or in parts), indexes, the ledger.

use super::callbacks::IndexedState;
use super::*;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use chrono::NaiveDate;

impl DynamoStore {
    /// A state as its last write left it: its row, read consistently; when the row names
    /// parts, a consistent query for them, checked to be all of the row's version; when it
    /// names buckets, a consistent batch read of exactly those.
    pub(super) async fn read_state<T: DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<Versioned<T>>, StoreError> {
        #[derive(Deserialize)]
        struct Head {
            version: u64,
            #[serde(default)]
            parts: usize,
        }
        let pk = state_pk(key);
        let mut attempt = 1;
        loop {
            let out = self
                .client
                .get_item()
                .table_name(&self.table)
                .key("pk", AttributeValue::S(pk.clone()))
                .key("sk", AttributeValue::S(STATE_SK.into()))
                .consistent_read(true)
                .send()
                .await
                .map_err(request_error)?;
            let Some(mut item) = out.item else {
                return Ok(None);
            };
            let state = item.remove("state");
            let state_head = item.remove("head");
            let manifest = item.remove("buckets");
            let head: Head = dynamo::from_item(item)?;
            let mut revision = Revision {
                version: head.version,
                parts: head.parts,
                buckets: None,
            };
            let read = match (state_head, manifest) {
                (Some(AttributeValue::S(state_head)), Some(AttributeValue::B(manifest))) => {
                    let manifest = read_manifest(manifest.as_ref()).ok_or_else(|| {
                        StoreError::Request(format!("state {key}: unreadable bucket manifest"))
                    })?;
                    let (mut items, missing) =
                        self.cached_buckets(&pk, bucket_keys(&pk, &manifest));
                    items.extend(self.batch_get(missing).await?);
                    let joined = join(&state_head, &manifest, &items).map(|(text, index)| {
                        revision.buckets = Some(index);
                        text
                    });
                    if joined.is_ok() {
                        self.remember_buckets(&pk, items, true);
                    }
                    joined
                }
                _ if head.parts > 0 => {
                    let parts = self.parts(&pk, head.parts).await?;
                    join_parts(head.version, head.parts, parts)
                }
                _ => {
                    let Some(state) = state else {
                        return Err(StoreError::TornState {
                            key: key.to_owned(),
                            version: head.version,
                            why: TornParts::NoState,
                        });
                    };
                    return Ok(Some(Versioned {
                        revision,
                        value: dynamo::from_attribute_value(state)?,
                    }));
                }
            };
            match read {
                Ok(text) => {
                    return Ok(Some(Versioned {
                        revision,
                        value: serde_json::from_str(&text)?,
                    }))
                }
                Err(why) if attempt < TORN_READ_ATTEMPTS => {
                    tracing::warn!(
                        version = head.version,
                        why = %why,
                        attempt,
                        "state replaced while its parts were read; reading it again"
                    );
                    attempt += 1;
                }
                Err(why) => {
                    return Err(StoreError::TornState {
                        key: key.to_owned(),
                        version: head.version,
                        why,
                    })
                }
            }
        }
    }

    /// Items by key, read consistently, in any order (BatchGetItem: 100 keys a request,
    /// and what DynamoDB leaves unprocessed asked for again).
    async fn batch_get(&self, keys: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        use aws_sdk_dynamodb::types::KeysAndAttributes;
        let mut items = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(100) {
            let mut pending = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(chunk.to_vec()))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| StoreError::Request(e.to_string()))?,
            );
            let mut rounds = 0;
            while let Some(request) = pending.take() {
                rounds += 1;
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(request_error)?;
                if let Some(mut found) = out.responses {
                    items.extend(found.remove(&self.table).unwrap_or_default());
                }
                pending = out
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.table))
                    .filter(|k| !k.keys().is_empty());
                if pending.is_some() {
                    if rounds > 8 {
                        return Err(StoreError::Request("bucket reads left unprocessed".into()));
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(20 * rounds)).await;
                }
            }
        }
        Ok(items)
    }

    /// The first `count` part items of a state, in order.
    pub(super) async fn parts(&self, pk: &str, count: usize) -> Result<Vec<Item>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk BETWEEN :first AND :last")
            .expression_attribute_values(":pk", AttributeValue::S(pk.to_owned()))
            .expression_attribute_values(":first", AttributeValue::S(part_sk(0)))
            .expression_attribute_values(":last", AttributeValue::S(part_sk(count - 1)))
            .consistent_read(true);
        every_item(query).await
    }
}

impl DynamoStore {
    /// The rows of one `gsi1` partition whose sort key (a time) is before `cutoff`: the
    /// callbacks due, the messages waiting too long.
    pub(super) fn index_before(
        &self,
        partition: &str,
        cutoff: DateTime<Utc>,
    ) -> QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .index_name(ALERTS_INDEX)
            .key_condition_expression("gsi1pk = :pk AND gsi1sk < :cutoff")
            .expression_attribute_values(":pk", AttributeValue::S(partition.into()))
            .expression_attribute_values(":cutoff", AttributeValue::S(cutoff.to_rfc3339()))
    }

    /// Every item of one `gsi1` partition whose sort key is at least `from`.
    pub(super) async fn index_partition(
        &self,
        pk: String,
        from: Option<String>,
    ) -> Result<Vec<HashMap<String, AttributeValue>>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(ALERTS_INDEX)
            .expression_attribute_values(":pk", AttributeValue::S(pk));
        let query = match from {
            Some(from) => query
                .key_condition_expression("gsi1pk = :pk AND gsi1sk >= :from")
                .expression_attribute_values(":from", AttributeValue::S(from)),
            None => query.key_condition_expression("gsi1pk = :pk"),
        };
        every_item(query).await
    }
}

/// Every item a query finds, page after page.
pub(super) async fn every_item(query: QueryFluentBuilder) -> Result<Vec<Item>, StoreError> {
    query
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(request_error)
}

impl DashboardStore for DynamoStore {
    async fn load_state<T: DeserializeOwned + Send>(
        &self,
        key: &StateKey,
    ) -> Result<Option<Versioned<T>>, StoreError> {
        self.read_state(&key.to_string()).await
    }

    async fn day_counters(
        &self,
        day: NaiveDate,
    ) -> Result<BTreeMap<CounterKey, BTreeMap<String, i64>>, StoreError> {
        let items = self.index_partition(day_index_pk(day), None).await?;
        // A sharded counter's items share its key in the index: summed into one.
        let mut counters: BTreeMap<CounterKey, BTreeMap<String, i64>> = BTreeMap::new();
        for mut item in items {
            let Some(AttributeValue::S(text)) = item.remove("gsi1sk") else {
                continue;
            };
            match text.parse::<CounterKey>() {
                Ok(key) => add_fields(counters.entry(key).or_default(), counter_fields(Some(item))),
                Err(err) => {
                    tracing::warn!(error = %mask_numbers(&err.to_string()), "counter skipped")
                }
            }
        }
        Ok(counters)
    }

    async fn alerts_since(&self, since: DateTime<Utc>) -> Result<Vec<Alert>, StoreError> {
        let items = self
            .index_partition(ALERTS_PARTITION.into(), Some(since.to_rfc3339()))
            .await?;
        items
            .into_iter()
            .map(|item| Ok(dynamo::from_item::<AlertRow>(item)?.alert))
            .collect()
    }

    async fn indexed_states<T: DeserializeOwned + Send>(
        &self,
        partition: &str,
    ) -> Result<Vec<T>, StoreError> {
        let mut states = Vec::new();
        for item in self.index_partition(partition.into(), None).await? {
            states.push(dynamo::from_item::<IndexedState<T>>(item)?.state);
        }
        Ok(states)
    }
}

impl DayCounterStore for DynamoStore {
    async fn day_counters(
        &self,
        day: NaiveDate,
    ) -> Result<BTreeMap<CounterKey, BTreeMap<String, i64>>, StoreError> {
        DashboardStore::day_counters(self, day).await
    }
}

/// The key of an alert's row.
fn alert_key(alert_id: &str) -> Item {
    Item::from([
        ("pk".to_owned(), AttributeValue::S(alert_pk(alert_id))),
        ("sk".to_owned(), AttributeValue::S("ALERT".into())),
    ])
}

impl AlertLedger for DynamoStore {
    async fn claim(
        &self,
        alert_id: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Claim, StoreError> {
        let claimed = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(alert_key(alert_id)))
            .update_expression("SET claimed_until = :until")
            .condition_expression(
                "attribute_exists(pk) AND attribute_not_exists(published_at) \
                 AND (attribute_not_exists(claimed_until) OR claimed_until < :now)",
            )
            .expression_attribute_values(
                ":until",
                AttributeValue::N(until.timestamp_millis().to_string()),
            )
            .expression_attribute_values(
                ":now",
                AttributeValue::N(now.timestamp_millis().to_string()),
            )
            .send()
            .await;
        match claimed {
            Ok(_) => Ok(Claim::Claimed),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                // Published, or claimed by another publisher: one consistent read tells.
                let out = self
                    .client
                    .get_item()
                    .table_name(&self.table)
                    .set_key(Some(alert_key(alert_id)))
                    .projection_expression("published_at")
                    .consistent_read(true)
                    .send()
                    .await
                    .map_err(request_error)?;
                match out.item {
                    Some(item) if item.contains_key("published_at") => Ok(Claim::Published),
                    Some(_) => Ok(Claim::InFlight),
                    None => Err(StoreError::Request(format!(
                        "alert {alert_id} has no row to claim"
                    ))),
                }
            }
            Err(e) => Err(request_error(e)),
        }
    }

    async fn release_claim(&self, alert_id: &str, until: DateTime<Utc>) -> Result<(), StoreError> {
        let released = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(alert_key(alert_id)))
            .update_expression("REMOVE claimed_until")
            .condition_expression("claimed_until = :mine")
            .expression_attribute_values(
                ":mine",
                AttributeValue::N(until.timestamp_millis().to_string()),
            )
            .send()
            .await;
        match released {
            Ok(_) => Ok(()),
            // Another publisher's claim now (ours lapsed): it is theirs to keep.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(request_error(e)),
        }
    }

    async fn mark_published(
        &self,
        alert_id: &str,
        at: DateTime<Utc>,
        as_sent: Option<&Alert>,
    ) -> Result<(), StoreError> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(alert_key(alert_id)))
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":at", AttributeValue::S(at.to_rfc3339()));
        update = match as_sent {
            None => update.update_expression("SET published_at = :at REMOVE claimed_until"),
            Some(alert) => update
                .update_expression("SET published_at = :at, alert = :alert REMOVE claimed_until")
                .expression_attribute_values(":alert", dynamo::to_attribute_value(alert)?),
        };
        update.send().await.map_err(request_error)?;
        Ok(())
    }

    async fn unpublished(
        &self,
        since: DateTime<Utc>,
        stored_by: DateTime<Utc>,
    ) -> Result<Vec<AlertRow>, StoreError> {
        // A filter on `published_at` would save nothing: DynamoDB bills the rows it reads.
        let items = self
            .index_partition(ALERTS_PARTITION.into(), Some(since.to_rfc3339()))
            .await?;
        let mut rows = Vec::new();
        for item in items {
            match dynamo::from_item::<AlertRow>(item) {
                Ok(row)
                    if row.published_at.is_none()
                        && row.stored_at.unwrap_or(row.alert.occurred_at) <= stored_by =>
                {
                    rows.push(row)
                }
                Ok(_) => {}
                Err(e) => tracing::error!(
                    error = %mask_numbers(&e.to_string()),
                    "alert row unreadable; left to the dead-letter queue"
                ),
            }
        }
        Ok(rows)
    }
}
