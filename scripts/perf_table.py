"""Prints scripts/perf's table from what its steps recorded (Python 3 standard library only).

  perf_table.py DIR            every row
  perf_table.py DIR latency    the detection latency's rows alone (scripts/perf latency)

DIR holds: init.jsonl (perf_runtime.py init), bench.txt (the webhook benches' output, with
their `perf-result {json}` lines), sizes.txt (scripts/release-sizes' table), rss.json
(perf_runtime.py rss), aggregate.txt (scripts/bench-aggregate's output), latency.txt
(`dialtone-local latency`'s output, with its `perf-result {json}` lines). A missing file
gives a row that says so. Exits 1 when a target is missed.
"""

import json
import os
import platform
import re
import sys
import time

MB = 1_000_000  # the targets are in decimal megabytes
MIB = 1024 * 1024


def lines(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return None


def machine():
    model = platform.processor() or platform.machine()
    for line in lines("/proc/cpuinfo") or []:
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    memory = ""
    for line in lines("/proc/meminfo") or []:
        if line.startswith("MemTotal:"):
            memory = f", {int(line.split()[1]) / MIB:.1f} GiB RAM"
    load = os.getloadavg()[0]
    return (
        f"{model}, {os.cpu_count()} CPUs{memory}, {platform.system()} {platform.release()} "
        f"{platform.machine()}; load average {load:.2f} at the end"
    )


def latency_rows(directory, row):
    """Detection latency: POST to the emulator → alert read from the topic's SQS subscription."""
    results = {}
    for line in lines(os.path.join(directory, "latency.txt")) or []:
        if line.startswith("perf-result "):
            r = json.loads(line[len("perf-result "):])
            results[r["measure"]] = r
    # The floors: the local stream pump sleeps 1 s between polls, so about 0.5 s is the
    # expected median and one interval plus the rest (about 0.1 s) the worst; 2 s at p99
    # leaves room for a loaded machine and fails on a record that waits for two polls
    # more, a dispatcher retry, or a function that got slow.
    target = "≤ 1 s p50, ≤ 2 s p99"
    labels = {
        "heartbeat": "heartbeat → SQS (each one line more affected: one `line_affected`)",
        "telerivet burst": "Telerivet failure burst → SQS (the 5th failed `send_status` of a "
        "project: one `sms_failures`)",
    }
    for measure, label in labels.items():
        r = results.get(measure)
        if r is None:
            row(f"detection latency p50 / p99: {label}", "not measured", target, False)
            continue
        t, parts = r["total"], r["parts"]
        row(
            f"detection latency p50 / p99: {label}; POST to the runtime emulator until the alert "
            f"is read from the topic's SQS subscription, {r['events']} events",
            f"{t['p50_ms']:.0f} / {t['p99_ms']:.0f} ms (max {t['max_ms']:.0f}); p50 of the parts: "
            f"POST → answer {parts['answer']['p50_ms']:.0f}, wait for the pump's poll "
            f"{parts['poll_wait']['p50_ms']:.0f}, its stream read {parts['stream_read']['p50_ms']:.0f}, "
            f"dispatcher + SNS → SQS {parts['dispatch']['p50_ms']:.0f} ms",
            target,
            t["p50_ms"] <= 1000 and t["p99_ms"] <= 2000 and r["events"] > 0,
        )
    if results:
        each = []
        for measure, r in results.items():
            wait, read, total = r["parts"]["poll_wait"], r["parts"]["stream_read"], r["total"]
            share = 100 * (wait["mean_ms"] + read["mean_ms"]) / total["mean_ms"] if total["mean_ms"] else 0
            each.append(
                f"{measure}: wait {wait['p50_ms']:.0f} / {wait['p99_ms']:.0f} ms, the poll's read "
                f"{read['p50_ms']:.0f} / {read['p99_ms']:.0f} ms, {share:.0f} % of the mean latency"
            )
        interval = next(iter(results.values()))["poll_interval_ms"]
        row(
            "of which the local stream pump's polling (p50 / p99): from the webhook's answer until "
            f"the poll that read the alert row began (the pump sleeps {interval} ms between polls, "
            "as `scripts/dev` runs it; Lambda's event source mapping polls about every 250 ms), "
            "and that poll's DescribeStream + GetRecords",
            "; ".join(each),
            "—",
            None,
        )
    else:
        row("of which the local stream pump's polling", "not measured", "—", None)


def main(directory, sections):
    rows = []  # (measure, figure, target, verdict)

    def row(measure, figure, target, ok):
        rows.append((measure, figure, target, "—" if ok is None else ("PASS" if ok else "FAIL")))

    if sections == {"latency"}:
        latency_rows(directory, row)
        return print_table(rows)

    # init
    init = [json.loads(l) for l in lines(os.path.join(directory, "init.jsonl")) or [] if l.strip()]
    if init:
        worst = max(r["p50_ms"] for r in init)
        each = ", ".join(f"{r['name']} {r['p50_ms']:.1f} / {r['p95_ms']:.1f}" for r in init)
        row(
            "init: exec → first `/next`, SDK clients built, the secret read from the local "
            f"Secrets Manager (p50 / p95 ms, native x86_64, {init[0]['runs']} runs each)",
            f"max p50 {worst:.1f} ms ({each})",
            "≤ 35 ms p50",
            worst <= 35,
        )
    else:
        row("init", "not measured", "≤ 35 ms p50", False)

    # handler CPU per webhook, and the 20 000-line heartbeat
    results = []
    for line in lines(os.path.join(directory, "bench.txt")) or []:
        if line.startswith("perf-result "):
            results.append(json.loads(line[len("perf-result "):]))
    samples = [r for r in results if r["measure"].endswith(" sample")]
    if samples:
        worst = max(r["p50_us"] for r in samples)
        each = ", ".join(
            f"{r['measure'].removesuffix(' sample')} {r['p50_us']:.1f} / {r['p99_us']:.1f}" for r in samples
        )
        row(
            "handler CPU per webhook: verify + parse + decide + commit built, network excluded "
            f"(p50 / p99 µs, {samples[0]['iterations']} timed iterations each)",
            f"max p50 {worst:.1f} µs ({each})",
            "≤ 100 µs p50",
            worst <= 100 and len(samples) == 4,
        )
    else:
        row("handler CPU per webhook", "not measured", "≤ 100 µs p50", False)
    large = [r for r in results if "20k lines" in r["measure"]]
    if large:
        worst = max(r["p50_us"] for r in large) / 1000
        each = ", ".join(
            f"{r['measure'].split(', ', 1)[1]} {r['p50_us'] / 1000:.1f} (max {r['max_us'] / 1000:.1f})"
            for r in large
        )
        first = large[0]
        row(
            f"{first['lines']:,}-line WARNING heartbeat ({first['body_bytes'] / 1e6:.2f} MB): "
            "parse + decide + commit built, thread CPU (median ms)",
            f"{worst:.1f} ms ({each})",
            "≤ 100 ms CPU",
            worst <= 100,
        )
        row(
            "extra: how the monitor state that heartbeat leads to is stored (it lists every affected line)",
            f"{first['state_json_bytes'] / 1024:.0f} KB as JSON, ≈ {first['state_item_bytes'] / 1024:.0f} KB "
            "as a DynamoDB attribute: its head in the state row, its lines in buckets "
            "(write units per heartbeat: the table below)",
            "—",
            None,
        )
    else:
        row("20 000-line heartbeat", "not measured", "≤ 100 ms CPU", False)

    # bootstrap sizes: information, with no target (the whole tz database is built in)
    sizes = {}
    for line in lines(os.path.join(directory, "sizes.txt")) or []:
        m = re.fullmatch(r"\s*([a-z0-9-]+)\s+(\d+)\s*", line)
        if m:
            sizes[m.group(1)] = int(m.group(2))
    if sizes:
        name, biggest = max(sizes.items(), key=lambda kv: kv[1])
        each = ", ".join(f"{n} {b / MB:.2f}" for n, b in sorted(sizes.items(), key=lambda kv: -kv[1]))
        row(
            f"stripped arm64 `bootstrap` per function ({len(sizes)} functions, MB = 10^6 bytes)",
            f"max {biggest / MB:.2f} MB ({name}); {each}",
            "—",
            None,
        )
    else:
        row("stripped arm64 bootstrap", "not measured", "—", None)

    # peak RSS
    try:
        with open(os.path.join(directory, "rss.json"), encoding="utf-8") as f:
            rss = json.load(f)
        ok_count = rss["statuses"].get("200", 0)
        row(
            f"peak RSS of {rss['name']} over {rss['invocations']:,} invocations "
            "(native x86_64, DynamoDB on moto, VmHWM)",
            f"{rss['vmhwm_kb'] * 1024 / MB:.1f} MB (VmRSS at the end {rss['vmrss_kb'] * 1024 / MB:.1f} MB; "
            f"{ok_count} answered 200, statuses {rss['statuses']})",
            "≤ 25 MB",
            rss["vmhwm_kb"] * 1024 <= 25 * MB and ok_count == rss["invocations"],
        )
    except FileNotFoundError:
        row("peak RSS over 1 000 invocations", "not measured", "≤ 25 MB", False)

    # 1 M call records
    text = "\n".join(lines(os.path.join(directory, "aggregate.txt")) or [])
    cpu = re.search(r"of which parse \+ aggregate\s+([\d.]+)\s+([\d.]+)", text)
    ratio = re.search(r"CPU ratio, parse \+ aggregate:\s+([\d.]+)x", text)
    whole = re.search(r"CPU ratio, whole process:\s+([\d.]+)x", text)
    peak = re.search(r"dialtone peak RSS:\s+([\d.]+) MiB", text)
    agree = re.search(r"totals agree:\s+(\w+)", text)
    if cpu and ratio and whole and peak:
        row(
            "1 M call records parse + aggregate vs the tutorial's Python loop, same run "
            "(reading the page files, the stand-in for the HTTP fetch, measured apart)",
            f"{float(ratio.group(1)):.1f}× less CPU ({cpu.group(1)} s vs {cpu.group(2)} s; "
            f"{float(whole.group(1)):.1f}× with the reading), "
            f"{float(peak.group(1)):.1f} MiB peak; totals agree: {agree.group(1) if agree else '?'}",
            "≥ 10× less CPU, ≤ 64 MB",
            float(ratio.group(1)) >= 10 and float(peak.group(1)) <= 64,
        )
    else:
        row("1 M call records", "not measured", "≥ 10× less CPU, ≤ 64 MB", False)

    latency_rows(directory, row)
    return print_table(rows)


def print_table(rows):
    print(f"dialtone performance, {time.strftime('%Y-%m-%d %H:%M %Z')}")
    print(f"machine: {machine()}")
    print()
    print("| measure | figure | target | |")
    print("|---|---|---|---|")
    for measure, figure, target, verdict in rows:
        print(f"| {measure} | {figure} | {target} | {verdict} |")
    return 1 if any(r[3] == "FAIL" for r in rows) else 0


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3) or (len(sys.argv) == 3 and sys.argv[2] != "latency"):
        raise SystemExit(__doc__)
    sys.exit(main(sys.argv[1], set(sys.argv[2:]) or {"all"}))
