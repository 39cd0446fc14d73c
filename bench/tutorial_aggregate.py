#!/usr/bin/env python3
"""The Exotel dashboard tutorial's call metrics, for comparison with dialtone only.

Same logic as the tutorial's `fetch_all_calls` + `aggregate_call_metrics` +
`format_duration` (Python version): every call of every page is gathered into one list,
then one loop counts statuses, sums `Duration` of completed calls and buckets calls by the
hour of `DateCreated`. The only change: pages are read from the files the benchmark
generated (their bytes read, then `json.loads`) instead of fetched over HTTP, following
`NextPageUri` the same way (`Page=<n>` in the URI names the file `page-<n>.json`).

Usage: python3 bench/tutorial_aggregate.py <pages directory>
Prints one JSON line: the totals, this process's CPU seconds (user + system) and peak RSS
(KiB), both from getrusage(RUSAGE_SELF) at the end, after the list of calls is freed, and
the CPU seconds of reading the page files (`time.thread_time` around each read).
Standard library only.
"""

import json
import os
import resource
import sys
import time
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

FIRST_PAGE = "page-000000.json"


def page_file(data_dir, next_page_uri):
    """The file standing in for the request to `next_page_uri`."""
    page = int(parse_qs(urlsplit(next_page_uri).query)["Page"][0])
    return os.path.join(data_dir, f"page-{page:06d}.json")


def fetch_all_calls(data_dir):
    """Every call of every page in one list, following the cursor like the tutorial, and
    the CPU seconds spent reading the page files (the stand-in for the HTTP requests)."""
    calls = []
    read_cpu = 0.0
    path = os.path.join(data_dir, FIRST_PAGE)
    while path:
        before = time.thread_time()
        with open(path, "rb") as body:
            data = body.read()
        read_cpu += time.thread_time() - before
        page = json.loads(data)
        calls.extend(page.get("Calls", []))
        next_uri = page.get("Metadata", {}).get("NextPageUri")
        path = page_file(data_dir, next_uri) if next_uri else None
    return calls, read_cpu


def aggregate_call_metrics(calls):
    """The tutorial's loop: status counts, talk time, calls per hour, derived figures."""
    figures = {
        "total": len(calls),
        "answered": 0,
        "missed": 0,
        "busy": 0,
        "failed": 0,
        "total_duration": 0,
        "hourly_distribution": [0] * 24,
    }
    for record in calls:
        state = record.get("Status", "")
        if state == "completed":
            figures["answered"] += 1
            figures["total_duration"] += int(record.get("Duration", 0))
        elif state == "no-answer":
            figures["missed"] += 1
        elif state == "busy":
            figures["busy"] += 1
        elif state == "failed":
            figures["failed"] += 1

        created_at = record.get("DateCreated", "")
        if created_at:
            hour_of_day = datetime.strptime(created_at, "%Y-%m-%d %H:%M:%S").hour
            figures["hourly_distribution"][hour_of_day] += 1

    calls_seen = figures["total"]
    picked_up = figures["answered"]
    figures["answer_rate"] = (
        round((picked_up / calls_seen) * 100, 1) if calls_seen > 0 else 0.0
    )
    figures["avg_duration_seconds"] = (
        round(figures["total_duration"] / picked_up) if picked_up > 0 else 0
    )
    figures["avg_duration_formatted"] = format_duration(figures["avg_duration_seconds"])
    busiest = max(figures["hourly_distribution"])
    figures["peak_hour"] = figures["hourly_distribution"].index(busiest)
    return figures


def format_duration(seconds):
    minutes, rest = divmod(seconds, 60)
    return f"{minutes}m {rest}s"


def run(data_dir):
    calls, read_cpu = fetch_all_calls(data_dir)
    return len(calls), aggregate_call_metrics(calls), read_cpu
    # `calls` is freed here, as it would be at the end of the dashboard request.


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: tutorial_aggregate.py <pages directory>")
    records, metrics, read_cpu = run(sys.argv[1])
    usage = resource.getrusage(resource.RUSAGE_SELF)
    report = {
        "side": "tutorial",
        "records": records,
        "unreadable": 0,
        "total": metrics["total"],
        "answered": metrics["answered"],
        "missed": metrics["missed"],
        "busy": metrics["busy"],
        "failed": metrics["failed"],
        "answered_seconds": metrics["total_duration"],
        "hourly": metrics["hourly_distribution"],
        "answer_rate": f"{metrics['answer_rate']:.1f}",
        "avg_duration_seconds": metrics["avg_duration_seconds"],
        "avg_duration_formatted": metrics["avg_duration_formatted"],
        "peak_hour": metrics["peak_hour"],
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "read_cpu_seconds": read_cpu,
        "peak_rss_kib": usage.ru_maxrss,  # KiB on Linux
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
