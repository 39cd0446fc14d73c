//! CPU of the heartbeat receiver's own work, network excluded: verify the URL token, parse,
//! decide, build the commit (the state serialised as it is written).
//!
//! * `sample`: the WARNING heartbeat of `events/`, each of 20 000 iterations timed on its
//!   own; p50, p99, max.
//! * `20k`: a WARNING heartbeat listing 20 000 affected lines (about 1.4 MB), from an empty
//!   state and from a state that already lists the same lines, in thread CPU time; and the
//!   size of the monitor state row it leads to, against DynamoDB's 400 KB item limit.
//!
//! `cargo bench -p exotel-heartbeat --bench webhook [-- sample|20k]`

mod support;

use chrono::{Duration, TimeZone, Utc};
use dialtone_shared::heartbeat::{AlertPolicy, HeartbeatRow};
use dialtone_shared::pipeline::Receiver;
use dialtone_shared::secret::Secret;
use exotel_heartbeat::HeartbeatReceiver;
use serde_json::{json, Value};
use support::{cpu_each, handle, iterations, report, request, selected, time_each};

const TOKEN: &str = "local-dev-token-0123456789";
const LINES: usize = 20_000;
/// DynamoDB's item size limit.
const ITEM_LIMIT: usize = 400 * 1024;

fn receiver() -> HeartbeatReceiver {
    HeartbeatReceiver {
        token: Secret::new(TOKEN.into()).expect("token"),
        policy: AlertPolicy::default(),
    }
}

/// A WARNING heartbeat with `lines` affected lines: every one incoming, every other one
/// outgoing too, each with its number in `data`.
fn large_heartbeat(lines: usize, at: &str) -> String {
    let sids: Vec<String> = (0..lines)
        .map(|i| format!("0{:010}", 7_930_000_000u64 + i as u64))
        .collect();
    let data: serde_json::Map<String, Value> = sids
        .iter()
        .map(|sid| {
            (
                sid.clone(),
                json!({ "phone_number": format!("+91{}", &sid[1..]) }),
            )
        })
        .collect();
    let outgoing: Vec<&String> = sids.iter().step_by(2).collect();
    json!({
        "timestamp": at,
        "status_type": "WARNING",
        "incoming_affected": sids,
        "outgoing_affected": outgoing,
        "data": data,
    })
    .to_string()
}

/// The sample event of `events/heartbeat-warning.json` with another body.
fn with_body(body: &str) -> String {
    let mut event: Value =
        serde_json::from_str(include_str!("../../../events/heartbeat-warning.json"))
            .expect("event");
    event["body"] = Value::String(body.to_owned());
    event.to_string()
}

/// DynamoDB's size of a value stored as a map attribute (names, values, and the
/// documented per-element overhead of maps and lists).
fn dynamo_size(value: &Value) -> usize {
    match value {
        Value::Null | Value::Bool(_) => 1,
        Value::Number(n) => n.to_string().len().div_ceil(2) + 1,
        Value::String(s) => s.len(),
        Value::Array(items) => 3 + items.iter().map(|v| 1 + dynamo_size(v)).sum::<usize>(),
        Value::Object(fields) => {
            3 + fields
                .iter()
                .map(|(k, v)| k.len() + 1 + dynamo_size(v))
                .sum::<usize>()
        }
    }
}

fn sample() {
    let request = request(include_str!("../../../events/heartbeat-warning.json"));
    let receiver = receiver();
    let timings = time_each(2_000, iterations(), || {
        handle(&receiver, &request, Vec::new())
    });
    report("exotel-heartbeat sample", &timings, &[]);
}

fn large() {
    let receiver = receiver();
    let now = Utc::now();
    let first_at = Utc
        .with_ymd_and_hms(2026, 11, 1, 10, 0, 0)
        .single()
        .expect("time");
    let second_at = first_at + Duration::minutes(1);
    let first = request(&with_body(&large_heartbeat(LINES, &first_at.to_rfc3339())));
    let body = large_heartbeat(LINES, &second_at.to_rfc3339());
    let body_bytes = body.len();
    let second = request(&with_body(&body));

    // The state the first heartbeat leads to is what the second one finds stored.
    let commit = handle(&receiver, &first, Vec::new());
    let monitor = commit
        .states
        .first()
        .expect("a monitor state")
        .value
        .clone();
    let state_json = serde_json::to_vec(&monitor).expect("state").len();
    let state_item = dynamo_size(&monitor);

    let runs = 15;
    let empty = cpu_each(runs, || (), |()| handle(&receiver, &second, Vec::new()));
    // The stored state is decoded each time, as the store does on every delivery.
    let known = cpu_each(
        runs,
        || monitor.clone(),
        |stored| handle(&receiver, &second, vec![Some(stored), None]),
    );
    phases(&receiver, &second, &monitor, now);
    let fits = if state_item <= ITEM_LIMIT {
        "true"
    } else {
        "false"
    };
    for (name, timings) in [("empty state", &empty), ("same lines stored", &known)] {
        report(
            &format!("exotel-heartbeat 20k lines, {name}"),
            timings,
            &[
                ("lines", LINES.to_string()),
                ("body_bytes", body_bytes.to_string()),
                ("state_json_bytes", state_json.to_string()),
                ("state_item_bytes", state_item.to_string()),
                ("state_fits_item", fits.into()),
            ],
        );
    }
    println!(
        "20 000-line heartbeat: body {:.2} MB; monitor state {:.0} KB as JSON, about {:.0} KB as a DynamoDB item (limit 400 KB)",
        body_bytes as f64 / 1e6,
        state_json as f64 / 1024.0,
        state_item as f64 / 1024.0
    );
}

/// Where the CPU of the 20 000-line heartbeat goes (median of 5 runs each), for diagnosis.
fn phases(
    receiver: &HeartbeatReceiver,
    request: &lambda_http::Request,
    monitor: &Value,
    now: chrono::DateTime<Utc>,
) {
    let ms = |t: support::Timings| t.percentile(50.0) as f64 / 1e6;
    let parse = ms(cpu_each(5, || (), |()| receiver.parse(request, now)));
    let decode = ms(cpu_each(
        5,
        || monitor.clone(),
        |v| serde_json::from_value::<HeartbeatRow>(v).expect("state"),
    ));
    let event = receiver.parse(request, now).expect("parses");
    let stored: HeartbeatRow = serde_json::from_value(monitor.clone()).expect("state");
    let prev = [Some(stored), None];
    let decide_empty = ms(cpu_each(5, || (), |()| receiver.decide(&[], &event, now)));
    let decide_known = ms(cpu_each(5, || (), |()| receiver.decide(&prev, &event, now)));
    let verdict = receiver.decide(&prev, &event, now);
    let state = verdict.states.first().cloned().flatten().expect("state");
    let serialise = ms(cpu_each(5, || (), |()| serde_json::to_value(&state)));
    println!(
        "20k phases (ms CPU): parse {parse:.1}, decode stored state {decode:.1}, decide from empty {decide_empty:.1}, \
         decide with same lines stored {decide_known:.1}, state to JSON value {serialise:.1}; alerts {}",
        verdict.alerts.len()
    );
}

fn main() {
    if selected("sample") {
        sample();
    }
    if selected("20k") {
        large();
    }
}
