//! What the webhook benches share: one delivery through the real pipeline with the store's network taken out, and a timer that
//! reports percentiles of individually timed iterations: their thread CPU time (the
//! measure), and their wall time beside it.
//!
//! Each measure ends with one line `perf-result {json}` on stdout, read by `scripts/perf`.

use crate::cpu::thread_cpu;
use crate::offline::{ingest, OfflineStore};
use dialtone_shared::pipeline::Receiver;
use dialtone_shared::store::{Commit, StateJson};
use lambda_http::Request;
use std::hint::black_box;
use std::time::Instant;

/// An API Gateway v2 event from `events/`, as the runtime hands it to the handler.
pub fn request(event_json: &str) -> Request {
    lambda_http::request::from_str(event_json).expect("an API Gateway v2 event")
}

/// One delivery through the real pipeline (`pipeline::handle`: verify, parse, read the
/// state rows, decide, build the commit, answer) against an [`OfflineStore`] holding
/// `stored` as the state rows it reads (their JSON text, decoded as the DynamoDB store
/// decodes a state kept in parts); returns the commit it would have written. The request is cloned for
/// it, as the runtime hands each invocation its own.
pub fn handle<R: Receiver>(
    receiver: &R,
    request: &Request,
    stored: Vec<Option<StateJson>>,
) -> Commit {
    let store = OfflineStore::new(stored);
    let response = ingest(receiver, &store, request.clone());
    assert_eq!(response.status(), 200, "the bench's request was accepted");
    black_box(response);
    store.into_commit().expect("the pipeline committed")
}

/// Individually timed iterations, in nanoseconds: thread CPU time, and wall time when it
/// was taken too.
pub struct Timings {
    pub sorted_ns: Vec<u64>,
    pub wall_sorted_ns: Vec<u64>,
}

/// The value at percentile `p` of sorted nanoseconds.
fn percentile(sorted_ns: &[u64], p: f64) -> u64 {
    let n = sorted_ns.len();
    let rank = ((n as f64) * p / 100.0).ceil().max(1.0) as usize;
    sorted_ns[rank.min(n) - 1]
}

impl Timings {
    pub fn percentile(&self, p: f64) -> u64 {
        percentile(&self.sorted_ns, p)
    }
}

fn cpu_ns() -> u64 {
    thread_cpu().as_nanos() as u64
}

/// Runs `work` `warmup` times untimed, then `iterations` times, each timed on its own, in
/// thread CPU time and in wall time.
pub fn time_each<T>(warmup: usize, iterations: usize, mut work: impl FnMut() -> T) -> Timings {
    for _ in 0..warmup {
        black_box(work());
    }
    let mut sorted_ns = Vec::with_capacity(iterations);
    let mut wall_sorted_ns = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let (wall, cpu) = (Instant::now(), cpu_ns());
        black_box(work());
        sorted_ns.push(cpu_ns() - cpu);
        wall_sorted_ns.push(wall.elapsed().as_nanos() as u64);
    }
    sorted_ns.sort_unstable();
    wall_sorted_ns.sort_unstable();
    Timings {
        sorted_ns,
        wall_sorted_ns,
    }
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
        let start = cpu_ns();
        drop(black_box(work(input)));
        sorted_ns.push(cpu_ns() - start);
    }
    sorted_ns.sort_unstable();
    Timings {
        sorted_ns,
        wall_sorted_ns: Vec::new(),
    }
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
    let wall = &timings.wall_sorted_ns;
    let wall_text = if wall.is_empty() {
        String::new()
    } else {
        format!(
            " (wall time p50 {:.1} µs, p99 {:.1} µs)",
            us(percentile(wall, 50.0)),
            us(percentile(wall, 99.0))
        )
    };
    println!(
        "{measure}: {} iterations, CPU p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs{wall_text}",
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
    if !wall.is_empty() {
        fields.push(format!("\"wall_p99_us\":{:.2}", us(percentile(wall, 99.0))));
    }
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
