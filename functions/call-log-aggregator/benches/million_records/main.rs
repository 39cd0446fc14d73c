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
//!   the first pages held in memory read by `read_page` alone.
//! - no mode (`cargo test --benches`): a quick self-check on 1 000 records in memory.
//!
//! Modules: `generate` (the pages, drawn with the `rand` crate), `fold` (dialtone's side),
//! `compare` (both sides run and set side by side).

mod compare;
mod fold;
mod generate;

use compare::compare;
use dialtone_testkit::call_log::Aggregate;
use fold::{fold_dir, fold_page, phases, read_page, summarise};
use generate::{ensure_data, Pages};
use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

type Result<T, E = Box<dyn Error>> = std::result::Result<T, E>;

const DEFAULT_RECORDS: u64 = 1_000_000;
const PAGE_SIZE: u64 = 100;
/// The targets of the issue.
const TARGET_CPU_RATIO: f64 = 10.0;
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
