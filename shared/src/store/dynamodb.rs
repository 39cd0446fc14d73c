//! The DynamoDB adapter: building and running a commit's transaction, and the writes.

use super::*;

#[derive(Clone)]
pub struct DynamoStore {
    pub(super) client: Client,
    pub(super) table: String,
    /// Write units of everything this store wrote, by DynamoDB's billing rules.
    pub(super) units: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// The bucket items of the states last read or written, by partition and sort key. A
    /// bucket item is never overwritten (its key names the write that put it), so a text
    /// kept here is the item's for as long as a row names it: a warm container reads a
    /// steady fleet's row and nothing else.
    pub(super) buckets: std::sync::Arc<std::sync::Mutex<HashMap<String, HashMap<String, String>>>>,
}

/// The table's name only: the cached state text is a fleet's phone numbers.
impl std::fmt::Debug for DynamoStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamoStore")
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            units: Default::default(),
            buckets: Default::default(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub(super) fn put(
        &self,
        item: HashMap<String, AttributeValue>,
        condition: Option<&str>,
    ) -> Result<Put, StoreError> {
        Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_owned))
            .build()
            .map_err(|e| StoreError::Request(e.to_string()))
    }

    /// A state row's put, conditioned on the revision it replaces.
    pub(super) fn state_put(&self, row: StateRow) -> Result<Put, StoreError> {
        Put::builder()
            .table_name(&self.table)
            .set_item(Some(row.item))
            .condition_expression(row.condition)
            .set_expression_attribute_values(row.expected)
            .build()
            .map_err(|e| StoreError::Request(e.to_string()))
    }

    /// The puts of a state's parts and the deletes of the parts its replaced revision had
    /// beyond them: none has a condition, so no failed condition is ever one of them.
    pub(super) fn part_items(
        &self,
        parts: Vec<Item>,
        stale: Vec<Item>,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let mut items = Vec::with_capacity(parts.len() + stale.len());
        for part in parts {
            items.push(
                TransactWriteItem::builder()
                    .put(self.put(part, None)?)
                    .build(),
            );
        }
        for key in stale {
            let delete = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key))
                .build()
                .map_err(|e| StoreError::Request(e.to_string()))?;
            items.push(TransactWriteItem::builder().delete(delete).build());
        }
        Ok(items)
    }

    /// The transaction of a commit, and where in it each kind of conditioned item sits.
    /// The transaction of a commit whose states are laid out as `rows`.
    pub(super) fn transact_items(
        &self,
        c: &Commit,
        rows: &[StateRows],
    ) -> Result<(Vec<TransactWriteItem>, Layout), StoreError> {
        let mut items = Vec::with_capacity(3 + c.states.len() + c.checks.len() + c.alerts.len());
        let put = |put: Put| TransactWriteItem::builder().put(put).build();
        let mut dedup = dedup_item(c.source, &c.dedup_key, c.received_at)?;
        if let Some(reply) = &c.reply {
            // As text: the exact body goes back to a retry, key order and all.
            dedup.insert("reply".into(), AttributeValue::S(reply.to_string()));
            if let Some(to) = &c.reply_to {
                dedup.insert("reply_to".into(), AttributeValue::S(to.clone()));
            }
        }
        items.push(put(self.put(dedup, Some("attribute_not_exists(pk)"))?));

        // The state rows and the checks of the rows read and left alone come right after
        // the idempotency key; the parts go after everything else.
        let mut parts = Vec::with_capacity(rows.len());
        for rows in rows {
            items.push(put(self.state_put(rows.row.clone())?));
            parts.push((rows.parts.clone(), rows.stale.clone()));
        }
        for check in &c.checks {
            items.push(
                TransactWriteItem::builder()
                    .condition_check(self.state_check(check)?)
                    .build(),
            );
        }
        let states = 1..items.len();

        if let Some(history) = &c.history {
            let item = dynamo::to_item(serde_json::json!({
                "pk": format!("HISTORY#{}", c.source),
                "sk": format!("{}#{}", c.history_at.to_rfc3339(), c.dedup_key),
                "entity": "history",
                "received_at": c.received_at,
                "record": history,
                TTL_ATTRIBUTE: expiry(c.received_at, HISTORY_TTL_DAYS),
            }))?;
            items.push(put(self.put(item, None)?));
        }

        let alerts_from = items.len();
        for alert in &c.alerts {
            items.push(put(
                self.put(alert_item(alert)?, Some("attribute_not_exists(pk)"))?
            ));
        }
        let firsts_from = items.len();
        for first in &c.firsts {
            let marker = HashMap::from([
                (
                    "pk".to_owned(),
                    AttributeValue::S(seen_pk(c.source, &first.key)),
                ),
                ("sk".to_owned(), AttributeValue::S("SEEN".into())),
                ("entity".to_owned(), AttributeValue::S("seen".into())),
            ]);
            items.push(put(self.put(marker, Some("attribute_not_exists(pk)"))?));
            items.push(put(self.put(
                alert_item(&first.alert)?,
                Some("attribute_not_exists(pk)"),
            )?));
        }
        let layout = Layout {
            states,
            alerts: alerts_from..firsts_from,
            firsts: firsts_from..items.len(),
        };
        for bump in &c.counters {
            items.push(
                TransactWriteItem::builder()
                    .update(self.counter_update(bump, c.received_at)?)
                    .build(),
            );
        }
        for (written, stale) in parts {
            items.extend(self.part_items(written, stale)?);
        }
        Ok((items, layout))
    }

    /// The condition that a state row read is still at the revision it was read at.
    pub(super) fn state_check(&self, check: &StateCheck) -> Result<ConditionCheck, StoreError> {
        let (condition, expected) = revision_condition(check.revision.as_ref());
        ConditionCheck::builder()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(state_pk(&check.key)))
            .key("sk", AttributeValue::S(STATE_SK.into()))
            .condition_expression(condition)
            .set_expression_attribute_values(expected)
            .build()
            .map_err(|e| StoreError::Request(e.to_string()))
    }

    /// Runs a transaction: `Ok(None)` when it committed, `Ok(Some(why))` when DynamoDB
    /// cancelled it, `Err` for every other failure.
    pub(super) async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<Option<Cancelled>, StoreError> {
        if items.len() > TRANSACTION_ITEMS {
            return Err(StoreError::TooManyItems(items.len()));
        }
        let sizes: Vec<usize> = items.iter().map(transact_item_bytes).collect();
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => {
                for bytes in sizes {
                    self.count_units(bytes, true);
                }
                Ok(None)
            }
            Err(SdkError::ServiceError(ctx)) => match ctx.err() {
                TransactWriteItemsError::TransactionCanceledException(cancel) => {
                    let codes: Vec<Option<&str>> = cancel
                        .cancellation_reasons()
                        .iter()
                        .map(|r| r.code())
                        .collect();
                    if let Some(i) = codes.iter().position(|c| *c == Some("ValidationError")) {
                        let why = cancel.cancellation_reasons()[i]
                            .message()
                            .unwrap_or_default();
                        return Err(StoreError::Rejected(format!("transaction item {i}: {why}")));
                    }
                    Ok(Some(Cancelled {
                        failed: (0..codes.len())
                            .filter(|&i| codes[i] == Some("ConditionalCheckFailed"))
                            .collect(),
                        conflicted: codes.contains(&Some("TransactionConflict")),
                        message: cancel.message().map(str::to_owned),
                    }))
                }
                _ => Err(request_error(SdkError::ServiceError(ctx))),
            },
            Err(other) => Err(request_error(other)),
        }
    }

    /// Puts an item if its condition holds; says whether it did.
    pub(super) async fn conditional_put(
        &self,
        item: Item,
        condition: &str,
        values: Option<Item>,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .set_expression_attribute_values(values)
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(ctx))
                if ctx.err().is_conditional_check_failed_exception() =>
            {
                Ok(false)
            }
            Err(other) => Err(request_error(other)),
        }
    }

    pub(super) fn counter_update(
        &self,
        bump: &CounterBump,
        now: DateTime<Utc>,
    ) -> Result<Update, StoreError> {
        let (expression, names, values) = counter_expression(bump, now);
        Update::builder()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(counter_pk(&bump.key)))
            .key("sk", AttributeValue::S(bump.sk()))
            .update_expression(expression)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .build()
            .map_err(|e| StoreError::Request(e.to_string()))
    }
}

/// Why a transaction was cancelled: the items whose condition failed, and whether another
/// transaction was writing the same rows.
pub(super) struct Cancelled {
    pub(super) failed: Vec<usize>,
    pub(super) conflicted: bool,
    pub(super) message: Option<String>,
}

/// Buckets put for a commit whose outcome is unknown: it may land after any look at the
/// row, so they are left (unreferenced ones cost storage, never correctness).
fn keep_unknown(written: &[Item]) {
    if !written.is_empty() {
        tracing::warn!(
            items = written.len(),
            "commit outcome unknown; the buckets it put are left in place"
        );
    }
}

/// Removes the items at `positions` (in any order, repeats allowed) and returns them.
pub(super) fn drop_positions<T>(items: &mut Vec<T>, positions: &[usize]) -> Vec<T> {
    let mut dropped = Vec::new();
    let mut kept = Vec::with_capacity(items.len());
    for (i, item) in items.drain(..).enumerate() {
        if positions.contains(&i) {
            dropped.push(item);
        } else {
            kept.push(item);
        }
    }
    *items = kept;
    dropped
}

/// Where a commit's conditioned items sit in its transaction (item 0 is the idempotency
/// key): the state rows and checks, the alerts, and the first-seen markers, each followed
/// by its alert.
pub(super) struct Layout {
    pub(super) states: std::ops::Range<usize>,
    pub(super) alerts: std::ops::Range<usize>,
    pub(super) firsts: std::ops::Range<usize>,
}

impl DynamoStore {
    /// Writes one state's row (and its parts, in one transaction), if it is still at the
    /// revision it was read at.
    async fn save_rows(&self, rows: &StateRows) -> Result<Option<Revision>, StoreError> {
        let row = rows.row.clone();
        if rows.parts.is_empty() && rows.stale.is_empty() {
            self.count_units(item_bytes(&row.item), false);
            let saved = self
                .conditional_put(row.item, row.condition, row.expected)
                .await?;
            return Ok(saved.then_some(rows.revision.clone()));
        }
        // The row and its parts stand or fall together; the row, first, holds the condition.
        let mut items = vec![TransactWriteItem::builder()
            .put(self.state_put(row)?)
            .build()];
        items.extend(self.part_items(rows.parts.clone(), rows.stale.clone())?);
        match self.transact(items).await? {
            None => Ok(Some(rows.revision.clone())),
            Some(why) if why.failed.contains(&0) || why.conflicted => Ok(None),
            Some(why) => Err(why.unexplained()),
        }
    }

    /// Runs a commit's transaction over its laid-out rows. Each round either ends or drops
    /// at least one alert, so this ends.
    async fn commit_rows(
        &self,
        commit: &mut Commit,
        rows: &[StateRows],
    ) -> Result<CommitOutcome, StoreError> {
        loop {
            let (items, layout) = self.transact_items(commit, rows)?;
            let Some(why) = self.transact(items).await? else {
                return Ok(CommitOutcome::Committed);
            };
            // Only the idempotency key's own condition makes a delivery a duplicate.
            if why.failed.contains(&0) {
                return Ok(CommitOutcome::Duplicate);
            }
            // Another delivery moved a state read, or was writing the same rows.
            if why.conflicted || why.failed.iter().any(|i| layout.states.contains(i)) {
                return Ok(CommitOutcome::StateConflict);
            }
            // What is left to fail is alert rows and first-seen markers that exist: that
            // alert was raised before. It is dropped; the event is kept.
            let alerts: Vec<usize> = why
                .failed
                .iter()
                .filter_map(|i| i.checked_sub(layout.alerts.start))
                .filter(|i| *i < layout.alerts.len())
                .collect();
            let firsts: Vec<usize> = why
                .failed
                .iter()
                .filter_map(|i| i.checked_sub(layout.firsts.start))
                .filter(|i| *i < layout.firsts.len())
                .map(|i| i / 2)
                .collect();
            if alerts.is_empty() && firsts.is_empty() {
                return Err(why.unexplained());
            }
            for alert in drop_positions(&mut commit.alerts, &alerts) {
                tracing::warn!(alert = %mask_numbers(&alert.id()), "alert already stored; the event is kept without it");
            }
            drop_positions(&mut commit.firsts, &firsts);
        }
    }
}

impl Cancelled {
    fn unexplained(&self) -> StoreError {
        StoreError::Request(format!("transaction cancelled: {:?}", self.message))
    }
}

impl EventStore for DynamoStore {
    async fn load_state<T: DeserializeOwned + Send>(
        &self,
        key: &StateKey,
    ) -> Result<Option<Versioned<T>>, StoreError> {
        self.read_state(&key.to_string()).await
    }

    async fn commit(&self, mut commit: Commit) -> Result<CommitOutcome, StoreError> {
        let rows = commit
            .states
            .iter()
            .map(|s| state_rows(s, commit.received_at))
            .collect::<Result<Vec<_>, _>>()?;
        let written = match self.put_buckets(&rows).await? {
            Ok(written) => written,
            Err(written) => {
                self.release(&rows, written).await;
                return Ok(CommitOutcome::StateConflict);
            }
        };
        let outcome = self.commit_rows(&mut commit, &rows).await;
        match &outcome {
            Ok(CommitOutcome::Committed) => {
                self.collect_garbage(&rows).await;
                self.remember_written(&rows);
            }
            Ok(_) => self.release(&rows, written).await,
            Err(e) if e.is_permanent() => self.release(&rows, written).await,
            // The outcome is unknown (it may still land): its buckets stay.
            Err(_) => keep_unknown(&written),
        }
        outcome
    }

    async fn quarantine(&self, q: Quarantine) -> Result<(), StoreError> {
        let truncated = q.body.len() > QUARANTINE_BODY_LIMIT;
        let kept = &q.body[..q.body.len().min(QUARANTINE_BODY_LIMIT)];
        let mut item = dynamo::to_item(serde_json::json!({
            "pk": format!("QUARANTINE#{}", q.source),
            "sk": format!("{}#{}", q.received_at.to_rfc3339(), q.request_id),
            "entity": "quarantine",
            "received_at": q.received_at,
            "reason": q.reason,
            "content_type": q.content_type,
            "body_bytes": q.body.len(),
            "body_truncated": truncated,
            TTL_ATTRIBUTE: expiry(q.received_at, QUARANTINE_TTL_DAYS),
        }))?;
        // Bytes as they came: not every rejected body is UTF-8.
        let body = if kept.is_empty() {
            AttributeValue::S(String::new())
        } else {
            AttributeValue::B(aws_sdk_dynamodb::primitives::Blob::new(kept))
        };
        item.insert("body".into(), body);
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(request_error)?;
        Ok(())
    }

    async fn count_once(
        &self,
        source: &'static str,
        keys: &[String],
        counters: &[CounterBump],
        now: DateTime<Utc>,
    ) -> Result<Vec<usize>, StoreError> {
        let mut items = Vec::with_capacity(keys.len() + counters.len());
        for key in keys {
            let marker = dedup_item(source, key, now)?;
            items.push(
                TransactWriteItem::builder()
                    .put(self.put(marker, Some("attribute_not_exists(pk)"))?)
                    .build(),
            );
        }
        for bump in counters {
            items.push(
                TransactWriteItem::builder()
                    .update(self.counter_update(bump, now)?)
                    .build(),
            );
        }
        match self.transact(items).await? {
            None => Ok(Vec::new()),
            Some(why) => {
                let seen: Vec<usize> = why
                    .failed
                    .iter()
                    .copied()
                    .filter(|&i| i < keys.len())
                    .collect();
                if seen.is_empty() {
                    Err(why.unexplained())
                } else {
                    Ok(seen)
                }
            }
        }
    }

    async fn save_state(&self, write: StateWrite) -> Result<Option<Revision>, StoreError> {
        let rows = state_rows(&write, Utc::now())?;
        let written = match self.put_buckets(std::slice::from_ref(&rows)).await? {
            Ok(written) => written,
            Err(written) => {
                self.release(std::slice::from_ref(&rows), written).await;
                return Ok(None);
            }
        };
        let saved = self.save_rows(&rows).await;
        match &saved {
            Ok(Some(_)) => {
                self.collect_garbage(std::slice::from_ref(&rows)).await;
                self.remember_written(std::slice::from_ref(&rows));
            }
            Ok(None) => self.release(std::slice::from_ref(&rows), written).await,
            Err(e) if e.is_permanent() => self.release(std::slice::from_ref(&rows), written).await,
            Err(_) => keep_unknown(&written),
        }
        saved
    }

    async fn stored_reply(
        &self,
        source: &'static str,
        dedup_key: &str,
    ) -> Result<Option<StoredReply>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(dedup_pk(source, dedup_key)))
            .key("sk", AttributeValue::S("DEDUP".into()))
            .projection_expression("reply, reply_to")
            .consistent_read(true)
            .send()
            .await
            .map_err(request_error)?;
        let Some(mut item) = out.item else {
            return Ok(None);
        };
        let to = match item.remove("reply_to") {
            Some(AttributeValue::S(to)) => Some(to),
            _ => None,
        };
        match item.remove("reply") {
            Some(AttributeValue::S(text)) => serde_json::from_str(&text)
                .map(|body| Some(StoredReply { body, to }))
                .map_err(|e| StoreError::Request(format!("stored reply is not JSON: {e}"))),
            _ => Ok(None),
        }
    }

    async fn read_counter(&self, key: &CounterKey) -> Result<BTreeMap<String, i64>, StoreError> {
        // The unsharded item and every shard share the partition: one query sums them.
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :sk)")
            .expression_attribute_values(":pk", AttributeValue::S(counter_pk(key)))
            .expression_attribute_values(":sk", AttributeValue::S(COUNTER_SK.into()))
            .consistent_read(true);
        let items = super::queries::every_item(query).await?;
        let mut sum = BTreeMap::new();
        for item in items {
            add_fields(&mut sum, counter_fields(Some(item)));
        }
        Ok(sum)
    }

    async fn put_alert_once(&self, alert: &Alert) -> Result<bool, StoreError> {
        self.conditional_put(alert_item(alert)?, "attribute_not_exists(pk)", None)
            .await
    }
}
