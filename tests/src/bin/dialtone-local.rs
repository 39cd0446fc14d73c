//! `dialtone-local`: the local stack's command line.
//!
//! - `up`: creates the template's table, topic, secrets and an alert inbox queue on moto
//!   server and prints the environment the functions need (KEY=VALUE lines).
//! - `pump [--follow]`: plays the DynamoDB stream → alert-dispatcher event source mapping,
//!   invoking the dispatcher through `cargo lambda watch`.
//! - `demo`: sends the heartbeat sequence OK → WARNING → CRITICAL → duplicate → stale → OK
//!   to the heartbeat function and a Telerivet incoming message (answered with its
//!   auto-reply) and failed delivery to the Telerivet function, through `cargo lambda
//!   watch`, pumps, and prints the alerts that arrived on the inbox queue.
//! - `inbox`: prints (and removes) the alerts waiting on the inbox queue.
//! - `load [REQUESTS] [CONCURRENCY]`: mixed webhook traffic through `cargo lambda watch`
//!   (default 10 000 requests, 16 at a time, a tenth of them redelivered), then every row
//!   and alert accounted for; exits non-zero on any difference.
//! - `fleet [LINES ...]`: heartbeats of 40 000 and 85 000 affected lines (or those given)
//!   through `cargo lambda watch`, each repeated; exits non-zero unless every one is
//!   accepted and its lines are in the stored state.
//! - `write-units`: the write units each heartbeat is billed, for fleets of 10, 1 000 and
//!   20 000 affected lines (first, steady, changing), on stacks of their own; exits
//!   non-zero when a steady heartbeat costs more than 10.
//! - `latency`: detection latency through `cargo lambda watch`: heartbeats and Telerivet
//!   failure bursts, each timed until its alert is on the inbox queue, with the stream pump
//!   run in-process at the local run's interval (no other pump may run). Prints a summary
//!   and `perf-result` lines for `scripts/perf_table.py`, one `latency-sample` line per
//!   event; `PERF_LATENCY_EVENTS` heartbeats (300) and `PERF_LATENCY_BURSTS` bursts (100).
//! - `exotel [PORT]`: serves the recorded Exotel pages (`events/exotel/`) on loopback until
//!   stopped: Bulk Call Details and ExoPhone details, with a 429 and a 503 on the way.
//!
//! Settings: `DIALTONE_PREFIX` (resource names, default `dialtone`), `LAMBDA_EMULATOR`
//! (default `http://127.0.0.1:9000`), the secrets' local values (`EXOTEL_HEARTBEAT_TOKEN`,
//! `TELERIVET_WEBHOOK_SECRET`, ...: see `dialtone_local::secrets`), and the `AWS_*` variables.

use dialtone_local::exotel::{LocalExotel, Recordings, ACCOUNT_SID, API_KEY};
use dialtone_local::inbox::{self, Received};
use dialtone_local::load;
use dialtone_local::pump::{EmulatorInvoke, StreamPump};
use dialtone_local::secrets;
use dialtone_local::stack::Stack;
use dialtone_local::{aws, LocalError};
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

const SEQUENCE: [(&str, &str); 7] = [
    ("OK", include_str!("../../../events/heartbeat-ok.json")),
    (
        "WARNING",
        include_str!("../../../events/heartbeat-warning.json"),
    ),
    (
        "CRITICAL",
        include_str!("../../../events/heartbeat-critical.json"),
    ),
    (
        "CRITICAL again (a retry)",
        include_str!("../../../events/heartbeat-duplicate.json"),
    ),
    (
        "WARNING from the past (stale)",
        include_str!("../../../events/heartbeat-stale.json"),
    ),
    (
        "OK",
        include_str!("../../../events/heartbeat-recovered.json"),
    ),
    (
        "PAYLOAD_TOO_LARGE (no lines)",
        include_str!("../../../events/heartbeat-payload-too-large.json"),
    ),
];

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("up") => up().await,
        Some("pump") => pump(args.iter().any(|a| a == "--follow")).await,
        Some("demo") => demo().await,
        Some("inbox") => show_inbox().await,
        Some("exotel") => serve_exotel(args.get(1).map(String::as_str)).await,
        Some("load") => load(args.get(1), args.get(2)).await,
        Some("fleet") => fleet(&args[1..]).await,
        Some("write-units") => write_units().await,
        Some("latency") => latency().await,
        _ => Err(LocalError::Invoke(
            "usage: dialtone-local up | pump [--follow] | demo | inbox | load [REQUESTS] [CONCURRENCY] | fleet [LINES ...] | write-units | latency | exotel [PORT]".into(),
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let _ = writeln!(std::io::stderr(), "dialtone-local: {err}");
            ExitCode::FAILURE
        }
    }
}

fn prefix() -> String {
    std::env::var("DIALTONE_PREFIX").unwrap_or_else(|_| "dialtone".into())
}

fn emulator() -> String {
    std::env::var("LAMBDA_EMULATOR").unwrap_or_else(|_| "http://127.0.0.1:9000".into())
}

async fn stack() -> Result<Stack, LocalError> {
    Stack::create(&aws::from_env().await, &prefix()).await
}

async fn fleet(sizes: &[String]) -> Result<(), LocalError> {
    let sizes: Vec<usize> = if sizes.is_empty() {
        vec![40_000, 85_000]
    } else {
        sizes
            .iter()
            .map(|n| {
                n.parse()
                    .map_err(|_| LocalError::Invoke(format!("fleet: {n:?} is not a number")))
            })
            .collect::<Result<_, _>>()?
    };
    let stack = stack().await?;
    let token = secrets::local_value("EXOTEL_HEARTBEAT_TOKEN");
    let deliveries =
        dialtone_local::fleet::through_emulator(&stack, &emulator(), &token, &sizes).await?;
    let mut wrong = 0;
    for d in &deliveries {
        let ok = d.status == 200 && d.result == "accepted" && d.lines_stored == d.lines;
        wrong += usize::from(!ok);
        say(format!(
            "fleet: {} lines, {:.1} MB: {} {:?} in {:.1} s, {} lines stored{}",
            d.lines,
            d.bytes as f64 / 1e6,
            d.status,
            d.result,
            d.seconds,
            d.lines_stored,
            if ok { "" } else { "  <- WRONG" }
        ));
    }
    if wrong > 0 {
        return Err(LocalError::Invoke(format!(
            "fleet: {wrong} heartbeats not applied"
        )));
    }
    Ok(())
}

async fn write_units() -> Result<(), LocalError> {
    let config = aws::from_env().await;
    let rows = dialtone_local::fleet::write_units(
        &config,
        &format!("{}-wcu", prefix()),
        &[10, 1_000, 20_000],
    )
    .await?;
    say("| affected lines | heartbeat | line changes | write units |");
    say("|---:|---|---:|---:|");
    let mut over = 0;
    for r in &rows {
        if r.scenario == "steady" && r.units > 10 {
            over += 1;
        }
        say(format!(
            "| {} | {} | {} | {} |",
            r.lines, r.scenario, r.changed, r.units
        ));
    }
    if over > 0 {
        return Err(LocalError::Invoke(
            "write-units: a steady heartbeat cost more than 10".into(),
        ));
    }
    Ok(())
}

async fn latency() -> Result<(), LocalError> {
    let count = |name: &str, default: usize| match std::env::var(name) {
        Err(_) => Ok(default),
        Ok(n) => n
            .parse::<usize>()
            .map_err(|_| LocalError::Invoke(format!("latency: {name}={n:?} is not a number"))),
    };
    let settings = dialtone_local::latency::Settings {
        emulator: emulator(),
        heartbeats: count("PERF_LATENCY_EVENTS", 300)?,
        bursts: count("PERF_LATENCY_BURSTS", 100)?,
        heartbeat_token: secrets::local_value("EXOTEL_HEARTBEAT_TOKEN"),
        telerivet_secret: secrets::local_value("TELERIVET_WEBHOOK_SECRET"),
    };
    let summaries = dialtone_local::latency::run(&stack().await?, &settings).await?;
    say(format!(
        "detection latency, POST to the alert read from SQS (ms; the stream pump polls every {} ms):",
        dialtone_local::pump::FOLLOW_INTERVAL.as_millis()
    ));
    say("| events | n | total p50 / p99 / max | answer p50 / p99 | poll wait p50 / p99 | stream read p50 / p99 | dispatch → SQS p50 / p99 |");
    say("|---|---:|---|---|---|---|---|");
    for s in &summaries {
        let p = |f: fn(&dialtone_local::latency::Sample) -> f64, q: f64| {
            let values: Vec<f64> = s.samples.iter().map(f).collect();
            dialtone_local::latency::percentile(&values, q)
        };
        say(format!(
            "| {} | {} | {:.0} / {:.0} / {:.0} | {:.0} / {:.0} | {:.0} / {:.0} | {:.0} / {:.0} | {:.0} / {:.0} |",
            s.measure,
            s.samples.len(),
            p(|x| x.total, 50.0),
            p(|x| x.total, 99.0),
            p(|x| x.total, 100.0),
            p(|x| x.answer, 50.0),
            p(|x| x.answer, 99.0),
            p(|x| x.poll_wait, 50.0),
            p(|x| x.poll_wait, 99.0),
            p(|x| x.stream_read, 50.0),
            p(|x| x.stream_read, 99.0),
            p(|x| x.dispatch, 50.0),
            p(|x| x.dispatch, 99.0),
        ));
    }
    for s in &summaries {
        say(s.perf_result());
    }
    for s in &summaries {
        for x in &s.samples {
            say(format!(
                "latency-sample {}",
                serde_json::json!({
                    "events": s.measure,
                    "total_ms": x.total,
                    "answer_ms": x.answer,
                    "poll_wait_ms": x.poll_wait,
                    "stream_read_ms": x.stream_read,
                    "dispatch_ms": x.dispatch,
                })
            ));
        }
    }
    Ok(())
}

fn say(line: impl std::fmt::Display) {
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

async fn up() -> Result<(), LocalError> {
    let stack = stack().await?;
    say(format!("TABLE_NAME={}", stack.table));
    say(format!("ALERT_TOPIC_ARN={}", stack.topic_arn));
    say(format!("ALERT_INBOX_URL={}", stack.queue_url));
    for (id_var, name) in secrets::put_all(&aws::from_env().await, &prefix()).await? {
        say(format!("{id_var}={name}"));
    }
    Ok(())
}

async fn pump(follow: bool) -> Result<(), LocalError> {
    let dispatcher = EmulatorInvoke::new(&emulator(), "alert-dispatcher");
    loop {
        match pump_until_error(&dispatcher, follow).await {
            Err(err) if follow => {
                let _ = writeln!(std::io::stderr(), "pump: {err}; starting over in 2 s");
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            result => return result,
        }
    }
}

async fn pump_until_error(dispatcher: &EmulatorInvoke, follow: bool) -> Result<(), LocalError> {
    let stack = stack().await?;
    let mut pump = StreamPump::new(&stack).await?;
    loop {
        let report = pump.drain(dispatcher).await?;
        if report.delivered > 0 || !report.dead_lettered.is_empty() {
            say(format!(
                "pump: {} alert row(s) handed to alert-dispatcher in {} invocation(s); dead-lettered: {:?}",
                report.delivered, report.invocations, report.dead_lettered
            ));
        }
        if !follow {
            return Ok(());
        }
        tokio::time::sleep(dialtone_local::pump::FOLLOW_INTERVAL).await;
    }
}

async fn demo() -> Result<(), LocalError> {
    let stack = stack().await?;
    let token = secrets::local_value("EXOTEL_HEARTBEAT_TOKEN");
    let url = format!(
        "{}/lambda-url/exotel-heartbeat/exotel/heartbeat/{token}",
        emulator()
    );
    let http = dialtone_local::http_client();
    say("Sending the heartbeat sequence to exotel-heartbeat (through cargo lambda watch):");
    for (label, envelope) in SEQUENCE {
        let envelope: serde_json::Value =
            serde_json::from_str(envelope).map_err(|e| LocalError::Invoke(e.to_string()))?;
        let body = envelope["body"].as_str().unwrap_or_default().to_owned();
        let timestamp = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|b| b["timestamp"].as_str().map(str::to_owned))
            .unwrap_or_default();
        let response = http
            .post(&url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| LocalError::Invoke(e.to_string()))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| LocalError::Invoke(e.to_string()))?;
        say(format!(
            "  {label:<32} {timestamp:<27} -> {} {text}",
            status.as_u16()
        ));
    }

    telerivet_demo(&http).await?;
    exotel_demo().await?;

    let dispatcher = EmulatorInvoke::new(&emulator(), "alert-dispatcher");
    let report = StreamPump::new(&stack).await?.drain(&dispatcher).await?;
    say(format!(
        "\nStream pump: {} new alert row(s) handed to alert-dispatcher.",
        report.delivered
    ));
    print_alerts(&inbox::drain(&stack.sqs, &stack.queue_url, Duration::from_secs(2)).await?);
    Ok(())
}

/// One Telerivet incoming message (the auto-reply comes back in the response) and the
/// failed delivery of a reply, through the Telerivet function.
/// The scheduled functions: the heartbeat watchdog learns the PAYLOAD_TOO_LARGE fleet's
/// lines from the local Exotel, the aggregator reads the last day's calls from it, the SMS
/// watchdog finds the demo's phone not sending.
async fn exotel_demo() -> Result<(), LocalError> {
    let schedule: serde_json::Value =
        serde_json::from_str(include_str!("../../../events/eventbridge-schedule.json"))
            .map_err(|e| LocalError::Invoke(e.to_string()))?;
    say("\nScheduled functions (the local Exotel answers a 429 and a 503 on the way):");
    for function in ["heartbeat-watchdog", "call-log-aggregator", "sms-watchdog"] {
        let answer: serde_json::Value = EmulatorInvoke::new(&emulator(), function)
            .invoke(&schedule)
            .await?;
        say(format!("  {function:<22} -> {answer}"));
    }
    Ok(())
}

async fn load(requests: Option<&String>, concurrency: Option<&String>) -> Result<(), LocalError> {
    let number = |raw: Option<&String>, default: usize| match raw {
        None => Ok(default),
        Some(n) => n
            .parse::<usize>()
            .map_err(|_| LocalError::Invoke(format!("load: {n:?} is not a number"))),
    };
    let (requests, concurrency) = (number(requests, 10_000)?, number(concurrency, 16)?);
    let secrets = load::Secrets {
        telerivet: secrets::local_value("TELERIVET_WEBHOOK_SECRET"),
        voipstudio_token: secrets::local_value("VOIPSTUDIO_WEBHOOK_TOKEN"),
        heartbeat_token: secrets::local_value("EXOTEL_HEARTBEAT_TOKEN"),
    };
    let seed = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(1) as u64;
    let stack = stack().await?;
    let stored = load::heartbeats_stored(&stack).await?;
    let plan = load::fresh_plan(requests, seed, &secrets, chrono::Utc::now(), &stored);
    say(format!(
        "load: {} requests ({} redelivered), {concurrency} at a time, through {}",
        plan.expected.requests,
        plan.expected.duplicates,
        emulator()
    ));
    let sent = load::send(&emulator(), &plan, concurrency).await;
    say(format!(
        "sent in {:.1} s ({:.0} requests/s); answers by status: {:?}; no answer: {}",
        sent.seconds,
        plan.expected.requests as f64 / sent.seconds.max(0.001),
        sent.statuses,
        sent.errors.len()
    ));
    // The stream pump publishes each second; what it publishes arrives on the inbox queue.
    let published = inbox::drain(&stack.sqs, &stack.queue_url, Duration::from_secs(5)).await?;
    let lines = load::account(&stack, &plan, &sent, &published).await?;
    let mut wrong = 0;
    for line in &lines {
        let mark = if line.expected == line.found {
            "ok"
        } else {
            "DIFFERS"
        };
        wrong += usize::from(line.expected != line.found);
        say(format!(
            "  {:<45} expected {:>6}  found {:>6}  {mark}",
            line.what, line.expected, line.found
        ));
    }
    let lost = plan.expected.requests as i64 - lines.first().map_or(0, |l| l.found);
    if wrong > 0 {
        return Err(LocalError::Invoke(format!("load: {wrong} count(s) differ")));
    }
    say(format!(
        "load: {lost} lost, 0 duplicated, every row and alert accounted for"
    ));
    Ok(())
}

/// Serves the recordings until the process is stopped.
async fn serve_exotel(port: Option<&str>) -> Result<(), LocalError> {
    let port: u16 = port
        .unwrap_or("9101")
        .parse()
        .map_err(|_| LocalError::Invoke("exotel: PORT must be a number".into()))?;
    let listener = std::net::TcpListener::bind(("127.0.0.1", port))
        .map_err(|e| LocalError::Invoke(format!("exotel: port {port}: {e}")))?;
    let recordings = Recordings::recorded().map_err(|e| LocalError::Invoke(e.to_string()))?;
    let exotel = LocalExotel::start(recordings, Some(listener)).await;
    say(format!(
        "local Exotel on {} (account {ACCOUNT_SID}, key {API_KEY})",
        exotel.uri()
    ));
    std::future::pending::<()>().await;
    Ok(())
}

async fn telerivet_demo(http: &reqwest::Client) -> Result<(), LocalError> {
    let url = format!(
        "{}/lambda-url/telerivet-webhook/telerivet/webhook",
        emulator()
    );
    say("\nSending Telerivet webhooks to telerivet-webhook (URL-encoded, as Telerivet does):");
    for (label, envelope) in [
        (
            "incoming_message",
            include_str!("../../../events/telerivet-incoming-message.json"),
        ),
        (
            "send_status not_delivered",
            include_str!("../../../events/telerivet-send-status-not-delivered.json"),
        ),
    ] {
        let request = lambda_http::request::from_str(envelope)
            .map_err(|e| LocalError::Invoke(e.to_string()))?;
        post_form(http, &url, label, request.body().to_vec()).await?;
    }
    // A message queued ten minutes ago on a phone that has sent nothing since: the SMS
    // watchdog's next run finds that phone not sending.
    let queued = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("event", "send_status"),
            ("id", "SMdemoqueued01"),
            ("status", "queued"),
            ("message_type", "sms"),
            ("phone_id", "PNdemo01"),
            ("project_id", "PJ2ad8f6c1"),
            (
                "time_created",
                &(chrono::Utc::now() - chrono::Duration::minutes(10))
                    .timestamp()
                    .to_string(),
            ),
            ("secret", &secrets::local_value("TELERIVET_WEBHOOK_SECRET")),
        ])
        .finish();
    post_form(
        http,
        &url,
        "send_status queued 10 min ago",
        queued.into_bytes(),
    )
    .await
}

async fn post_form(
    http: &reqwest::Client,
    url: &str,
    label: &str,
    body: Vec<u8>,
) -> Result<(), LocalError> {
    let response = http
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .map_err(|e| LocalError::Invoke(e.to_string()))?;
    let status = response.status().as_u16();
    let text = response
        .text()
        .await
        .map_err(|e| LocalError::Invoke(e.to_string()))?;
    say(format!("  {label:<32} -> {status} {text}"));
    Ok(())
}

async fn show_inbox() -> Result<(), LocalError> {
    let stack = stack().await?;
    print_alerts(&inbox::drain(&stack.sqs, &stack.queue_url, Duration::from_secs(1)).await?);
    Ok(())
}

fn print_alerts(alerts: &[Received]) {
    say(format!(
        "\n{} alert(s) arrived on the SNS topic (read from its SQS subscription):",
        alerts.len()
    ));
    for received in alerts {
        let attrs: Vec<String> = received
            .attributes
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        say(format!(
            "\n── {} [{}]",
            received.subject.as_deref().unwrap_or("(no subject)"),
            attrs.join(" ")
        ));
        say(dialtone_shared::notice::text_body(&received.alert).trim_end());
    }
}
