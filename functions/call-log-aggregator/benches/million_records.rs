//! One million Exotel Bulk Call Details records, folded by dialtone and by the Exotel
//! tutorial's Python loop on the same JSON pages, side by side: CPU time, wall time and peak
//! RSS of each, the CPU ratio, and whether both arrive at the same totals.
//!
//! `scripts/bench-aggregate [records]` (or `cargo bench -p call-log-aggregator --bench
//! million_records -- compare [records]`). Modes:
//!
//! - `compare [records]`: generates the pages if missing, runs `fold` and
//!   `bench/tutorial_aggregate.py` as child processes, prints the table; exits 1 when the
//!   totals disagree.
//! - `generate [records]`: only the pages (reused when already there with the same
//!   parameters).
//! - `fold <dir>`: dialtone's side, page by page, as the aggregator reads Exotel: one page
//!   read with `records::read_page` (the client's own parser: only the fields dialtone uses
//!   are decoded, one bad record never loses the page), folded into `Aggregate`, the page
//!   dropped before the next is read. Prints one JSON line with its totals, its own CPU
//!   seconds (and, apart, those spent reading the page files) and peak RSS.
//! - `phases <dir>`: where `fold`'s CPU goes (reading, `read_page`, `Aggregate::add`), then
//!   the first pages held in memory read by `read_page` (serde_json).
//! - no mode (`cargo test --benches`): a quick self-check on 1 000 records in memory.

#[path = "../../exotel-heartbeat/benches/support/cpu.rs"]
mod cpu;

use chrono::{NaiveDate, NaiveDateTime};
use cpu::thread_cpu;
use dialtone_shared::exotel::metrics::{Aggregate, Metrics};
use dialtone_shared::exotel::records::{self, CallRecord, RecordError};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::error::Error;
use std::fs::{self, File};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

type Result<T, E = Box<dyn Error>> = std::result::Result<T, E>;

const DEFAULT_RECORDS: u64 = 1_000_000;
const PAGE_SIZE: u64 = 100;
const SEED: u64 = 0x00d1_a170_2e5e_ed01;
/// Bump when the generated records change, so older data is not reused.
const GENERATOR_VERSION: u32 = 2;
const MARKER: &str = "GENERATED";
const FIRST_PAGE: &str = "page-000000.json";
const ACCOUNT_SID: &str = "dialtonebench1";
/// The days the calls are spread over (Monday to Sunday, the account's local time).
const FIRST_DAY: (i32, u32, u32) = (2025, 3, 3);
const DAYS: u64 = 7;
/// The targets of the issue.
const TARGET_CPU_RATIO: f64 = 20.0;
const TARGET_RSS_MIB: f64 = 64.0;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let bench = std::env::args().any(|a| a == "--bench");
    let result = match args.first().map(String::as_str) {
        Some("compare") => records_arg(args.get(1)).and_then(compare),
        Some("generate") => records_arg(args.get(1)).and_then(|n| {
            let (dir, data) = ensure_data(n)?;
            println!(
                "{} records, {} pages, {} bytes in {}",
                data.records,
                data.pages,
                data.bytes,
                dir.display()
            );
            Ok(true)
        }),
        Some("phases") => match args.get(1) {
            Some(dir) => phases(Path::new(dir)).map(|()| true),
            None => Err("phases needs the directory of the pages".into()),
        },
        Some("fold") => match args.get(1) {
            Some(dir) => fold_dir(Path::new(dir)).and_then(|report| {
                println!("{}", serde_json::to_string(&report)?);
                Ok(true)
            }),
            None => Err("fold needs the directory of the pages".into()),
        },
        // `cargo bench` without arguments: the whole comparison at a million records.
        None if bench => compare(DEFAULT_RECORDS),
        // `cargo test --benches` runs bench targets without `--bench`: a quick check only.
        None => self_check(),
        Some(other) => Err(format!(
            "unknown mode {other:?}: use compare [records], generate [records] , fold <dir> or phases <dir>"
        )
        .into()),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("million_records: {e}");
            ExitCode::from(2)
        }
    }
}

fn records_arg(arg: Option<&String>) -> Result<u64> {
    match arg {
        None => Ok(DEFAULT_RECORDS),
        Some(s) => match s.replace('_', "").parse::<u64>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!("record count {s:?} is not a positive number").into()),
        },
    }
}

fn repo_root() -> Result<PathBuf> {
    Ok(Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()?)
}

// ---------------------------------------------------------------------------------------
// Data: Exotel-shaped pages of 100 records, deterministic.
// ---------------------------------------------------------------------------------------

/// xorshift64*: small, deterministic, good enough for test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn range(&mut self, low: u64, high: u64) -> u64 {
        low + self.below(high - low + 1)
    }

    fn percent(&mut self, p: u64) -> bool {
        self.below(100) < p
    }

    fn pick<T: Copy, const N: usize>(&mut self, table: &[(u64, T); N]) -> T {
        let sum: u64 = table.iter().map(|(w, _)| w).sum();
        let mut r = self.below(sum);
        for (w, item) in table {
            if r < *w {
                return *item;
            }
            r -= w;
        }
        table[N - 1].1
    }

    fn hex32(&mut self) -> String {
        format!("{:016x}{:016x}", self.next(), self.next())
    }

    fn mobile(&mut self) -> String {
        format!("0{}{:09}", self.range(6, 9), self.below(1_000_000_000))
    }
}

const HOURS: [(u64, u32); 24] = [
    (2, 0),
    (1, 1),
    (1, 2),
    (1, 3),
    (1, 4),
    (2, 5),
    (4, 6),
    (8, 7),
    (18, 8),
    (40, 9),
    (60, 10),
    (66, 11),
    (58, 12),
    (50, 13),
    (56, 14),
    (62, 15),
    (57, 16),
    (45, 17),
    (30, 18),
    (18, 19),
    (12, 20),
    (8, 21),
    (5, 22),
    (3, 23),
];
const WEEKDAYS: [(u64, u64); 7] = [(22, 0), (20, 1), (20, 2), (19, 3), (18, 4), (8, 5), (4, 6)];
const STATUSES: [(u64, &str); 5] = [
    (65, "completed"),
    (20, "no-answer"),
    (7, "busy"),
    (5, "failed"),
    (3, "canceled"),
];
const DIRECTIONS: [(u64, &str); 3] = [(50, "inbound"), (25, "outbound-dial"), (25, "outbound-api")];
const EXOPHONES: [(u64, &str); 5] = [
    (40, "08047091234"),
    (25, "08047095678"),
    (15, "02248901122"),
    (12, "04049012233"),
    (8, "07941057788"),
];

fn first_day() -> Result<NaiveDateTime> {
    let (y, m, d) = FIRST_DAY;
    NaiveDate::from_ymd_opt(y, m, d)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .ok_or_else(|| "bad FIRST_DAY".into())
}

fn stamp(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

fn calls_path() -> String {
    format!("/v1/Accounts/{ACCOUNT_SID}/Calls.json")
}

/// The query every page of the run shares (the range as the aggregator asks it).
fn calls_query() -> Result<String> {
    let from = first_day()?;
    let to = from + chrono::Duration::seconds((DAYS * 86_400 - 1) as i64);
    Ok(format!(
        "DateCreated=gte%3A{}%3Blte%3A{}&PageSize={PAGE_SIZE}&SortBy=DateCreated%3Aasc",
        stamp(from).replace(' ', "+").replace(':', "%3A"),
        stamp(to).replace(' ', "+").replace(':', "%3A"),
    ))
}

/// Exotel's cursor (`After=`/`Before=` a Sid); here it also carries `Page=<n>`, which both
/// sides map to `page-<n>.json` (the bench's stand-in for the HTTP request).
fn page_uri(query: &str, page: u64, cursor: &str) -> String {
    format!("{}?{query}&{cursor}&Page={page}", calls_path())
}

fn page_file(page: u64) -> String {
    format!("page-{page:06}.json")
}

/// The file a `NextPageUri` leads to.
fn next_page_file(dir: &Path, uri: &str) -> Result<PathBuf> {
    let query = uri.split_once('?').map_or("", |(_, q)| q);
    let page = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("Page="))
        .and_then(|n| n.parse::<u64>().ok())
        .ok_or_else(|| format!("NextPageUri {uri:?} has no Page=<n>"))?;
    Ok(dir.join(page_file(page)))
}

/// Call creation times, seconds after `FIRST_DAY` midnight, oldest first (as the aggregator
/// asks for them: `SortBy=DateCreated:asc`).
fn creation_offsets(rng: &mut Rng, records: u64) -> Vec<u32> {
    let mut offsets: Vec<u32> = (0..records)
        .map(|_| {
            let day = rng.pick(&WEEKDAYS) % DAYS;
            let hour = u64::from(rng.pick(&HOURS));
            (day * 86_400 + hour * 3_600 + rng.below(3_600)) as u32
        })
        .collect();
    offsets.sort_unstable();
    offsets
}

/// One record, its fields in the order Exotel gives them.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct CallOut {
    sid: String,
    parent_call_sid: &'static str,
    date_created: String,
    date_updated: String,
    account_sid: &'static str,
    to: String,
    from: String,
    phone_number_sid: &'static str,
    status: &'static str,
    start_time: String,
    end_time: String,
    duration: Value,
    price: Value,
    direction: &'static str,
    answered_by: Value,
    forwarded_from: Value,
    caller_name: Value,
    uri: String,
    recording_url: Value,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct MetadataOut {
    total: Value,
    page_size: u64,
    first_page_uri: String,
    prev_page_uri: Option<String>,
    next_page_uri: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct PageOut {
    metadata: MetadataOut,
    calls: Vec<CallOut>,
}

fn call(rng: &mut Rng, created: NaiveDateTime, agents: &[String]) -> CallOut {
    let sid = rng.hex32();
    let status = rng.pick(&STATUSES);
    let direction = rng.pick(&DIRECTIONS);
    let exophone = rng.pick(&EXOPHONES);
    let customer = rng.mobile();
    let (from, to) = match direction {
        "inbound" => (customer, exophone.to_owned()),
        _ => (
            agents[rng.below(agents.len() as u64) as usize].clone(),
            customer,
        ),
    };
    let ring = rng.range(3, 40);
    let talk = match status {
        "completed" if rng.percent(80) => rng.range(8, 400),
        "completed" => rng.range(400, 1_800),
        _ => 0,
    };
    let start = created + chrono::Duration::seconds(rng.range(0, 2) as i64);
    let end = start + chrono::Duration::seconds((ring + talk) as i64);
    let updated = end + chrono::Duration::seconds(rng.range(1, 6) as i64);
    // As real records come: strings, numbers, and null where nothing was talked.
    let duration = match (status, rng.below(100)) {
        ("completed", 0..=54) => json!(talk.to_string()),
        ("completed", _) => json!(talk),
        (_, 0..=49) => Value::Null,
        (_, 50..=74) => json!("0"),
        _ => json!(0),
    };
    let price = match status {
        "completed" => json!(format!("{:.2}", 0.60 * talk.div_ceil(60) as f64)),
        _ => Value::Null,
    };
    let recording = match status {
        "completed" if rng.percent(80) => json!(format!(
            "https://s3-ap-southeast-1.amazonaws.com/exotelrecordings/{ACCOUNT_SID}/{sid}.mp3"
        )),
        _ => Value::Null,
    };
    CallOut {
        uri: format!("{}/{sid}.json", calls_path().trim_end_matches(".json")),
        sid,
        parent_call_sid: "",
        date_created: stamp(created),
        date_updated: stamp(updated),
        account_sid: ACCOUNT_SID,
        to,
        from,
        phone_number_sid: exophone,
        status,
        start_time: stamp(start),
        end_time: stamp(end),
        duration,
        price,
        direction,
        answered_by: match status {
            "completed" => json!("human"),
            _ => Value::Null,
        },
        forwarded_from: match rng.percent(3) {
            true => json!(rng.mobile()),
            false => Value::Null,
        },
        caller_name: Value::Null,
        recording_url: recording,
    }
}

/// The pages of `records` calls, one at a time, as Exotel answers them.
struct Pages {
    rng: Rng,
    offsets: Vec<u32>,
    base: NaiveDateTime,
    query: String,
    agents: Vec<String>,
    page: u64,
}

impl Pages {
    fn new(records: u64) -> Result<Self> {
        let mut rng = Rng(SEED);
        let offsets = creation_offsets(&mut rng, records);
        let agents = (0..40).map(|_| rng.mobile()).collect();
        Ok(Self {
            rng,
            offsets,
            base: first_day()?,
            query: calls_query()?,
            agents,
            page: 0,
        })
    }

    fn page_count(&self) -> u64 {
        (self.offsets.len() as u64).div_ceil(PAGE_SIZE)
    }
}

impl Iterator for Pages {
    type Item = PageOut;

    fn next(&mut self) -> Option<PageOut> {
        let page = self.page;
        let start = (page * PAGE_SIZE) as usize;
        let chunk = self.offsets.get(start..)?;
        if chunk.is_empty() {
            return None;
        }
        let chunk = &chunk[..chunk.len().min(PAGE_SIZE as usize)];
        let calls: Vec<CallOut> = chunk
            .iter()
            .map(|&s| {
                let created = self.base + chrono::Duration::seconds(i64::from(s));
                call(&mut self.rng, created, &self.agents)
            })
            .collect();
        let before = format!("Before={}", calls.first().map_or("", |c| c.sid.as_str()));
        let after = format!("After={}", calls.last().map_or("", |c| c.sid.as_str()));
        let metadata = MetadataOut {
            // Exotel leaves the total out unless asked for it.
            total: Value::Null,
            page_size: PAGE_SIZE,
            first_page_uri: format!("{}?{}", calls_path(), self.query),
            prev_page_uri: page
                .checked_sub(1)
                .map(|p| page_uri(&self.query, p, &before)),
            next_page_uri: Some(page + 1)
                .filter(|&p| p < self.page_count())
                .map(|p| page_uri(&self.query, p, &after)),
        };
        self.page += 1;
        Some(PageOut { metadata, calls })
    }
}

#[derive(Debug, PartialEq)]
struct DataSet {
    records: u64,
    pages: u64,
    bytes: u64,
}

fn marker_line(records: u64) -> String {
    format!("version={GENERATOR_VERSION} seed={SEED:#x} records={records} page_size={PAGE_SIZE}")
}

/// The pages for `records` calls under `target/bench-data/`, generated unless a complete
/// set with the same parameters is already there.
fn ensure_data(records: u64) -> Result<(PathBuf, DataSet)> {
    let dir = repo_root()?.join(format!(
        "target/bench-data/exotel-calls-v{GENERATOR_VERSION}-{records}"
    ));
    let marker = dir.join(MARKER);
    let wanted = marker_line(records);
    if let Ok(text) = fs::read_to_string(&marker) {
        let mut lines = text.lines();
        if lines.next() == Some(wanted.as_str()) {
            let mut numbers = lines
                .next()
                .unwrap_or_default()
                .split(' ')
                .filter_map(|kv| kv.split_once('=').and_then(|(_, v)| v.parse::<u64>().ok()));
            if let (Some(pages), Some(bytes)) = (numbers.next(), numbers.next()) {
                eprintln!("reusing {}", dir.display());
                return Ok((
                    dir,
                    DataSet {
                        records,
                        pages,
                        bytes,
                    },
                ));
            }
        }
    }
    if dir.exists() {
        fs::remove_dir_all(&dir)?;
    }
    fs::create_dir_all(&dir)?;
    eprintln!("generating {records} records into {} …", dir.display());
    let started = Instant::now();
    let mut bytes = 0;
    let mut pages = 0;
    for (n, page) in Pages::new(records)?.enumerate() {
        let path = dir.join(page_file(n as u64));
        let mut out = BufWriter::new(File::create(&path)?);
        serde_json::to_writer(&mut out, &page)?;
        out.flush()?;
        bytes += fs::metadata(&path)?.len();
        pages += 1;
    }
    fs::write(&marker, format!("{wanted}\npages={pages} bytes={bytes}\n"))?;
    eprintln!(
        "generated {pages} pages, {bytes} bytes in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok((
        dir,
        DataSet {
            records,
            pages,
            bytes,
        },
    ))
}

// ---------------------------------------------------------------------------------------
// dialtone's side.
// ---------------------------------------------------------------------------------------

/// What either side reports (the Python script prints the same fields).
#[derive(Debug, Default, Serialize, Deserialize)]
struct Report {
    side: String,
    records: u64,
    #[serde(default)]
    pages: u64,
    #[serde(default)]
    bytes: u64,
    #[serde(default)]
    unreadable: u64,
    #[serde(default)]
    days: u64,
    total: u64,
    answered: u64,
    missed: u64,
    busy: u64,
    failed: u64,
    answered_seconds: u64,
    hourly: Vec<u64>,
    answer_rate: String,
    avg_duration_seconds: u64,
    avg_duration_formatted: String,
    peak_hour: Option<u32>,
    cpu_seconds: f64,
    /// Of `cpu_seconds`, reading the page files: what an HTTP fetch costs in production,
    /// the same bytes on both sides.
    #[serde(default)]
    read_cpu_seconds: f64,
    peak_rss_kib: u64,
}

impl Report {
    /// The CPU of parsing and aggregating alone: the process's, less reading the pages.
    fn parse_aggregate_cpu_seconds(&self) -> f64 {
        self.cpu_seconds - self.read_cpu_seconds
    }
}

/// One record as the aggregator's client reads it, borrowing from the page.
type ReadCall<'a> = Result<CallRecord<'a>, RecordError>;

/// One page exactly as the aggregator's client reads it (`records::read_page`).
fn read_page(body: &[u8]) -> Result<(Vec<ReadCall<'_>>, Option<String>)> {
    let page = records::read_page(body)?;
    Ok((page.calls, page.next_page_uri))
}

fn fold_page(aggregate: &mut Aggregate, calls: &[ReadCall<'_>]) {
    for call in calls {
        match call {
            Ok(call) => aggregate.add(call),
            Err(e) => aggregate.add_unreadable(e),
        }
    }
}

/// Follows `NextPageUri` from the first page, one page in memory at a time.
fn fold_dir(dir: &Path) -> Result<Report> {
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
fn phases(dir: &Path) -> Result<()> {
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
    readers_side_by_side(dir)
}

/// The pages read, in memory, by `read_page` (serde_json): thread CPU
/// for each, the best of a few rounds, so the kernel and the disk stay out of it.
fn readers_side_by_side(dir: &Path) -> Result<()> {
    const PAGES: u64 = 1_000;
    const ROUNDS: usize = 5;
    let pages: Vec<String> = (0..PAGES)
        .map(|n| dir.join(page_file(n)))
        .take_while(|path| path.exists())
        .map(fs::read_to_string)
        .collect::<Result<_, _>>()?;
    let bytes: usize = pages.iter().map(String::len).sum();
    type Reader = fn(&str) -> usize;
    let readers: [(&str, Reader); 1] = [("records::read_page (serde_json)", |text| {
        records::read_page(text.as_bytes()).map_or(0, |page| page.calls.len())
    })];
    println!(
        "{} pages in memory ({:.1} MB), best of {ROUNDS}:",
        pages.len(),
        bytes as f64 / 1e6
    );
    // Rounds alternate between the readers, so a busy moment of the machine falls on both.
    let mut best = [f64::INFINITY; 1];
    let mut records = [0; 1];
    for _ in 0..ROUNDS {
        for (i, (_, read)) in readers.iter().enumerate() {
            let start = thread_cpu();
            records[i] = pages.iter().map(|page| read(page)).sum::<usize>();
            best[i] = best[i].min((thread_cpu() - start).as_secs_f64());
        }
    }
    for (((name, _), best), records) in readers.iter().zip(best).zip(records) {
        println!(
            "  {name:<34}{best:>7.3} s CPU  {:>6.0} MB/s  {records} records",
            bytes as f64 / 1e6 / best
        );
    }
    Ok(())
}

fn summarise(aggregate: &Aggregate) -> Report {
    let mut all = Metrics::default();
    for day in aggregate.days.values() {
        let d = &day.all;
        all.total += d.total;
        all.answered += d.answered;
        all.missed += d.missed;
        all.busy += d.busy;
        all.failed += d.failed;
        all.answered_seconds += d.answered_seconds;
        for (sum, n) in all.hourly.iter_mut().zip(d.hourly) {
            *sum += n;
        }
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
        avg_duration_formatted: format!("{}m {}s", avg / 60, avg % 60),
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

// ---------------------------------------------------------------------------------------
// The comparison.
// ---------------------------------------------------------------------------------------

struct Run {
    report: Report,
    wall_seconds: f64,
    /// `/usr/bin/time`'s figures (CPU seconds, peak RSS KiB), when it is installed.
    outside: Option<(f64, u64)>,
}

const TIME: &str = "/usr/bin/time";

/// Runs one side as a child process; its last stdout line is its JSON report.
fn run_side(program: &Path, args: &[&Path], time_file: &Path) -> Result<Run> {
    let timed = Path::new(TIME).exists();
    let mut command = if timed {
        let mut c = Command::new(TIME);
        c.arg("-f")
            .arg("%U %S %M")
            .arg("-o")
            .arg(time_file)
            .arg(program);
        c
    } else {
        Command::new(program)
    };
    command
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit());
    let started = Instant::now();
    let output = command
        .output()
        .map_err(|e| format!("{}: {e}", program.display()))?;
    let wall_seconds = started.elapsed().as_secs_f64();
    if !output.status.success() {
        return Err(format!("{} failed: {}", program.display(), output.status).into());
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .ok_or_else(|| format!("{} printed no JSON report", program.display()))?;
    let report: Report = serde_json::from_str(line)?;
    let outside = if timed {
        let text = fs::read_to_string(time_file)?;
        let last = text.lines().last().unwrap_or_default();
        let v: Vec<&str> = last.split_whitespace().collect();
        match v.as_slice() {
            [user, system, kib] => Some((
                user.parse::<f64>()? + system.parse::<f64>()?,
                kib.parse::<u64>()?,
            )),
            _ => return Err(format!("unexpected {TIME} output {text:?}").into()),
        }
    } else {
        None
    };
    Ok(Run {
        report,
        wall_seconds,
        outside,
    })
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn compare(records: u64) -> Result<bool> {
    let (dir, data) = ensure_data(records)?;
    let load = fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned));
    let root = repo_root()?;
    let me = std::env::current_exe()?;
    let python = std::env::var_os("PYTHON").unwrap_or_else(|| "python3".into());
    let script = root.join("bench/tutorial_aggregate.py");
    let scratch = root.join("target/bench-data");

    // Whichever side ran first would otherwise bring the pages from disk into the page
    // cache for the other, and pay for it in CPU (the read completions land on it).
    eprintln!("warming the page cache: {} …", dir.display());
    for entry in fs::read_dir(&dir)? {
        std::io::copy(&mut File::open(entry?.path())?, &mut std::io::sink())?;
    }

    eprintln!("dialtone: fold {} …", dir.display());
    let rust = run_side(
        &me,
        &[Path::new("fold"), &dir],
        &scratch.join("time-dialtone.txt"),
    )?;
    eprintln!("tutorial: {} {} …", script.display(), dir.display());
    let py = run_side(
        Path::new(&python),
        &[&script, &dir],
        &scratch.join("time-tutorial.txt"),
    )?;

    let (r, p) = (&rust.report, &py.report);
    println!();
    println!(
        "Exotel Bulk Call Details: {} records in {} pages of {PAGE_SIZE}, {} bytes ({:.1} MB) of JSON",
        data.records,
        data.pages,
        data.bytes,
        data.bytes as f64 / 1e6
    );
    println!("  {}", dir.display());
    let first = first_day()?.date();
    println!(
        "compared: all {} days together ({first} .. {}); hour = the HH of DateCreated as given \
         (account-local, no zone conversion on either side)",
        r.days,
        first + chrono::Days::new(DAYS - 1),
    );
    if let Some(load) = load {
        println!(
            "machine: {} CPUs, load average {load} before the run (CPU seconds grow when busy)",
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
    }
    println!();
    println!(
        "{:<34}{:>18}{:>20}",
        "", "dialtone (Rust)", "tutorial (Python)"
    );
    let row = |name: &str, a: String, b: String| println!("{name:<34}{a:>18}{b:>20}");
    let seconds = |name: &str, a: f64, b: f64| row(name, format!("{a:.2}"), format!("{b:.2}"));
    row("records read", r.records.to_string(), p.records.to_string());
    seconds("CPU seconds (user+sys, own)", r.cpu_seconds, p.cpu_seconds);
    seconds(
        "  of which reading the pages",
        r.read_cpu_seconds,
        p.read_cpu_seconds,
    );
    seconds(
        "  of which parse + aggregate",
        r.parse_aggregate_cpu_seconds(),
        p.parse_aggregate_cpu_seconds(),
    );
    if let (Some(a), Some(b)) = (rust.outside, py.outside) {
        seconds("CPU seconds (/usr/bin/time)", a.0, b.0);
    }
    seconds("wall seconds", rust.wall_seconds, py.wall_seconds);
    row(
        "peak RSS MiB (own)",
        format!("{:.1}", mib(r.peak_rss_kib)),
        format!("{:.1}", mib(p.peak_rss_kib)),
    );
    if let (Some(a), Some(b)) = (rust.outside, py.outside) {
        row(
            "peak RSS MiB (/usr/bin/time)",
            format!("{:.1}", mib(a.1)),
            format!("{:.1}", mib(b.1)),
        );
    }

    println!();
    let mut agree = true;
    let mut total = |name: &str, a: String, b: String, same: bool| {
        agree &= same;
        let mark = if same { "=" } else { "DIFFERS" };
        println!("{name:<34}{a:>18}{b:>20}  {mark}");
    };
    let counts = [
        ("total", r.total, p.total),
        ("answered (completed)", r.answered, p.answered),
        ("missed (no-answer)", r.missed, p.missed),
        ("busy", r.busy, p.busy),
        ("failed", r.failed, p.failed),
        ("answered seconds", r.answered_seconds, p.answered_seconds),
        ("unreadable (not counted)", r.unreadable, p.unreadable),
    ];
    for (name, a, b) in counts {
        total(name, a.to_string(), b.to_string(), a == b);
    }
    total(
        "answer rate %",
        r.answer_rate.clone(),
        p.answer_rate.clone(),
        r.answer_rate == p.answer_rate,
    );
    // Python's round() takes an exact .5 to the even neighbour, dialtone away from zero.
    let tie = r.answered > 0 && (2 * r.answered_seconds) % (2 * r.answered) == r.answered;
    total(
        if tie {
            "avg duration (x.5: rounding)"
        } else {
            "avg duration"
        },
        r.avg_duration_formatted.clone(),
        p.avg_duration_formatted.clone(),
        r.avg_duration_seconds == p.avg_duration_seconds
            || (tie && r.answered_seconds == p.answered_seconds),
    );
    let hour = |h: Option<u32>| h.map_or("-".into(), |h| format!("{h}:00"));
    total(
        "peak hour",
        hour(r.peak_hour),
        hour(p.peak_hour),
        r.peak_hour == p.peak_hour,
    );
    let same_hours = r.hourly == p.hourly;
    total(
        "calls per hour (24 buckets)",
        format!("{} calls", r.hourly.iter().sum::<u64>()),
        format!("{} calls", p.hourly.iter().sum::<u64>()),
        same_hours,
    );
    if !same_hours {
        println!("  dialtone: {:?}\n  tutorial: {:?}", r.hourly, p.hourly);
    }
    let expected = r.records == data.records && p.records == data.records;
    if !expected {
        agree = false;
        println!(
            "records read differ from the {} generated: DIFFERS",
            data.records
        );
    }

    println!();
    // The target is on parsing and aggregating; reading the pages stands in for the HTTP
    // fetch, the same bytes for both, and its CPU (the kernel copying from the page cache)
    // moves a lot with the machine's load.
    let ratio = p.parse_aggregate_cpu_seconds() / r.parse_aggregate_cpu_seconds().max(0.01);
    let whole = p.cpu_seconds / r.cpu_seconds.max(0.01);
    let verdict = |ok: bool| if ok { "PASS" } else { "FAIL" };
    println!(
        "CPU ratio, parse + aggregate:     {ratio:.1}x less CPU   target >= {TARGET_CPU_RATIO}x: {}",
        verdict(ratio >= TARGET_CPU_RATIO)
    );
    println!(
        "CPU ratio, whole process:         {whole:.1}x less CPU   (reading the pages included)"
    );
    let rss = mib(r.peak_rss_kib.max(rust.outside.map_or(0, |o| o.1)));
    println!(
        "dialtone peak RSS:                {rss:.1} MiB         target <= {TARGET_RSS_MIB} MiB: {}",
        verdict(rss <= TARGET_RSS_MIB)
    );
    println!(
        "totals agree:                     {}",
        if agree { "YES" } else { "NO" }
    );
    Ok(agree)
}

/// A quick check that the generated pages read back whole (run by `cargo test --benches`).
fn self_check() -> Result<bool> {
    let records = 1_000;
    let mut aggregate = Aggregate::default();
    let (mut pages, mut last_next) = (0, None);
    for page in Pages::new(records)? {
        let body = serde_json::to_vec(&page)?;
        let (calls, next) = read_page(&body)?;
        fold_page(&mut aggregate, &calls);
        pages += 1;
        last_next = Some(next);
    }
    let report = summarise(&aggregate);
    let ok = report.total == records
        && report.unreadable == 0
        && pages == records.div_ceil(PAGE_SIZE)
        && last_next == Some(None)
        && report.hourly.iter().sum::<u64>() == records;
    println!(
        "million_records self-check ({records} records in memory): {} (`scripts/bench-aggregate` runs the benchmark)",
        if ok { "ok" } else { "FAILED" }
    );
    Ok(ok)
}
