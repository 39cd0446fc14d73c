//! What the webhook benches share (included by path from each function's bench): one
//! delivery through the real pipeline with the store's network taken out, and a timer that
//! reports percentiles of individually timed iterations.
//!
//! Each measure ends with one line `perf-result {json}` on stdout, read by `scripts/perf`.

#![allow(dead_code)]

use dialtone_shared::alert::Alert;
use dialtone_shared::pipeline::{ingest, Receiver};
use dialtone_shared::store::{
    Commit, CommitOutcome, CounterBump, EventStore, Quarantine, StateWrite, StoreError, Versioned,
};
use lambda_http::Request;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// An API Gateway v2 event from `events/`, as the runtime hands it to the handler.
pub fn request(event_json: &str) -> Request {
    lambda_http::request::from_str(event_json).expect("an API Gateway v2 event")
}

/// The store side of a bench, without the network: the i-th state read gets the i-th of
/// the given rows (decoded from JSON, as the real store decodes its items), and the commit
/// is kept, not sent. Everything before and around it is the real pipeline.
struct Preloaded {
    states: Mutex<Vec<Option<serde_json::Value>>>,
    reads: AtomicUsize,
    committed: Mutex<Option<Commit>>,
}

impl EventStore for Preloaded {
    async fn load_state<T: DeserializeOwned + Send>(
        &self,
        _key: &str,
    ) -> Result<Option<Versioned<T>>, StoreError> {
        let read = self.reads.fetch_add(1, Ordering::Relaxed);
        let stored = self
            .states
            .lock()
            .expect("states")
            .get_mut(read)
            .and_then(Option::take);
        match stored {
            None => Ok(None),
            Some(value) => serde_json::from_value(value)
                .map(|value| Some(Versioned { version: 1, value }))
                .map_err(|e| StoreError::Request(e.to_string())),
        }
    }
    async fn commit(&self, commit: Commit) -> Result<CommitOutcome, StoreError> {
        *self.committed.lock().expect("commit") = Some(commit);
        Ok(CommitOutcome::Committed)
    }
    async fn quarantine(&self, _item: Quarantine) -> Result<(), StoreError> {
        panic!("the bench's request was refused")
    }
    async fn count_once(
        &self,
        _source: &'static str,
        _keys: &[String],
        _counters: &[CounterBump],
        _now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<usize>, StoreError> {
        Ok(Vec::new())
    }
    async fn save_state(&self, _write: StateWrite) -> Result<bool, StoreError> {
        Ok(true)
    }
    async fn stored_reply(
        &self,
        _source: &'static str,
        _dedup_key: &str,
    ) -> Result<Option<serde_json::Value>, StoreError> {
        Ok(None)
    }
    async fn bump(&self, bump: &CounterBump) -> Result<BTreeMap<String, i64>, StoreError> {
        Ok(bump.adds.clone())
    }
    async fn read_counter(&self, _key: &str) -> Result<BTreeMap<String, i64>, StoreError> {
        Ok(BTreeMap::new())
    }
    async fn put_alert_once(&self, _alert: &Alert) -> Result<bool, StoreError> {
        Ok(true)
    }
}

thread_local! {
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
}

/// One delivery through the real pipeline (`pipeline::ingest`: verify, parse, read the
/// state rows, decide, build the commit, answer), with `stored` as the state rows it reads
/// (as JSON: it decodes them as the store decodes its items); returns the commit it would
/// have written. The request is cloned for it, as the runtime hands each invocation its own.
pub fn handle<R: Receiver>(
    receiver: &R,
    request: &Request,
    stored: Vec<Option<serde_json::Value>>,
) -> Commit {
    let store = Preloaded {
        states: Mutex::new(stored),
        reads: AtomicUsize::new(0),
        committed: Mutex::new(None),
    };
    let response = RUNTIME.with(|rt| rt.block_on(ingest(receiver, &store, request.clone())));
    assert_eq!(response.status(), 200, "the bench's request was accepted");
    black_box(response);
    store
        .committed
        .into_inner()
        .expect("commit")
        .expect("the pipeline committed")
}

/// Percentiles of individually timed iterations, in nanoseconds.
pub struct Timings {
    pub sorted_ns: Vec<u64>,
}

impl Timings {
    pub fn percentile(&self, p: f64) -> u64 {
        let n = self.sorted_ns.len();
        let rank = ((n as f64) * p / 100.0).ceil().max(1.0) as usize;
        self.sorted_ns[rank.min(n) - 1]
    }
}

/// Runs `work` `warmup` times untimed, then `iterations` times, each timed on its own.
pub fn time_each<T>(warmup: usize, iterations: usize, mut work: impl FnMut() -> T) -> Timings {
    for _ in 0..warmup {
        black_box(work());
    }
    let mut sorted_ns = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let start = Instant::now();
        black_box(work());
        sorted_ns.push(start.elapsed().as_nanos() as u64);
    }
    sorted_ns.sort_unstable();
    Timings { sorted_ns }
}

/// The calling thread's CPU time so far (the scheduler's own count, in nanoseconds).
pub fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .expect("/proc/thread-self/schedstat")
}

/// Runs `work` `iterations` times after one untimed run, each measured in thread CPU time;
/// what `setup` makes for each run (a copy of its input) is not counted, freeing what
/// `work` returns is.
pub fn cpu_each<I, T>(
    iterations: usize,
    mut setup: impl FnMut() -> I,
    mut work: impl FnMut(I) -> T,
) -> Timings {
    black_box(work(setup()));
    let mut sorted_ns = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let input = setup();
        let start = thread_cpu_ns();
        drop(black_box(work(input)));
        sorted_ns.push(thread_cpu_ns() - start);
    }
    sorted_ns.sort_unstable();
    Timings { sorted_ns }
}

/// Prints the figures of one measure: a line for people, a `perf-result` line for
/// `scripts/perf`.
pub fn report(measure: &str, timings: &Timings, extra: &[(&str, String)]) {
    let us = |ns: u64| ns as f64 / 1000.0;
    let (p50, p99, max) = (
        timings.percentile(50.0),
        timings.percentile(99.0),
        timings.percentile(100.0),
    );
    println!(
        "{measure}: {} iterations, p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs",
        timings.sorted_ns.len(),
        us(p50),
        us(p99),
        us(max)
    );
    let mut fields = vec![
        format!("\"measure\":{measure:?}"),
        format!("\"iterations\":{}", timings.sorted_ns.len()),
        format!("\"p50_us\":{:.2}", us(p50)),
        format!("\"p99_us\":{:.2}", us(p99)),
        format!("\"max_us\":{:.2}", us(max)),
    ];
    fields.extend(extra.iter().map(|(k, v)| format!("{k:?}:{v}")));
    println!("perf-result {{{}}}", fields.join(","));
}

/// Iterations for the webhook benches: `PERF_ITERATIONS`, or 20 000.
pub fn iterations() -> usize {
    std::env::var("PERF_ITERATIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000)
}

/// A `cargo bench` run passes `--bench`; any other argument is a filter on measure names.
pub fn selected(measure: &str) -> bool {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    filters.is_empty() || filters.iter().any(|f| measure.contains(f.as_str()))
}
