//! The pipeline without a network: an [`EventStore`] that holds what it is given and keeps
//! what it is sent in memory, and a way to run the pipeline's future to its end without a
//! runtime. The benchmarks (CPU per webhook, network excluded) and the fuzz targets run the
//! real pipeline (`pipeline::handle`) against it.

use chrono::{DateTime, Utc};
use dialtone_shared::alert::Alert;
use dialtone_shared::pipeline::{handle, Receiver};
use dialtone_shared::store::{
    Commit, CommitOutcome, CounterBump, CounterKey, EventStore, Quarantine, Revision, StateJson,
    StateKey, StateWrite, StoreError, StoredReply, Versioned, COUNTER_TOTAL,
};
use lambda_http::{Body, Request, Response};
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

/// The i-th state read gets the i-th of the given rows, decoded from their JSON text as the
/// DynamoDB store decodes a state kept in parts (the large ones, whose cost the benchmarks
/// are after); every write succeeds; the last commit is kept; every counter reads as
/// `counters` (1 unless set: no threshold is reached).
pub struct OfflineStore {
    states: Mutex<Vec<Option<StateJson>>>,
    reads: AtomicUsize,
    committed: Mutex<Option<Commit>>,
    counters: i64,
}

impl OfflineStore {
    pub fn new(states: Vec<Option<StateJson>>) -> Self {
        Self {
            states: Mutex::new(states),
            reads: AtomicUsize::new(0),
            committed: Mutex::new(None),
            counters: 1,
        }
    }

    /// Counters read as `total` (e.g. `i64::MAX`, so every threshold's alert is built too).
    pub fn with_counters_at(mut self, total: i64) -> Self {
        self.counters = total;
        self
    }

    /// The last commit the pipeline sent, if any.
    pub fn into_commit(self) -> Option<Commit> {
        self.committed
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn counter(&self) -> BTreeMap<String, i64> {
        BTreeMap::from([(COUNTER_TOTAL.to_owned(), self.counters)])
    }
}

impl EventStore for OfflineStore {
    async fn load_state<T: DeserializeOwned + Send>(
        &self,
        _key: &StateKey,
    ) -> Result<Option<Versioned<T>>, StoreError> {
        let read = self.reads.fetch_add(1, Ordering::Relaxed);
        let stored = self
            .states
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get_mut(read)
            .and_then(Option::take);
        match stored {
            None => Ok(None),
            Some(state) => serde_json::from_str(state.text())
                .map(|value| {
                    Some(Versioned {
                        revision: Revision::in_row(1),
                        value,
                    })
                })
                .map_err(|e| StoreError::Request(format!("stored state unreadable: {e}"))),
        }
    }
    async fn commit(&self, commit: Commit) -> Result<CommitOutcome, StoreError> {
        *self
            .committed
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(commit);
        Ok(CommitOutcome::Committed)
    }
    async fn quarantine(&self, _item: Quarantine) -> Result<(), StoreError> {
        Ok(())
    }
    async fn count_once(
        &self,
        _source: &'static str,
        _keys: &[String],
        _counters: &[CounterBump],
        _now: DateTime<Utc>,
    ) -> Result<Vec<usize>, StoreError> {
        Ok(Vec::new())
    }
    /// Always saved, at the next version and without parts: nothing offline conflicts.
    async fn save_state(&self, write: StateWrite) -> Result<Option<Revision>, StoreError> {
        Ok(Some(Revision::in_row(Revision::next_version(
            write.replaces.as_ref(),
        ))))
    }
    async fn stored_reply(
        &self,
        _source: &'static str,
        _dedup_key: &str,
    ) -> Result<Option<StoredReply>, StoreError> {
        Ok(None)
    }
    async fn read_counter(&self, _key: &CounterKey) -> Result<BTreeMap<String, i64>, StoreError> {
        Ok(self.counter())
    }
    async fn put_alert_once(&self, _alert: &Alert) -> Result<bool, StoreError> {
        Ok(true)
    }
}

/// Runs a future whose only waits are on an [`OfflineStore`]: those are ready at once, so
/// one poll finishes it. Panics if it waits on anything else.
pub fn run_to_end<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the pipeline waited on something other than the store"),
    }
}

/// The pipeline's answer alone, run to its end against `store` (the benchmarks, the fuzz
/// targets).
pub fn ingest<R: Receiver, S: EventStore>(
    receiver: &R,
    store: &S,
    request: Request,
) -> Response<Body> {
    run_to_end(handle(receiver, store, request)).response
}

#[cfg(test)]
#[path = "offline_test.rs"]
mod tests;
