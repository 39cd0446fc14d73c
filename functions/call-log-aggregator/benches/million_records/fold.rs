//! dialtone's side: the pages read as the aggregator's client reads Exotel
//! (`records::read_page`), folded into `Aggregate`, one page in memory at a time.

use super::generate::{next_page_file, page_file, FIRST_PAGE};
use super::Result;
use dialtone_shared::call_log::metrics::Metrics;
use dialtone_shared::call_log::records::{self, CallRecord, RecordError};
use dialtone_testkit::call_log::Aggregate;
use dialtone_testkit::cpu::thread_cpu;
use serde::{Deserialize, Serialize};
use std::fs::{self, File};
use std::io::Read;
use std::path::Path;

/// What either side reports (the Python script prints the same fields).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Report {
    pub side: String,
    pub records: u64,
    #[serde(default)]
    pub pages: u64,
    #[serde(default)]
    pub bytes: u64,
    #[serde(default)]
    pub unreadable: u64,
    #[serde(default)]
    pub days: u64,
    pub total: u64,
    pub answered: u64,
    pub missed: u64,
    pub busy: u64,
    pub failed: u64,
    pub answered_seconds: u64,
    pub hourly: Vec<u64>,
    pub answer_rate: String,
    pub avg_duration_seconds: u64,
    pub avg_duration_formatted: String,
    pub peak_hour: Option<u32>,
    pub cpu_seconds: f64,
    /// Of `cpu_seconds`, reading the page files: what an HTTP fetch costs in production,
    /// the same bytes on both sides.
    #[serde(default)]
    pub read_cpu_seconds: f64,
    pub peak_rss_kib: u64,
}

impl Report {
    /// The CPU of parsing and aggregating alone: the process's, less reading the pages.
    pub fn parse_aggregate_cpu_seconds(&self) -> f64 {
        self.cpu_seconds - self.read_cpu_seconds
    }
}

/// One record as the aggregator's client reads it, borrowing from the page.
type ReadCall<'a> = Result<CallRecord<'a>, RecordError>;

/// One page exactly as the aggregator's client reads it (`records::read_page`).
pub fn read_page(body: &[u8]) -> Result<(Vec<ReadCall<'_>>, Option<String>)> {
    let page = records::read_page(body)?;
    Ok((page.calls, page.next_page_uri))
}

pub fn fold_page(aggregate: &mut Aggregate, calls: &[ReadCall<'_>]) {
    for call in calls {
        match call {
            Ok(call) => aggregate.add(call),
            Err(e) => aggregate.add_unreadable(e),
        }
    }
}

/// Follows `NextPageUri` from the first page, one page in memory at a time.
pub fn fold_dir(dir: &Path) -> Result<Report> {
    let mut aggregate = Aggregate::default();
    let mut body = Vec::with_capacity(256 * 1024);
    let (mut pages, mut bytes) = (0, 0);
    let mut read_cpu = std::time::Duration::ZERO;
    let mut next = Some(dir.join(FIRST_PAGE));
    while let Some(path) = next.take() {
        body.clear();
        let before = thread_cpu();
        File::open(&path)
            .and_then(|mut f| f.read_to_end(&mut body))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        read_cpu += thread_cpu().saturating_sub(before);
        bytes += body.len() as u64;
        pages += 1;
        let (calls, uri) = read_page(&body).map_err(|e| format!("{}: {e}", path.display()))?;
        fold_page(&mut aggregate, &calls);
        next = uri.map(|u| next_page_file(dir, &u)).transpose()?;
    }
    let mut report = summarise(&aggregate);
    report.pages = pages;
    report.bytes = bytes;
    let (cpu_seconds, peak_rss_kib) = own_usage()?;
    report.cpu_seconds = cpu_seconds;
    report.read_cpu_seconds = read_cpu.as_secs_f64();
    report.peak_rss_kib = peak_rss_kib;
    Ok(report)
}

/// Where dialtone's CPU goes: the same pages read, read into records, and folded, one
/// stage more each pass (the page cache is warm after the first).
pub fn phases(dir: &Path) -> Result<()> {
    let mut previous = own_usage()?.0;
    for stage in 0..3 {
        let mut aggregate = Aggregate::default();
        let mut body = Vec::with_capacity(256 * 1024);
        let mut records = 0;
        let mut next = Some(dir.join(FIRST_PAGE));
        while let Some(path) = next.take() {
            body.clear();
            File::open(&path)?.read_to_end(&mut body)?;
            next = if stage == 0 {
                let n: u64 = path
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .and_then(|s| s.strip_prefix("page-"))
                    .and_then(|s| s.parse().ok())
                    .ok_or("page name")?;
                Some(dir.join(page_file(n + 1))).filter(|p| p.exists())
            } else {
                let (calls, uri) = read_page(&body)?;
                records += calls.len();
                if stage == 2 {
                    fold_page(&mut aggregate, &calls);
                }
                uri.map(|u| next_page_file(dir, &u)).transpose()?
            };
        }
        let now = own_usage()?.0;
        let name = [
            "read the files",
            "+ records::read_page",
            "+ Aggregate::add (= fold)",
        ][stage];
        println!("{name:<30}{:>7.2} s CPU  {records} records", now - previous);
        previous = now;
    }
    pages_in_memory(dir)
}

/// The first pages, in memory, read by `read_page`: thread CPU, the best of a few rounds,
/// so the kernel and the disk stay out of it.
fn pages_in_memory(dir: &Path) -> Result<()> {
    const PAGES: u64 = 1_000;
    const ROUNDS: usize = 5;
    let pages: Vec<Vec<u8>> = (0..PAGES)
        .map(|n| dir.join(page_file(n)))
        .take_while(|path| path.exists())
        .map(fs::read)
        .collect::<Result<_, _>>()?;
    let bytes: usize = pages.iter().map(Vec::len).sum();
    let mut best = f64::INFINITY;
    let mut records = 0;
    for _ in 0..ROUNDS {
        let start = thread_cpu();
        records = pages
            .iter()
            .map(|page| records::read_page(page).map_or(0, |page| page.calls.len()))
            .sum::<usize>();
        best = best.min((thread_cpu() - start).as_secs_f64());
    }
    println!(
        "{} pages in memory ({:.1} MB), best of {ROUNDS}:",
        pages.len(),
        bytes as f64 / 1e6
    );
    println!(
        "  {:<34}{best:>7.3} s CPU  {:>6.0} MB/s  {records} records",
        "records::read_page (serde_json)",
        bytes as f64 / 1e6 / best
    );
    Ok(())
}

pub fn summarise(aggregate: &Aggregate) -> Report {
    let mut all = Metrics::default();
    for day in aggregate.days.values() {
        all += &day.all;
    }
    let unreadable = aggregate.unreadable.values().sum();
    let avg = all.average_answered_seconds().unwrap_or(0);
    Report {
        side: "dialtone".into(),
        records: all.total + unreadable,
        unreadable,
        days: aggregate.days.len() as u64,
        total: all.total,
        answered: all.answered,
        missed: all.missed,
        busy: all.busy,
        failed: all.failed,
        answered_seconds: all.answered_seconds,
        hourly: all.hourly.to_vec(),
        answer_rate: format!("{:.1}", all.answer_rate().unwrap_or(0.0)),
        avg_duration_seconds: avg,
        avg_duration_formatted: dialtone_shared::call_log::metrics::format_duration(avg),
        peak_hour: all.peak_hour(),
        ..Report::default()
    }
}

/// This process's CPU seconds (user + system, `/proc/self/stat`, in USER_HZ = 100 ticks)
/// and peak RSS in KiB (`VmHWM`), the same counters `getrusage` reports.
fn own_usage() -> Result<(f64, u64)> {
    let stat = fs::read_to_string("/proc/self/stat")?;
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of proc(5), counted from 3 (the state) after the name.
    let ticks = |i: usize| -> Result<u64> {
        Ok(fields
            .get(i)
            .ok_or("short /proc/self/stat")?
            .parse::<u64>()?)
    };
    let cpu = (ticks(11)? + ticks(12)?) as f64 / 100.0;
    let status = fs::read_to_string("/proc/self/status")?;
    let hwm = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .ok_or("no VmHWM in /proc/self/status")?;
    Ok((cpu, hwm))
}
