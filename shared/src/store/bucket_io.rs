//! Writing and removing bucket items around a commit (`buckets.rs` says why they are
//! written outside its transaction).

use super::*;
use futures_util::stream::{self, StreamExt};

/// Bucket puts in flight at once: a fleet's first outage puts every bucket, some 10 MB.
const PUTS_IN_FLIGHT: usize = 16;
/// A state's buckets are kept in memory once it has this many…
const CACHED_MIN_BUCKETS: usize = 8;
/// …for this many states at most.
const CACHED_STATES: usize = 4;
/// DynamoDB's limit of requests in one BatchWriteItem.
const BATCH_WRITE: usize = 25;

impl DynamoStore {
    /// Puts the rows' new buckets, each only if no item has its key. `Ok(Ok(keys))`: all
    /// were put; `Ok(Err(keys))`: a key was taken (a racing write drew the same id), and
    /// the keys put before that must be released.
    pub(super) async fn put_buckets(
        &self,
        rows: &[StateRows],
    ) -> Result<Result<Vec<Item>, Vec<Item>>, StoreError> {
        let puts: Vec<Item> = rows.iter().flat_map(|r| r.bucket_puts.clone()).collect();
        if puts.is_empty() {
            return Ok(Ok(Vec::new()));
        }
        let results: Vec<(Item, Result<bool, StoreError>)> = stream::iter(puts)
            .map(|item| async move {
                let key = key_of(&item);
                let bytes = item_bytes(&item);
                let put = self
                    .conditional_put(item, "attribute_not_exists(pk)", None)
                    .await;
                if matches!(put, Ok(true)) {
                    self.count_units(bytes, false);
                }
                (key, put)
            })
            .buffer_unordered(PUTS_IN_FLIGHT)
            .collect()
            .await;
        let mut written = Vec::new();
        let mut taken = false;
        let mut failed = None;
        for (key, put) in results {
            match put {
                Ok(true) => written.push(key),
                Ok(false) => taken = true,
                Err(e) => failed = Some(e),
            }
        }
        if let Some(e) = failed {
            // Nothing names them yet: they go, then the failure is the caller's.
            self.release(rows, written).await;
            return Err(e);
        }
        Ok(if taken { Err(written) } else { Ok(written) })
    }

    /// After a commit that did not land (or whose outcome is unknown): deletes the buckets
    /// it put that the state's row does not name. The row is read again rather than the
    /// outcome trusted, so buckets a commit applied behind a lost answer stay.
    pub(super) async fn release(&self, rows: &[StateRows], written: Vec<Item>) {
        if written.is_empty() {
            return;
        }
        let mut named = std::collections::HashSet::new();
        for pk in rows.iter().filter_map(|r| match r.row.item.get("pk") {
            Some(AttributeValue::S(pk)) if !r.bucket_puts.is_empty() => Some(pk.clone()),
            _ => None,
        }) {
            match self.named_buckets(&pk).await {
                Ok(keys) => named.extend(keys.into_iter().map(|k| (pk.clone(), sk_of(&k)))),
                Err(e) => {
                    tracing::warn!(error = %e, "buckets of a commit that did not land are left in place");
                    return;
                }
            }
        }
        let orphans: Vec<Garbage> = written
            .into_iter()
            .filter(|k| {
                let pk = match k.get("pk") {
                    Some(AttributeValue::S(pk)) => pk.clone(),
                    _ => String::new(),
                };
                !named.contains(&(pk, sk_of(k)))
            })
            .map(|key| Garbage { key, bytes: 1 })
            .collect();
        self.delete_items(orphans).await;
    }

    /// After a commit landed: deletes the buckets of the revisions it replaced.
    pub(super) async fn collect_garbage(&self, rows: &[StateRows]) {
        let garbage: Vec<Garbage> = rows.iter().flat_map(|r| r.garbage.clone()).collect();
        self.delete_items(garbage).await;
    }

    /// The bucket keys the state row `pk` names now.
    async fn named_buckets(&self, pk: &str) -> Result<Vec<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk.to_owned()))
            .key("sk", AttributeValue::S(STATE_SK.into()))
            .projection_expression("buckets")
            .consistent_read(true)
            .send()
            .await
            .map_err(request_error)?;
        match out.item.and_then(|mut i| i.remove("buckets")) {
            Some(AttributeValue::B(bytes)) => read_manifest(bytes.as_ref())
                .map(|m| bucket_keys(pk, &m))
                // Unreadable: what it names is unknown, so nothing may be deleted.
                .ok_or_else(|| StoreError::Request(format!("{pk}: unreadable bucket manifest"))),
            _ => Ok(Vec::new()),
        }
    }

    /// Deletes items no row names, best effort: one left behind costs storage, not
    /// correctness (nothing will ever name it), so a failure is logged, not raised.
    async fn delete_items(&self, items: Vec<Garbage>) {
        if items.is_empty() {
            return;
        }
        for chunk in items.chunks(BATCH_WRITE) {
            if let Err(e) = self.delete_batch(chunk).await {
                tracing::warn!(error = %e, items = chunk.len(), "superseded state items not deleted; they stay unreferenced");
            }
        }
    }

    async fn delete_batch(&self, chunk: &[Garbage]) -> Result<(), StoreError> {
        use aws_sdk_dynamodb::types::{DeleteRequest, WriteRequest};
        let mut requests = chunk
            .iter()
            .map(|g| {
                DeleteRequest::builder()
                    .set_key(Some(g.key.clone()))
                    .build()
                    .map(|d| WriteRequest::builder().delete_request(d).build())
                    .map_err(|e| StoreError::Request(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        for g in chunk {
            self.count_units(g.bytes, false);
        }
        // DynamoDB may hand back some of a batch unprocessed: they are sent again.
        for _ in 0..5 {
            let out = self
                .client
                .batch_write_item()
                .request_items(&self.table, requests)
                .send()
                .await
                .map_err(request_error)?;
            requests = out
                .unprocessed_items
                .and_then(|mut u| u.remove(&self.table))
                .unwrap_or_default();
            if requests.is_empty() {
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        Err(StoreError::Request(format!(
            "{} deletes left unprocessed",
            requests.len()
        )))
    }
}

impl DynamoStore {
    /// The bucket items of `pk` among `keys` this store holds, and the keys it does not.
    pub(super) fn cached_buckets(&self, pk: &str, keys: Vec<Item>) -> (Vec<Item>, Vec<Item>) {
        let cache = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let Some(held) = cache.get(pk) else {
            return (Vec::new(), keys);
        };
        let (mut found, mut missing) = (Vec::new(), Vec::new());
        for key in keys {
            match held.get(&sk_of(&key)) {
                Some(text) => {
                    let mut item = key;
                    item.insert("text".into(), AttributeValue::S(text.clone()));
                    found.push(item);
                }
                None => missing.push(key),
            }
        }
        (found, missing)
    }

    /// Keeps bucket items of `pk`: after a read, exactly those its row names (`replace`);
    /// after a commit, beside them, the ones it put.
    pub(super) fn remember_buckets(&self, pk: &str, items: Vec<Item>, replace: bool) {
        let mut cache = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        // Only states of several buckets (a fleet), and only a few of them: a store that
        // meets many bucketed states (large contacts, say) must not grow without bound.
        if replace && items.len() < CACHED_MIN_BUCKETS {
            cache.remove(pk);
            return;
        }
        if !cache.contains_key(pk) && cache.len() >= CACHED_STATES {
            cache.clear();
        }
        let held = cache.entry(pk.to_owned()).or_default();
        if replace {
            held.clear();
        }
        for mut item in items {
            if let Some(AttributeValue::S(text)) = item.remove("text") {
                held.insert(sk_of(&item), text);
            }
        }
    }

    /// After a commit landed: the buckets it put are what its state's next read needs.
    pub(super) fn remember_written(&self, rows: &[StateRows]) {
        let cached = |r: &&StateRows| {
            r.revision.buckets.as_ref().is_some_and(|b| {
                b.fields.values().map(Vec::len).sum::<usize>() >= CACHED_MIN_BUCKETS
            })
        };
        for rows in rows
            .iter()
            .filter(|r| !r.bucket_puts.is_empty())
            .filter(cached)
        {
            if let Some(AttributeValue::S(pk)) = rows.row.item.get("pk") {
                self.remember_buckets(pk, rows.bucket_puts.clone(), false);
            }
        }
    }
}

fn key_of(item: &Item) -> Item {
    ["pk", "sk"]
        .into_iter()
        .filter_map(|k| item.get(k).map(|v| (k.to_owned(), v.clone())))
        .collect()
}

fn sk_of(item: &Item) -> String {
    match item.get("sk") {
        Some(AttributeValue::S(sk)) => sk.clone(),
        _ => String::new(),
    }
}
