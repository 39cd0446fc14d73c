//! CPU of the heartbeat receiver's own work, network excluded: verify the URL token, parse,
//! decide, build the commit (the state serialised as it is written).
//!
//! * `sample`: the WARNING heartbeat of `events/`, each of 20 000 iterations timed on its
//!   own; p50, p99, max.
//! * `20k`: a WARNING heartbeat listing 20 000 affected lines (about 1.4 MB), from an empty
//!   state and from a state that already lists the same lines, in thread CPU time; and how
//!   the monitor state it leads to is stored (its size).
//!
//! `cargo bench -p exotel-heartbeat --bench webhook [-- sample|20k]`

use chrono::{Duration, TimeZone, Utc};
use dialtone_shared::heartbeat::receiver::HeartbeatReceiver;
use dialtone_shared::heartbeat::{AlertPolicy, HeartbeatRow};
use dialtone_shared::pipeline::Receiver;
use dialtone_shared::secret::Secret;
use dialtone_shared::secrets::Cached;
use dialtone_shared::store::StateJson;
use dialtone_testkit::bench::{cpu_each, handle, iterations, report, request, selected, time_each};
use dialtone_testkit::sample::warning_with_lines;
use serde_json::Value;

const TOKEN: &str = "local-dev-token-0123456789";
const LINES: usize = 20_000;

fn receiver() -> HeartbeatReceiver {
    HeartbeatReceiver {
        token: Cached::fixed(Secret::new(TOKEN.into()).expect("token")),
        policy: AlertPolicy::default(),
    }
}

/// The sample event of `events/heartbeat-warning.json` with another body.
fn with_body(body: &str) -> String {
    let mut event: Value =
        serde_json::from_str(include_str!("../../../events/heartbeat-warning.json"))
            .expect("event");
    event["body"] = Value::String(body.to_owned());
    event.to_string()
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
    let first = request(&with_body(&warning_with_lines(LINES, first_at)));
    let body = warning_with_lines(LINES, second_at);
    let body_bytes = body.len();
    let second = request(&with_body(&body));

    // The state the first heartbeat leads to is what the second one finds stored.
    let commit = handle(&receiver, &first, Vec::new());
    let write = commit.states.first().expect("a monitor state");
    let state_json = write.state.text().len();
    let state_attribute = write.state.attribute_bytes();

    let runs = 15;
    let empty = cpu_each(runs, || (), |()| handle(&receiver, &second, Vec::new()));
    // The stored state is decoded from its text each time, as the store does on every
    // delivery.
    let known = cpu_each(
        runs,
        || write.state.clone(),
        |stored| handle(&receiver, &second, vec![Some(stored), None]),
    );
    phases(&receiver, &second, &write.state, now);
    for (name, timings) in [("empty state", &empty), ("same lines stored", &known)] {
        report(
            &format!("exotel-heartbeat 20k lines, {name}"),
            timings,
            &[
                ("lines", LINES.to_string()),
                ("body_bytes", body_bytes.to_string()),
                ("state_json_bytes", state_json.to_string()),
                ("state_item_bytes", state_attribute.to_string()),
            ],
        );
    }
    println!(
        "20 000-line heartbeat: body {:.2} MB; monitor state {:.0} KB as JSON, about {:.0} KB as a DynamoDB attribute (its lines kept in buckets)",
        body_bytes as f64 / 1e6,
        state_json as f64 / 1024.0,
        state_attribute as f64 / 1024.0,
    );
}

/// Where the CPU of the 20 000-line heartbeat goes (median of 5 runs each), for diagnosis.
fn phases(
    receiver: &HeartbeatReceiver,
    request: &lambda_http::Request,
    stored_state: &StateJson,
    now: chrono::DateTime<Utc>,
) {
    let ms = |t: dialtone_testkit::bench::Timings| t.percentile(50.0) as f64 / 1e6;
    let parse = ms(cpu_each(5, || (), |()| receiver.parse(request, now)));
    let decode_text = || serde_json::from_str::<HeartbeatRow>(stored_state.text()).expect("state");
    let decode = ms(cpu_each(5, || (), |()| decode_text()));
    let event = receiver.parse(request, now).expect("parses");
    let stored = decode_text();
    let prev = [Some(stored), None];
    let decide_empty = ms(cpu_each(5, || (), |()| receiver.decide(&[], &event, now)));
    let decide_known = ms(cpu_each(5, || (), |()| receiver.decide(&prev, &event, now)));
    let verdict = receiver.decide(&prev, &event, now);
    let state = verdict.states.first().cloned().flatten().expect("state");
    let serialise = ms(cpu_each(5, || (), |()| StateJson::of(&state)));
    println!(
        "20k phases (ms CPU): parse {parse:.1}, decode stored state from its text {decode:.1}, decide from empty {decide_empty:.1}, \
         decide with same lines stored {decide_known:.1}, state to JSON text and its size {serialise:.1}; alerts {}",
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
