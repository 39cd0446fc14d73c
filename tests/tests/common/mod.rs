//! What the end-to-end tests share: a fresh stack per test, the real functions' handlers
//! built with real SDK clients, and the dispatcher plugged into the stream pump.

#![allow(dead_code)]

use alert_dispatcher::Deps as DispatcherDeps;
use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use dialtone_local::pump::Dispatch;
use dialtone_local::stack::Stack;
use dialtone_local::{aws, LocalError};
use dialtone_shared::heartbeat::receiver::HeartbeatReceiver;
use dialtone_shared::heartbeat::AlertPolicy;
use dialtone_shared::pipeline::Deps;
use dialtone_shared::publish::SnsPublisher;
use dialtone_shared::secret::Secret;
use dialtone_shared::secrets::{Cached, Rotating};
use dialtone_shared::store::{DynamoStore, StateKey};
use lambda_http::{Body, Request, Response};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};

/// The token the sample events in `events/` carry in their path.
pub const TOKEN: &str = "local-dev-token-0123456789";

pub type Item = HashMap<String, AttributeValue>;

/// Fails loudly when the local stack is not running.
pub fn require_local_stack() {
    assert!(
        std::env::var("AWS_ENDPOINT_URL").is_ok(),
        "AWS_ENDPOINT_URL is not set: run the suite with scripts/test, which starts the local stack"
    );
}

/// A stack of its own for one test; fails loudly when the local stack is not running.
pub async fn stack(name: &str) -> Stack {
    static N: AtomicU32 = AtomicU32::new(0);
    require_local_stack();
    let prefix = format!(
        "{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    );
    Stack::create(&aws::from_env().await, &prefix)
        .await
        .expect("local stack")
}

pub fn heartbeat_deps(stack: &Stack) -> Deps<HeartbeatReceiver, DynamoStore> {
    heartbeat_deps_with(DynamoStore::new(stack.dynamodb.clone(), &stack.table))
}

pub fn heartbeat_deps_with(store: DynamoStore) -> Deps<HeartbeatReceiver, DynamoStore> {
    Deps {
        receiver: HeartbeatReceiver {
            token: Cached::fixed(Secret::new(TOKEN.into()).expect("token")),
            policy: AlertPolicy::default(),
        },
        store,
    }
}

pub fn dispatcher_deps(
    stack: &Stack,
    topic_arn: &str,
) -> DispatcherDeps<DynamoStore, SnsPublisher> {
    DispatcherDeps {
        ledger: DynamoStore::new(stack.dynamodb.clone(), &stack.table),
        publisher: SnsPublisher::new(stack.sns.clone(), topic_arn),
        enricher: None,
    }
}

/// The dispatcher's handler, called in-process with the batch the pump built.
pub struct InProcess<'a, E = Option<dialtone_shared::heartbeat::enrich::DetailsEnricher>>(
    pub &'a DispatcherDeps<DynamoStore, SnsPublisher, E>,
);

impl<E: alert_dispatcher::AlertEnricher> Dispatch for InProcess<'_, E> {
    async fn dispatch(&self, event: Event) -> Result<DynamoDbEventResponse, LocalError> {
        let event = lambda_runtime::LambdaEvent::new(event, lambda_runtime::Context::default());
        alert_dispatcher::handler(self.0, event)
            .await
            .map_err(|e| LocalError::Invoke(e.to_string()))
    }
}

pub fn request(envelope: &str) -> Request {
    lambda_http::request::from_str(envelope).expect("HTTP API v2 envelope")
}

pub async fn send(
    deps: &Deps<HeartbeatReceiver, DynamoStore>,
    envelope: &str,
) -> (u16, serde_json::Value) {
    let response = dialtone_shared::pipeline::handler(deps, request(envelope))
        .await
        .expect("handler answers");
    answer(response)
}

pub fn answer(response: Response<Body>) -> (u16, serde_json::Value) {
    let status = response.status().as_u16();
    let body = match response.body() {
        Body::Text(t) => serde_json::from_str(t).expect("JSON body"),
        other => panic!("unexpected body {other:?}"),
    };
    (status, body)
}

/// Every item in the table, sorted by key.
pub async fn scan(stack: &Stack) -> Vec<Item> {
    // Every page: a scan stops at 1 MB, three quarantined bodies.
    let mut items: Vec<Item> = stack
        .dynamodb
        .scan()
        .table_name(&stack.table)
        .consistent_read(true)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<_, _>>()
        .await
        .expect("scan");
    items.sort_by_key(|i| (s(i, "pk"), s(i, "sk")));
    items
}

pub fn s(item: &Item, name: &str) -> String {
    match item.get(name) {
        Some(AttributeValue::S(v)) => v.clone(),
        Some(AttributeValue::N(v)) => v.clone(),
        other => panic!("{name} is {other:?}"),
    }
}

pub fn of_entity<'a>(items: &'a [Item], entity: &str) -> Vec<&'a Item> {
    items.iter().filter(|i| s(i, "entity") == entity).collect()
}

/// Plays the stream into the dispatcher (publishing to the stack's topic), then reads what
/// arrived on the inbox queue.
pub async fn publish_pending(stack: &Stack) -> Vec<dialtone_local::inbox::Received> {
    publish_pending_through(
        stack,
        None::<dialtone_shared::heartbeat::enrich::DetailsEnricher>,
    )
    .await
}

/// The same, with `enricher` adding to the alerts on their way out.
pub async fn publish_pending_through<E: alert_dispatcher::AlertEnricher>(
    stack: &Stack,
    enricher: E,
) -> Vec<dialtone_local::inbox::Received> {
    let plain = dispatcher_deps(stack, &stack.topic_arn);
    let dispatcher = DispatcherDeps {
        ledger: plain.ledger,
        publisher: plain.publisher,
        enricher,
    };
    let report = dialtone_local::pump::StreamPump::new(stack)
        .await
        .expect("stream")
        .drain(&InProcess(&dispatcher))
        .await
        .expect("pump");
    assert!(report.dead_lettered.is_empty(), "{report:?}");
    dialtone_local::inbox::drain(
        &stack.sqs,
        &stack.queue_url,
        std::time::Duration::from_secs(1),
    )
    .await
    .expect("inbox")
}

/// The secrets the Telerivet sample events carry (current) and a rotated-out one.
pub const TELERIVET_SECRET: &str = "local-telerivet-secret-0123456789";
pub const TELERIVET_OLD_SECRET: &str = "old-telerivet-secret-0123456789";

pub fn telerivet_deps(
    stack: &Stack,
    previous: Option<&str>,
) -> Deps<dialtone_shared::telerivet::receiver::TelerivetReceiver, DynamoStore> {
    use dialtone_shared::telerivet::receiver::{Burst, TelerivetReceiver};
    use dialtone_shared::telerivet::AutoReplies;
    let auto_replies = AutoReplies::from_json(
        r#"{"rules":[{"keyword":"hours","reply":"Open 9–6, Mon–Sat. नमस्ते!"}],
            "default":{"reply":"Thanks, we'll call you back.","variables":{"return_value":false}}}"#,
    )
    .expect("auto-replies");
    Deps {
        receiver: TelerivetReceiver {
            secrets: Cached::fixed(Rotating {
                current: Secret::new(TELERIVET_SECRET.into()).expect("secret"),
                previous: previous.map(|p| {
                    (
                        Secret::new(p.into()).expect("secret"),
                        DateTime::<Utc>::MAX_UTC,
                    )
                }),
            }),
            auto_replies,
            sms_failures: Burst {
                at_least: 10,
                window: chrono::Duration::minutes(15),
            },
            // The burst rule alone: a test of the failure ratio sets it.
            sms_failure_ratio: None,
            auth_failures: Burst {
                at_least: 5,
                window: chrono::Duration::hours(1),
            },
        },
        store: DynamoStore::new(stack.dynamodb.clone(), &stack.table),
    }
}

/// An envelope from `events/` with its body replaced by these form fields.
pub fn with_form(envelope: &str, fields: &[(&str, &str)]) -> Request {
    let mut value: serde_json::Value = serde_json::from_str(envelope).expect("envelope");
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    value["body"] = serde_json::Value::String(body);
    value["isBase64Encoded"] = serde_json::Value::Bool(false);
    request(&value.to_string())
}

pub async fn send_telerivet(
    deps: &Deps<dialtone_shared::telerivet::receiver::TelerivetReceiver, DynamoStore>,
    request: Request,
) -> (u16, serde_json::Value) {
    answer(
        dialtone_shared::pipeline::handler(deps, request)
            .await
            .expect("handler answers"),
    )
}

pub const VOIPSTUDIO_TOKEN: &str = "local-voipstudio-token-0123456789";
pub const EXOTEL_CALLS_TOKEN: &str = "local-exotel-calls-token-0123456789";

pub fn call_deps<P>(
    stack: &Stack,
    token: &str,
) -> Deps<dialtone_shared::calls::receiver::CallReceiver<P>, DynamoStore> {
    Deps {
        receiver: dialtone_shared::calls::receiver::CallReceiver::new(
            Cached::fixed(Secret::new(token.into()).expect("token")),
            chrono_tz::Asia::Kolkata,
        ),
        store: DynamoStore::new(stack.dynamodb.clone(), &stack.table),
    }
}

pub async fn send_call<P: dialtone_shared::calls::receiver::CallSource>(
    deps: &Deps<dialtone_shared::calls::receiver::CallReceiver<P>, DynamoStore>,
    envelope: &str,
) -> (u16, serde_json::Value) {
    answer(
        dialtone_shared::pipeline::handler(deps, request(envelope))
            .await
            .expect("handler answers"),
    )
}

/// `envelope` (a provider's sample request) with this body instead; its status code.
pub async fn send_call_body<P: dialtone_shared::calls::receiver::CallSource>(
    deps: &Deps<dialtone_shared::calls::receiver::CallReceiver<P>, DynamoStore>,
    envelope: &str,
    body: &str,
) -> u16 {
    answer(
        dialtone_shared::pipeline::handler(deps, with_body(envelope, body))
            .await
            .expect("handler answers"),
    )
    .0
}

/// A state row's `state` attribute, as JSON.
pub fn state_json(items: &[Item], pk: &str) -> serde_json::Value {
    let row = items
        .iter()
        .find(|i| s(i, "pk") == pk)
        .unwrap_or_else(|| panic!("no row {pk}"));
    serde_dynamo::from_attribute_value(row["state"].clone()).expect("state")
}

/// A counter's fields (without their `c:` prefix), summed over its shard items.
pub fn counter_json(items: &[Item], key: &str) -> serde_json::Value {
    let rows: Vec<&Item> = items
        .iter()
        .filter(|i| s(i, "pk") == format!("COUNTER#{key}"))
        .collect();
    assert!(!rows.is_empty(), "no counter {key}");
    let mut sum = std::collections::BTreeMap::<String, i64>::new();
    for row in rows {
        for (k, v) in row {
            if let (Some(field), Some(n)) = (
                k.strip_prefix("c:"),
                v.as_n().ok().and_then(|n| n.parse::<i64>().ok()),
            ) {
                *sum.entry(field.to_owned()).or_default() += n;
            }
        }
    }
    sum.into_iter()
        .map(|(k, n)| (k, serde_json::json!(n)))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// An envelope from `events/` with its body replaced (a JSON provider's body, as text).
pub fn with_body(envelope: &str, body: &str) -> Request {
    let mut value: serde_json::Value = serde_json::from_str(envelope).expect("envelope");
    value["body"] = serde_json::Value::String(body.to_owned());
    value["isBase64Encoded"] = serde_json::Value::Bool(false);
    request(&value.to_string())
}

/// The heartbeat's state rows, by their keys as stored (`STATE#<key>`).
pub const MONITOR_KEY: &str = "exotel-heartbeat";
pub const WATCHDOG_KEY: &str = "heartbeat-watchdog";

/// A state key as stored, read as the typed key the store takes.
pub fn state_key(text: &str) -> StateKey {
    text.parse().expect("a state key")
}

/// The stored state of `key`, as the receivers read it.
pub async fn state_of(stack: &Stack, key: &str) -> Option<serde_json::Value> {
    use dialtone_shared::store::EventStore;
    DynamoStore::new(stack.dynamodb.clone(), &stack.table)
        .load_state::<serde_json::Value>(&state_key(key))
        .await
        .expect("state")
        .map(|v| v.value)
}

/// The receiver's store, moved behind a fault proxy in front of this stack's moto.
pub async fn behind_proxy<R: dialtone_shared::pipeline::Receiver>(
    deps: Deps<R, DynamoStore>,
    stack: &Stack,
) -> (Deps<R, DynamoStore>, dialtone_local::faults::FaultProxy) {
    let moto = std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL");
    let proxy = dialtone_local::faults::FaultProxy::start(&moto)
        .await
        .expect("fault proxy");
    let client = dialtone_local::aws::dynamodb_through(proxy.url()).await;
    let deps = Deps {
        receiver: deps.receiver,
        store: DynamoStore::new(client, &stack.table),
    };
    (deps, proxy)
}

/// Every value in the table as text (binary values read as UTF-8, lossily), for looking
/// for what must never be stored.
pub fn stored_text(items: &[Item]) -> String {
    fn text(value: &AttributeValue, out: &mut String) {
        match value {
            AttributeValue::S(s) | AttributeValue::N(s) => out.push_str(s),
            AttributeValue::B(b) => out.push_str(&String::from_utf8_lossy(b.as_ref())),
            AttributeValue::L(list) => list.iter().for_each(|v| text(v, out)),
            AttributeValue::M(map) => map.iter().for_each(|(k, v)| {
                out.push_str(k);
                text(v, out)
            }),
            AttributeValue::Ss(list) | AttributeValue::Ns(list) => {
                list.iter().for_each(|s| out.push_str(s))
            }
            other => out.push_str(&format!("{other:?}")),
        }
        out.push('\n');
    }
    let mut out = String::new();
    for item in items {
        for (name, value) in item {
            out.push_str(name);
            text(value, &mut out);
        }
    }
    out
}

/// Ends every Telerivet test: no Telerivet secret, current or rotated out, is anywhere in
/// the table (in any row, quarantined bodies included).
pub async fn assert_no_telerivet_secret(stack: &Stack) {
    let stored = stored_text(&scan(stack).await);
    for secret in [TELERIVET_SECRET, TELERIVET_OLD_SECRET] {
        assert!(
            !stored.contains(secret),
            "the Telerivet secret {secret:?} was stored"
        );
    }
}

/// An Exotel client for a local stand-in at `base`: requests a millisecond apart, short
/// back-offs, `budget` requests and `max_attempts` tries each.
pub fn exotel_client(
    base: String,
    account_sid: &str,
    (api_key, api_token): (&str, &str),
    budget: u32,
    max_attempts: usize,
) -> dialtone_shared::exotel::client::ExotelClient {
    use dialtone_shared::exotel::client::{ApiCredentials, ExotelApi, ExotelClient};
    ExotelClient::new(ExotelApi {
        base,
        account_sid: account_sid.into(),
        credentials: Cached::fixed(ApiCredentials {
            api_key: api_key.into(),
            api_token: Secret::new(api_token.into()).expect("a token"),
        }),
        spacing: std::time::Duration::from_millis(1),
        budget,
        retry_base: std::time::Duration::from_millis(5),
        max_attempts,
    })
    .expect("an Exotel client")
}

/// The day each served record counts in: its own, or for one whose `DateCreated` is not
/// `YYYY-MM-DD HH:MM:SS`, the day of the readable record nearest before it on its page of
/// 100, else after it (docs/providers.md, "Calls counted as the tutorial counts them").
pub fn days_of(served: &[serde_json::Value]) -> Vec<Option<String>> {
    let own = |c: &serde_json::Value| {
        c["DateCreated"]
            .as_str()
            .filter(|d| chrono::NaiveDateTime::parse_from_str(d, "%Y-%m-%d %H:%M:%S").is_ok())
            .map(|d| d[..10].to_owned())
    };
    let mut days = Vec::new();
    for page in served.chunks(100) {
        for (i, c) in page.iter().enumerate() {
            days.push(own(c).or_else(|| {
                page[..i]
                    .iter()
                    .rev()
                    .find_map(own)
                    .or_else(|| page[i + 1..].iter().find_map(own))
            }));
        }
    }
    days
}

/// The served records counted on one of `days`.
pub fn on_days<'a>(served: &'a [serde_json::Value], days: &[&str]) -> Vec<&'a serde_json::Value> {
    served
        .iter()
        .zip(days_of(served))
        .filter(|(_, day)| day.as_deref().is_some_and(|d| days.contains(&d)))
        .map(|(c, _)| c)
        .collect()
}

/// The hour of a record, when its `DateCreated` can be read (the tutorial's `getHours()`
/// is `NaN` otherwise, and no hour is counted).
pub fn hour_of(c: &serde_json::Value) -> Option<usize> {
    let d = c["DateCreated"].as_str()?;
    chrono::NaiveDateTime::parse_from_str(d, "%Y-%m-%d %H:%M:%S").ok()?;
    d[11..13].parse().ok()
}

/// The tutorial's loop over served records, written out apart from the code under test:
/// every record counts in the total; `completed` is answered (with its `Duration`, text or
/// number), `no-answer` missed, `busy` busy, anything else failed.
pub fn tutorial_figures<'a>(
    calls: impl IntoIterator<Item = &'a serde_json::Value>,
) -> serde_json::Value {
    let mut figures = serde_json::json!({"total": 0, "answered": 0, "missed": 0, "busy": 0, "failed": 0, "answered_seconds": 0});
    let mut bump = |k: &str, n: i64| figures[k] = (figures[k].as_i64().unwrap() + n).into();
    for call in calls {
        bump("total", 1);
        match call["Status"].as_str().unwrap() {
            "completed" => {
                bump("answered", 1);
                let seconds = match &call["Duration"] {
                    serde_json::Value::String(s) => s.parse().unwrap(),
                    serde_json::Value::Number(n) => n.as_i64().unwrap(),
                    _ => 0,
                };
                bump("answered_seconds", seconds);
            }
            "no-answer" => bump("missed", 1),
            "busy" => bump("busy", 1),
            _ => bump("failed", 1),
        }
    }
    figures
}

/// The same figures as a call-log counter row holds them (a field never bumped is 0).
pub fn counted_figures(items: &[Item], key: &str) -> serde_json::Value {
    let row = counter_json(items, key);
    let pick = |k: &str| row.get(k).cloned().unwrap_or(0.into());
    serde_json::json!({"total": pick("total"), "answered": pick("answered"), "missed": pick("missed"), "busy": pick("busy"),
           "failed": pick("failed"), "answered_seconds": pick("answered_seconds")})
}

/// The token the dashboard's sample requests (`events/dashboard-*.json`) carry.
pub const DASHBOARD_TOKEN: &str = "local-dashboard-token-0123456789";

/// The dashboard against this stack's table, in the account's zone `tz`, with that token.
pub fn dashboard_deps(stack: &Stack, tz: chrono_tz::Tz) -> dashboard::Deps<DynamoStore, Secret> {
    dashboard::Deps::with_store(
        DynamoStore::new(stack.dynamodb.clone(), &stack.table),
        Secret::new(DASHBOARD_TOKEN.into()).expect("a token"),
        tz,
    )
}
