//! The comparison: dialtone's `fold` and the tutorial's Python loop run as child processes
//! on the same pages, their reports side by side, the CPU ratio and whether the totals agree.

use super::fold::Report;
use super::generate::{ensure_data, first_day, DAYS};
use super::{repo_root, Result, PAGE_SIZE, TARGET_CPU_RATIO, TARGET_RSS_MIB};
use std::fs::{self, File};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

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

pub fn compare(records: u64) -> Result<bool> {
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
