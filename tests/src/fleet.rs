//! Fleets as large as a heartbeat Lambda can deliver, and what each heartbeat costs.
//!
//! - [`through_emulator`]: heartbeats of 40 000 and 85 000 affected lines posted to the
//!   heartbeat function behind `cargo lambda watch`, each then repeated; every one must be
//!   answered `accepted` and its lines found in the stored state.
//! - [`write_units`]: the write units DynamoDB bills per heartbeat (the store's own count
//!   of the items it wrote, by DynamoDB's rules), for fleets of 10, 1 000 and 20 000
//!   affected lines: the first heartbeat, a steady repeat, one line changed, a tenth changed.

use crate::stack::Stack;
use crate::LocalError;
use chrono::{DateTime, Duration, Utc};
use dialtone_shared::heartbeat::receiver::HeartbeatReceiver;
use dialtone_shared::heartbeat::{AlertPolicy, HeartbeatRow};
use dialtone_shared::pipeline::{handler, Deps};
use dialtone_shared::secret::Secret;
use dialtone_shared::secrets::Cached;
use dialtone_shared::store::{DynamoStore, EventStore, StateKey};
use dialtone_testkit::sample::warning_with_lines_from;

/// One fleet heartbeat through the emulator.
#[derive(Debug)]
pub struct Delivery {
    pub lines: usize,
    pub bytes: usize,
    pub seconds: f64,
    pub status: u16,
    pub result: String,
    pub lines_stored: usize,
}

async fn monitor(store: &DynamoStore) -> Result<Option<(DateTime<Utc>, usize)>, LocalError> {
    let stored = store
        .load_state::<HeartbeatRow>(&StateKey::HeartbeatMonitor)
        .await
        .map_err(|e| LocalError::Invoke(format!("monitor state: {e}")))?;
    Ok(match stored.map(|s| s.value) {
        Some(HeartbeatRow::Monitor(m)) => Some((m.last_heartbeat_at, m.lines.len())),
        _ => None,
    })
}

/// Posts each fleet twice (the second a steady repeat a minute later), timed after the
/// newest heartbeat stored, and reads back how many lines the state holds.
pub async fn through_emulator(
    stack: &Stack,
    emulator: &str,
    token: &str,
    sizes: &[usize],
) -> Result<Vec<Delivery>, LocalError> {
    let store = DynamoStore::new(stack.dynamodb.clone(), &stack.table);
    let http = crate::http_client();
    let url = format!(
        "{}/lambda-url/exotel-heartbeat/exotel/heartbeat/{token}",
        emulator.trim_end_matches('/')
    );
    let mut at = monitor(&store)
        .await?
        .map_or(Utc::now() - Duration::minutes(30), |(last, _)| last);
    let mut deliveries = Vec::new();
    for &lines in sizes {
        for _ in 0..2 {
            at += Duration::minutes(1);
            let body = warning_with_lines_from(0, lines, at);
            let started = std::time::Instant::now();
            let response = http
                .post(&url)
                .header("content-type", "application/json")
                .body(body.clone())
                .send()
                .await
                .map_err(|e| LocalError::Invoke(e.without_url().to_string()))?;
            let status = response.status().as_u16();
            let answer: serde_json::Value = response.json().await.unwrap_or_default();
            deliveries.push(Delivery {
                lines,
                bytes: body.len(),
                seconds: started.elapsed().as_secs_f64(),
                status,
                result: answer["result"].as_str().unwrap_or_default().to_owned(),
                lines_stored: monitor(&store).await?.map_or(0, |(_, n)| n),
            });
        }
    }
    Ok(deliveries)
}

/// Write units of one heartbeat, in one scenario.
#[derive(Debug)]
pub struct Units {
    pub lines: usize,
    pub scenario: &'static str,
    pub changed: usize,
    pub units: u64,
}

/// The heartbeat sequence of one fleet size on a stack of its own, through the real
/// receiver and store: what each heartbeat was billed.
pub async fn write_units(
    config: &aws_config::SdkConfig,
    prefix: &str,
    sizes: &[usize],
) -> Result<Vec<Units>, LocalError> {
    let mut out = Vec::new();
    for &lines in sizes {
        let stack = Stack::create(config, &format!("{prefix}-{lines}")).await?;
        let deps = Deps {
            receiver: HeartbeatReceiver {
                token: Cached::fixed(
                    Secret::new("write-units-token-0123456789".into())
                        .map_err(|e| LocalError::Invoke(e.to_string()))?,
                ),
                policy: AlertPolicy::default(),
            },
            store: DynamoStore::new(stack.dynamodb.clone(), &stack.table),
        };
        let tenth = (lines / 10).max(1);
        let start = Utc::now() - Duration::minutes(30);
        // (scenario, first line, lines changed from the one before)
        let steps: [(&'static str, usize, usize); 4] = [
            ("first (all new)", 0, lines),
            ("steady", 0, 0),
            ("one line changed", 1, 1),
            ("a tenth changed", 1 + tenth, tenth),
        ];
        for (minute, (scenario, first, changed)) in steps.into_iter().enumerate() {
            let body =
                warning_with_lines_from(first, lines, start + Duration::minutes(minute as i64));
            let envelope = serde_json::json!({
                "version": "2.0",
                "routeKey": "$default",
                "rawPath": "/exotel/heartbeat/write-units-token-0123456789",
                "rawQueryString": "",
                "headers": { "content-type": "application/json" },
                "requestContext": {
                    "http": { "method": "POST", "path": "/exotel/heartbeat/write-units-token-0123456789", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "write-units" },
                    "requestId": format!("write-units-{lines}-{minute}"),
                    "routeKey": "$default", "stage": "$default", "accountId": "000000000000", "apiId": "local",
                    "domainName": "localhost", "domainPrefix": "localhost", "time": "04/Dec/2026:00:00:00 +0000", "timeEpoch": 0
                },
                "body": body,
                "isBase64Encoded": false
            });
            let request = lambda_http::request::from_str(&envelope.to_string())
                .map_err(|e| LocalError::Invoke(format!("envelope: {e}")))?;
            let before = deps.store.write_units();
            let response = handler(&deps, request)
                .await
                .map_err(|e| LocalError::Invoke(e.to_string()))?;
            if response.status() != 200 {
                return Err(LocalError::Invoke(format!(
                    "{lines} lines, {scenario}: answered {}",
                    response.status()
                )));
            }
            out.push(Units {
                lines,
                scenario,
                changed: if scenario.starts_with("first") {
                    lines
                } else {
                    2 * changed
                },
                units: deps.store.write_units() - before,
            });
        }
    }
    Ok(out)
}
