//! The data: Exotel-shaped Bulk Call Details pages of 100 records, deterministic (a fixed
//! seed), written once per record count under `target/bench-data/` and reused.

use super::{repo_root, Result, PAGE_SIZE};
use chrono::{NaiveDate, NaiveDateTime};
use rand::distr::weighted::WeightedIndex;
use rand::distr::Distribution;
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use serde::Serialize;
use serde_json::{json, Value};
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

const SEED: u64 = 0x00d1_a170_2e5e_ed01;
/// Bump when the generated records change, so older data is not reused (3: drawn with the
/// `rand` crate's `SmallRng`).
const GENERATOR_VERSION: u32 = 3;
const MARKER: &str = "GENERATED";
pub const FIRST_PAGE: &str = "page-000000.json";
const ACCOUNT_SID: &str = "dialtonebench1";
/// The days the calls are spread over (Monday to Sunday, the account's local time).
const FIRST_DAY: (i32, u32, u32) = (2025, 3, 3);
pub const DAYS: u64 = 7;

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

/// One of a table's items, drawn by its weight.
struct Weighted<T: Copy> {
    items: Vec<T>,
    index: WeightedIndex<u64>,
}

impl<T: Copy> Weighted<T> {
    fn new(table: &[(u64, T)]) -> Result<Self> {
        Ok(Self {
            items: table.iter().map(|(_, item)| *item).collect(),
            index: WeightedIndex::new(table.iter().map(|(weight, _)| *weight))?,
        })
    }

    fn pick(&self, rng: &mut SmallRng) -> T {
        self.items[self.index.sample(rng)]
    }
}

/// The weighted tables, built once.
struct Tables {
    hours: Weighted<u32>,
    weekdays: Weighted<u64>,
    statuses: Weighted<&'static str>,
    directions: Weighted<&'static str>,
    exophones: Weighted<&'static str>,
}

impl Tables {
    fn new() -> Result<Self> {
        Ok(Self {
            hours: Weighted::new(&HOURS)?,
            weekdays: Weighted::new(&WEEKDAYS)?,
            statuses: Weighted::new(&STATUSES)?,
            directions: Weighted::new(&DIRECTIONS)?,
            exophones: Weighted::new(&EXOPHONES)?,
        })
    }
}

fn mobile(rng: &mut SmallRng) -> String {
    format!(
        "0{}{:09}",
        rng.random_range(6..=9u32),
        rng.random_range(0..1_000_000_000u32)
    )
}

pub fn first_day() -> Result<NaiveDateTime> {
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

pub fn page_file(page: u64) -> String {
    format!("page-{page:06}.json")
}

/// The file a `NextPageUri` leads to.
pub fn next_page_file(dir: &Path, uri: &str) -> Result<PathBuf> {
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
fn creation_offsets(rng: &mut SmallRng, tables: &Tables, records: u64) -> Vec<u32> {
    let mut offsets: Vec<u32> = (0..records)
        .map(|_| {
            let day = tables.weekdays.pick(rng) % DAYS;
            let hour = u64::from(tables.hours.pick(rng));
            (day * 86_400 + hour * 3_600 + rng.random_range(0..3_600u64)) as u32
        })
        .collect();
    offsets.sort_unstable();
    offsets
}

/// One record, its fields in the order Exotel gives them.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CallOut {
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
pub struct PageOut {
    metadata: MetadataOut,
    calls: Vec<CallOut>,
}

fn call(rng: &mut SmallRng, tables: &Tables, created: NaiveDateTime, agents: &[String]) -> CallOut {
    let sid = format!("{:016x}{:016x}", rng.random::<u64>(), rng.random::<u64>());
    let status = tables.statuses.pick(rng);
    let direction = tables.directions.pick(rng);
    let exophone = tables.exophones.pick(rng);
    let customer = mobile(rng);
    let (from, to) = match direction {
        "inbound" => (customer, exophone.to_owned()),
        _ => (agents[rng.random_range(0..agents.len())].clone(), customer),
    };
    let ring = rng.random_range(3..=40u64);
    let talk = match status {
        "completed" if rng.random_bool(0.8) => rng.random_range(8..=400u64),
        "completed" => rng.random_range(400..=1_800u64),
        _ => 0,
    };
    let seconds = |s: u64| chrono::Duration::seconds(s as i64);
    let start = created + seconds(rng.random_range(0..=2));
    let end = start + seconds(ring + talk);
    let updated = end + seconds(rng.random_range(1..=6));
    // As real records come: strings, numbers, and null where nothing was talked.
    let duration = match (status, rng.random_range(0..100u32)) {
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
        "completed" if rng.random_bool(0.8) => json!(format!(
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
        forwarded_from: match rng.random_bool(0.03) {
            true => json!(mobile(rng)),
            false => Value::Null,
        },
        caller_name: Value::Null,
        recording_url: recording,
    }
}

/// The pages of `records` calls, one at a time, as Exotel answers them.
pub struct Pages {
    rng: SmallRng,
    tables: Tables,
    offsets: Vec<u32>,
    base: NaiveDateTime,
    query: String,
    agents: Vec<String>,
    page: u64,
}

impl Pages {
    pub fn new(records: u64) -> Result<Self> {
        let mut rng = SmallRng::seed_from_u64(SEED);
        let tables = Tables::new()?;
        let offsets = creation_offsets(&mut rng, &tables, records);
        let agents = (0..40).map(|_| mobile(&mut rng)).collect();
        Ok(Self {
            rng,
            tables,
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
                call(&mut self.rng, &self.tables, created, &self.agents)
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
pub struct DataSet {
    pub records: u64,
    pub pages: u64,
    pub bytes: u64,
}

fn marker_line(records: u64) -> String {
    format!("version={GENERATOR_VERSION} seed={SEED:#x} records={records} page_size={PAGE_SIZE}")
}

/// The pages for `records` calls under `target/bench-data/`, generated unless a complete
/// set with the same parameters is already there.
pub fn ensure_data(records: u64) -> Result<(PathBuf, DataSet)> {
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
