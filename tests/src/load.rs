//! Load through the Lambda runtime emulator: mixed webhook traffic (Telerivet messages and
//! reordered send statuses, VoIPstudio call lifecycles in any order, Exotel heartbeats out
//! of order), a share of it delivered twice, sent by a bounded number of concurrent
//! clients; then every stored row and alert is accounted for by a count made here, from
//! the plan, independently of the functions.

use crate::inbox::Received;
use crate::stack::Stack;
use crate::LocalError;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, DurationRound, Utc};
use dialtone_shared::calls::receiver::{CallReceiver, Voipstudio};
use dialtone_shared::heartbeat::receiver::HeartbeatReceiver;
use dialtone_shared::pipeline::Receiver;
use dialtone_shared::telerivet::receiver::TelerivetReceiver;
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// The secrets the local run configures (`scripts/dev`).
pub struct Secrets {
    pub telerivet: String,
    pub voipstudio_token: String,
    pub heartbeat_token: String,
}

/// One request of the plan.
#[derive(Clone, Debug)]
pub struct Planned {
    pub function: &'static str,
    pub path: String,
    pub content_type: &'static str,
    pub body: String,
}

/// What the plan must leave behind, counted from the plan alone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Expected {
    pub requests: usize,
    pub duplicates: usize,
    /// Distinct events per function: each must leave exactly one idempotency row.
    pub events: BTreeMap<&'static str, usize>,
    pub incoming: i64,
    pub delivered: i64,
    pub failed: i64,
    pub calls: i64,
    /// Each message's furthest status.
    pub final_status: BTreeMap<String, &'static str>,
    pub heartbeat_instants: Vec<DateTime<Utc>>,
}

pub struct Plan {
    pub run: String,
    pub project: String,
    pub line: String,
    pub requests: Vec<Planned>,
    pub expected: Expected,
}

fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// About `n` requests: a tenth heartbeats, the rest split between Telerivet and calls,
/// then a tenth of them again as redeliveries, all shuffled.
/// The heartbeats are a second apart and end a minute before `heartbeats_end`.
pub fn plan(n: usize, seed: u64, secrets: &Secrets, heartbeats_end: DateTime<Utc>) -> Plan {
    // The same seed plans the same traffic.
    let mut rng = SmallRng::seed_from_u64(seed);
    let run_number = rng.random::<u32>();
    let run = format!("{run_number:08x}");
    let project = format!("PJload{run}");
    let line = format!("9180{:08}", rng.random_range(0..100_000_000u32));
    let mut requests = Vec::new();
    let mut expected = Expected::default();
    let telerivet = |body: String| Planned {
        function: "telerivet-webhook",
        path: "/telerivet/webhook".into(),
        content_type: "application/x-www-form-urlencoded",
        body,
    };

    let budget = n.max(10);
    let (heartbeats, rest) = (budget / 10, budget - budget / 10);
    let incoming = rest / 4;
    let messages = rest / 4 / 3;
    let calls = (rest - incoming - messages * 3) / 4;

    for i in 0..incoming {
        let id = format!("SMin{run}{i:06}");
        requests.push(telerivet(form(&[
            ("secret", &secrets.telerivet),
            ("event", "incoming_message"),
            ("id", &id),
            ("message_type", "sms"),
            ("content", "load test"),
            ("from_number", "+919812345678"),
            ("to_number", "+918030752522"),
            ("project_id", &project),
        ])));
        expected.incoming += 1;
    }
    for i in 0..messages {
        let id = format!("SMout{run}{i:06}");
        // A few failures, fewer than the burst threshold: no SMS alert is due.
        let last = if i % 200 == 7 { "failed" } else { "delivered" };
        for status in ["queued", "sent", last] {
            requests.push(telerivet(form(&[
                ("secret", &secrets.telerivet),
                ("event", "send_status"),
                ("id", &id),
                ("status", status),
                ("message_type", "sms"),
                ("project_id", &project),
            ])));
        }
        expected.final_status.insert(id, last);
        if last == "failed" {
            expected.failed += 1;
        } else {
            expected.delivered += 1;
        }
    }
    for i in 0..calls {
        // Call ids of this run only: a call seen before would not be counted again.
        let call_id = u64::from(run_number) * 1_000_000 + i as u64;
        for (step, (name, at, connected, duration)) in [
            ("call.initial", "10:10:00", None, 0),
            ("call.ringing", "10:10:01", None, 0),
            ("call.connected", "10:10:09", Some("2026-11-01 10:10:09"), 0),
            ("call.hangup", "10:12:09", Some("2026-11-01 10:10:09"), 120),
        ]
        .into_iter()
        .enumerate()
        {
            let body = serde_json::json!({
                "id": format!("load.{run}.{call_id}.{step}"),
                "event_time": format!("2026-11-01 {at}"),
                "event_name": name,
                "call_id": call_id,
                "state": name.trim_start_matches("call.").to_uppercase(),
                "connected_at": connected,
                "start_time": "2026-11-01 10:10:00",
                "context": "LOCAL_USER",
                "destination": "in",
                "duration": duration,
                "src": format!("9198{:08}", i),
                "dst": line,
            });
            requests.push(Planned {
                function: "voipstudio-webhook",
                path: format!("/voipstudio/webhook/{}", secrets.voipstudio_token),
                content_type: "application/json",
                body: body.to_string(),
            });
        }
        expected.calls += 1;
    }
    // Whole seconds, as the heartbeats carry them, so the stored keys can be predicted.
    let end = heartbeats_end
        .duration_trunc(Duration::seconds(1))
        .unwrap_or(heartbeats_end)
        - Duration::minutes(1);
    let start = end - Duration::seconds(heartbeats as i64);
    for i in 0..heartbeats {
        let at = start + Duration::seconds(i as i64);
        let warning = i % 3 == 1;
        let body = serde_json::json!({
            "timestamp": at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            "status_type": if warning { "WARNING" } else { "OK" },
            "incoming_affected": if warning { serde_json::json!(["07930061010"]) } else { serde_json::Value::Null },
            "outgoing_affected": null,
            "data": if warning { serde_json::json!({"07930061010": {"phone_number": "+917930061010"}}) } else { serde_json::json!({}) },
        });
        requests.push(Planned {
            function: "exotel-heartbeat",
            path: format!("/exotel/heartbeat/{}", secrets.heartbeat_token),
            content_type: "application/json",
            body: body.to_string(),
        });
        expected.heartbeat_instants.push(at);
    }
    for r in &requests {
        *expected.events.entry(r.function).or_default() += 1;
    }
    let originals = requests.len();
    for _ in 0..originals / 10 {
        let again = requests[rng.random_range(0..originals.max(1))].clone();
        requests.push(again);
    }
    expected.duplicates = requests.len() - originals;
    expected.requests = requests.len();
    requests.shuffle(&mut rng);
    Plan {
        run,
        project,
        line,
        requests,
        expected,
    }
}

async fn scan_all(stack: &Stack) -> Result<Vec<HashMap<String, AttributeValue>>, LocalError> {
    stack
        .dynamodb
        .scan()
        .table_name(&stack.table)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(LocalError::aws)
}

/// The heartbeat instants the table already holds (their idempotency rows): a plan whose
/// heartbeats meet one of them would see its own deliveries as duplicates.
pub async fn heartbeats_stored(
    stack: &Stack,
) -> Result<std::collections::HashSet<String>, LocalError> {
    let prefix = format!("DEDUP#{}#", HeartbeatReceiver::SOURCE);
    scan_all(stack).await.map(|items| {
        items
            .iter()
            .filter_map(|i| {
                i.get("pk")?
                    .as_s()
                    .ok()?
                    .strip_prefix(&prefix)
                    .map(str::to_owned)
            })
            .collect()
    })
}

/// A plan whose heartbeats are all new to the table: each earlier run in the same stack
/// moves them one span further back.
pub fn fresh_plan(
    n: usize,
    seed: u64,
    secrets: &Secrets,
    now: DateTime<Utc>,
    stored: &std::collections::HashSet<String>,
) -> Plan {
    let span = Duration::seconds(n.max(10) as i64 / 10 + 1);
    let mut end = now;
    loop {
        let plan = plan(n, seed, secrets, end);
        let new = |t: &DateTime<Utc>| !stored.contains(&t.to_rfc3339());
        if plan.expected.heartbeat_instants.iter().all(new) {
            return plan;
        }
        end -= span;
    }
}

/// What the senders saw.
#[derive(Clone, Debug, Default)]
pub struct Sent {
    pub statuses: BTreeMap<u16, usize>,
    /// Failures to get any answer, by message.
    pub errors: Vec<String>,
    /// Alerts the heartbeat function said it raised.
    pub alerts_reported: i64,
    pub seconds: f64,
}

/// Sends the plan with at most `concurrency` requests in flight.
pub async fn send(emulator: &str, plan: &Plan, concurrency: usize) -> Sent {
    let http = crate::http_client();
    let gate = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut tasks = JoinSet::new();
    let started = std::time::Instant::now();
    for request in plan.requests.iter().cloned() {
        let (http, gate) = (http.clone(), gate.clone());
        let url = format!(
            "{}/lambda-url/{}{}",
            emulator.trim_end_matches('/'),
            request.function,
            request.path
        );
        tasks.spawn(async move {
            let _permit = gate.acquire_owned().await;
            let response = http
                .post(url)
                .header("content-type", request.content_type)
                .body(request.body)
                .send()
                .await
                .map_err(|e| e.without_url().to_string())?;
            let status = response.status().as_u16();
            let body = response.text().await.unwrap_or_default();
            let alerts = if request.function == "exotel-heartbeat" {
                serde_json::from_str::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|b| b["alerts"].as_i64())
                    .unwrap_or(0)
            } else {
                0
            };
            Ok::<_, String>((status, alerts))
        });
    }
    let mut sent = Sent::default();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok((status, alerts))) => {
                *sent.statuses.entry(status).or_default() += 1;
                sent.alerts_reported += alerts;
            }
            Ok(Err(error)) => sent.errors.push(error),
            Err(join) => sent.errors.push(join.to_string()),
        }
    }
    sent.seconds = started.elapsed().as_secs_f64();
    sent
}

/// One line of the accounting: what the plan says against what the table holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub what: String,
    pub expected: i64,
    pub found: i64,
}

fn line(what: &str, expected: i64, found: i64) -> Line {
    Line {
        what: what.into(),
        expected,
        found,
    }
}

/// Counts the run's rows in the table, and the run's alerts that arrived on the inbox
/// queue (`published`), and sets them against the plan.
pub async fn account(
    stack: &Stack,
    plan: &Plan,
    sent: &Sent,
    published: &[Received],
) -> Result<Vec<Line>, LocalError> {
    let items = scan_all(stack).await?;
    let text = |item: &HashMap<String, AttributeValue>, name: &str| {
        item.get(name)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default()
    };
    let number = |item: &HashMap<String, AttributeValue>, name: &str| {
        item.get(name)
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let e = &plan.expected;
    let instants: Vec<String> = e
        .heartbeat_instants
        .iter()
        .map(|t| t.to_rfc3339())
        .collect();
    let dedup = |source: &str, ours: &dyn Fn(&str) -> bool| {
        let prefix = format!("DEDUP#{source}#");
        items
            .iter()
            .filter_map(|i| text(i, "pk").strip_prefix(&prefix).map(str::to_owned))
            .filter(|key| ours(key))
            .count() as i64
    };
    let run = plan.run.as_str();
    // Summed over the counter's shard items.
    let counter = |key: &str, field: &str| -> i64 {
        items
            .iter()
            .filter(|i| text(i, "pk") == format!("COUNTER#{key}"))
            .map(|i| number(i, &format!("c:{field}")))
            .sum()
    };
    let statuses_right = e
        .final_status
        .iter()
        .filter(|(id, status)| {
            items.iter().any(|i| {
                text(i, "pk") == format!("STATE#telerivet:message:{id}")
                    && i.get("state")
                        .and_then(|s| s.as_m().ok())
                        .and_then(|m| m.get("status"))
                        .and_then(|s| s.as_s().ok())
                        .is_some_and(|s| s == *status)
            })
        })
        .count() as i64;
    let alerts_stored = items
        .iter()
        .filter(|i| text(i, "entity") == "alert")
        .filter(|i| {
            let sk = text(i, "gsi1sk");
            instants.iter().any(|t| sk.starts_with(t.as_str()))
        })
        .count() as i64;
    let sms_day = Utc::now().format("%Y-%m-%d");
    let sms = format!("telerivet:sms:{}:{sms_day}", plan.project);
    let calls = format!("calls:voipstudio:+{}:2026-11-01", plan.line);
    let count = |f: &str| e.events.get(f).copied().unwrap_or(0) as i64;
    let answered = sent.statuses.get(&200).copied().unwrap_or(0) as i64;
    Ok(vec![
        line(
            "requests answered 200 (the rest are lost)",
            e.requests as i64,
            answered,
        ),
        line(
            "telerivet events stored once",
            count("telerivet-webhook"),
            dedup(TelerivetReceiver::SOURCE, &|k| k.contains(run)),
        ),
        line(
            "voipstudio events stored once",
            count("voipstudio-webhook"),
            dedup(<CallReceiver<Voipstudio>>::SOURCE, &|k| k.contains(run)),
        ),
        line(
            "heartbeats stored once",
            count("exotel-heartbeat"),
            dedup(HeartbeatReceiver::SOURCE, &|k| {
                instants.iter().any(|t| t == k)
            }),
        ),
        line(
            "messages settled on their furthest status",
            e.final_status.len() as i64,
            statuses_right,
        ),
        line(
            "incoming SMS counted",
            e.incoming,
            counter(&sms, "incoming"),
        ),
        line(
            "deliveries counted",
            e.delivered,
            counter(&sms, "delivered"),
        ),
        line("failures counted", e.failed, counter(&sms, "failed")),
        line("calls counted", e.calls, counter(&calls, "calls")),
        line(
            "calls counted answered",
            e.calls,
            counter(&calls, "answered"),
        ),
        line(
            "heartbeat alerts stored = alerts answered",
            sent.alerts_reported,
            alerts_stored,
        ),
        line(
            "heartbeat alerts published once each",
            alerts_stored,
            published
                .iter()
                .filter(|r| e.heartbeat_instants.contains(&r.alert.occurred_at))
                .count() as i64,
        ),
    ])
}
