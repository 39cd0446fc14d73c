//! SMS that stops silently, on the local stack: a phone whose messages stay `queued` raises
//! one "SMS gateway not sending" alert and its next sent message resolves it; a phone held
//! back by its send limit is not stuck; Telerivet's REST API (a local stand-in with the
//! documented shapes) finds a phone the webhooks never told about; and failures that are a
//! large share of a small sender's window raise the ratio alert.

mod common;

use axum::extract::Path;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Duration, Utc};
use common::*;
use dialtone_shared::secret::Secret;
use dialtone_shared::secrets::Cached;
use dialtone_shared::store::DynamoStore;
use dialtone_shared::telerivet::gateway::StuckPolicy;
use dialtone_shared::telerivet::receiver::FailureRatio;
use dialtone_shared::telerivet::rest::{TelerivetApi, TelerivetClient};
use serde_json::json;
use sms_watchdog::{sweep, Deps, Summary};
use std::collections::HashMap;

fn json_response(value: serde_json::Value) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

const SENT: &str = include_str!("../../events/telerivet-send-status-sent.json");

fn policy() -> StuckPolicy {
    StuckPolicy {
        after: Duration::minutes(5),
        at_least: 1,
    }
}

fn watchdog(
    stack: &dialtone_local::stack::Stack,
    api: Option<TelerivetClient>,
) -> Deps<DynamoStore> {
    Deps {
        store: DynamoStore::new(stack.dynamodb.clone(), &stack.table),
        policy: policy(),
        api,
    }
}

/// A `send_status` of message `id` from phone `phone`, first queued at `created`.
fn status(id: &str, phone: &str, status: &str, created: DateTime<Utc>) -> lambda_http::Request {
    with_form(
        SENT,
        &[
            ("event", "send_status"),
            ("id", id),
            ("status", status),
            ("message_type", "sms"),
            ("phone_id", phone),
            ("project_id", "PJgw"),
            ("time_created", &created.timestamp().to_string()),
            ("secret", TELERIVET_SECRET),
        ],
    )
}

/// Posts `status` for the messages `<prefix>00`… of `range`, from `phone`, queued at `at`.
async fn post_each(
    deps: &dialtone_shared::pipeline::Deps<
        dialtone_shared::telerivet::receiver::TelerivetReceiver,
        DynamoStore,
    >,
    prefix: &str,
    range: std::ops::Range<usize>,
    phone: &str,
    state: &str,
    at: DateTime<Utc>,
) {
    for i in range {
        let request = status(&format!("{prefix}{i:02}"), phone, state, at);
        assert_eq!(
            send_telerivet(deps, request).await.0,
            200,
            "{prefix}{i:02} {state}"
        );
    }
}

#[tokio::test]
async fn a_phones_stuck_messages_raise_one_alert_and_its_next_sent_message_resolves_it() {
    let stack = stack("sms-stuck").await;
    let deps = telerivet_deps(&stack, None);
    let now = Utc::now();
    // Three messages queued 12, 9 and 2 minutes ago on a phone that sends nothing.
    for (id, ago) in [("SMq1", 12), ("SMq2", 9), ("SMq3", 2)] {
        let queued = status(id, "PNoff", "queued", now - Duration::minutes(ago));
        assert_eq!(send_telerivet(&deps, queued).await.0, 200);
    }
    // Another phone's message was queued and sent: that phone is fine.
    for state in ["queued", "sent"] {
        let request = status("SMok1", "PNon", state, now - Duration::minutes(20));
        assert_eq!(send_telerivet(&deps, request).await.0, 200);
    }

    let dog = watchdog(&stack, None);
    let first = sweep(&dog, now).await.expect("sweep");
    assert_eq!(
        first,
        Summary {
            stuck: 1,
            raised: 1,
            resolved: 0
        }
    );
    // The next runs see the same phone stuck, and raise nothing more.
    let again = sweep(&dog, now + Duration::minutes(1))
        .await
        .expect("sweep");
    assert_eq!(again.raised, 0);

    let published = publish_pending(&stack).await;
    assert_eq!(published.len(), 1, "{published:?}");
    let alert = &published[0].alert;
    assert_eq!(published[0].attributes["kind"], "sms_gateway_not_sending");
    assert!(alert.status.contains("PNoff"), "{}", alert.status);
    assert!(alert.status.contains("2 message(s)"), "{}", alert.status);
    assert!(
        alert.notes[0].contains("SMq1"),
        "the oldest: {:?}",
        alert.notes
    );
    assert_eq!(
        published[0]
            .subject
            .as_deref()
            .map(|s| s.starts_with("[WARNING] SMS gateway not sending")),
        Some(true)
    );

    // The phone comes back: its next message is sent.
    let back = now + Duration::minutes(2);
    for state in ["queued", "sent"] {
        let request = status("SMq4", "PNoff", state, back);
        assert_eq!(send_telerivet(&deps, request).await.0, 200);
    }
    let resolved = sweep(&dog, Utc::now()).await.expect("sweep");
    assert_eq!(resolved.resolved, 1, "{resolved:?}");
    let published = publish_pending(&stack).await;
    assert_eq!(published.len(), 1, "{published:?}");
    assert_eq!(published[0].attributes["kind"], "sms_gateway_sending");
    assert!(published[0].alert.status.contains("PNoff"));
    // Resolved once: a later run, the old messages still waiting, raises nothing, because
    // the phone is sending again.
    let later = sweep(&dog, Utc::now()).await.expect("sweep");
    assert_eq!((later.raised, later.resolved), (0, 0));
    // Ten idle minutes on, the old messages still waiting: a new episode, a new alert (a
    // "sending again" is never published without its "not sending").
    let idle = sweep(&dog, Utc::now() + Duration::minutes(10))
        .await
        .expect("sweep");
    assert_eq!((idle.raised, idle.resolved), (1, 0));
    let published = publish_pending(&stack).await;
    assert_eq!(published.len(), 1, "{published:?}");
    assert_eq!(published[0].attributes["kind"], "sms_gateway_not_sending");
    assert!(
        published[0].alert.notes[1].starts_with("its last message sent 10m"),
        "{:?}",
        published[0].alert.notes
    );
}

#[tokio::test]
async fn a_phone_held_back_by_its_send_limit_is_not_stuck() {
    let stack = stack("sms-throttled").await;
    let deps = telerivet_deps(&stack, None);
    let now = Utc::now();
    // A broadcast: many messages queued 20 minutes ago, and the phone sending them one by one.
    for i in 0..6 {
        let request = status(
            &format!("SMb{i}"),
            "PNbusy",
            "queued",
            now - Duration::minutes(20),
        );
        assert_eq!(send_telerivet(&deps, request).await.0, 200);
    }
    let sent = status("SMb0", "PNbusy", "sent", now - Duration::minutes(20));
    assert_eq!(send_telerivet(&deps, sent).await.0, 200);

    let summary = sweep(&watchdog(&stack, None), Utc::now())
        .await
        .expect("sweep");
    assert_eq!(
        summary,
        Summary {
            stuck: 1,
            raised: 0,
            resolved: 0
        }
    );
    assert!(publish_pending(&stack).await.is_empty());
}

/// The REST API as Telerivet documents it: phones and a phone's messages, as
/// `{"data": [...], "truncated", "next_marker"}`, a count as `{"count": N}`, HTTP Basic
/// with the API key as the user name.
async fn telerivet_stand_in(key: &'static str, now: DateTime<Utc>) -> String {
    let expected = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("{key}:")
        )
    );
    let authorised = move |headers: &HeaderMap| {
        headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(expected.as_str())
    };
    let check = authorised.clone();
    let phones = move |Path(project): Path<String>, headers: HeaderMap| async move {
        if !check(&headers) || project != "PJrest" {
            return StatusCode::UNAUTHORIZED.into_response();
        }
        json_response(json!({
            "data": [
                // Connected a minute ago: its queue is not asked about.
                {"id": "PNlive", "name": "Front desk", "phone_type": "android", "send_paused": false,
                 "last_active_time": (now - Duration::minutes(1)).timestamp(), "project_id": project},
                // Silent for 40 minutes, with a message queued through the REST API.
                {"id": "PNgone", "name": "Warehouse", "phone_type": "android", "send_paused": false,
                 "last_active_time": (now - Duration::minutes(40)).timestamp(), "battery": 3,
                 "project_id": project}
            ],
            "truncated": false,
            "next_marker": null
        }))
    };
    let messages = move |Path((project, phone)): Path<(String, String)>,
                         uri: Uri,
                         headers: HeaderMap| async move {
        let query: HashMap<String, String> =
            form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
                .into_owned()
                .collect();
        if !authorised(&headers) || project != "PJrest" {
            return StatusCode::UNAUTHORIZED.into_response();
        }
        assert_eq!(
            phone, "PNgone",
            "only the silent phone's queue is asked about"
        );
        assert_eq!(query.get("status").map(String::as_str), Some("queued"));
        assert_eq!(query.get("direction").map(String::as_str), Some("outgoing"));
        if query.contains_key("count") {
            return json_response(json!({"count": 3}));
        }
        json_response(json!({
            "data": [{"id": "SMrest1", "status": "queued", "direction": "outgoing",
                      "time_created": (now - Duration::minutes(25)).timestamp(),
                      "phone_id": phone, "source": "api"}],
            "truncated": true,
            "next_marker": "m1"
        }))
    };
    let app = axum::Router::new()
        .route("/v1/projects/{project}/phones", get(phones))
        .route(
            "/v1/projects/{project}/phones/{phone}/messages",
            get(messages),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}/v1")
}

#[tokio::test]
async fn telerivets_rest_api_finds_a_silent_phone_the_webhooks_never_told_of() {
    let stack = stack("sms-rest").await;
    let now = Utc::now();
    let key = "rest-api-key-for-the-stand-in";
    let client = |sent: &'static str| async move {
        TelerivetClient::new(TelerivetApi {
            base: telerivet_stand_in(key, now).await,
            project_id: "PJrest".into(),
            api_key: Cached::fixed(Secret::new(sent.into()).expect("key")),
        })
        .expect("client")
    };
    let summary = sweep(&watchdog(&stack, Some(client(key).await)), now)
        .await
        .expect("sweep");
    assert_eq!(
        summary,
        Summary {
            stuck: 1,
            raised: 1,
            resolved: 0
        }
    );
    let published = publish_pending(&stack).await;
    assert_eq!(published.len(), 1, "{published:?}");
    let alert = &published[0].alert;
    assert!(
        alert.status.contains("PNgone") && alert.status.contains("3 message(s)"),
        "{}",
        alert.status
    );
    assert!(alert.notes[0].contains("SMrest1"), "{:?}", alert.notes);
    assert!(
        alert
            .notes
            .iter()
            .any(|n| n.starts_with("last connected to Telerivet 40m")),
        "{:?}",
        alert.notes
    );

    // A wrong key is refused by the stand-in: the run goes on with the webhooks' view.
    let wrong = client("another-key-entirely").await;
    let summary = sweep(&watchdog(&stack, Some(wrong)), now)
        .await
        .expect("sweep");
    // The alert stands: a run that could not ask the API does not resolve what it showed.
    assert_eq!(
        summary,
        Summary {
            stuck: 0,
            raised: 0,
            resolved: 0
        }
    );
}

/// The Telerivet receiver with the template's failure ratio (5 failures, over 20 % of the
/// sends of the window their messages were queued in).
fn with_the_ratio(
    stack: &dialtone_local::stack::Stack,
) -> dialtone_shared::pipeline::Deps<
    dialtone_shared::telerivet::receiver::TelerivetReceiver,
    DynamoStore,
> {
    let mut deps = telerivet_deps(stack, None);
    deps.receiver.sms_failure_ratio = Some(FailureRatio {
        at_least: 5,
        above_percent: 20,
    });
    deps
}

/// The start of the 15-minute window `at` falls in: messages queued in it share a sends row.
fn window_of(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(at.timestamp() - at.timestamp().rem_euclid(900), 0).expect("a time")
}

#[tokio::test]
async fn six_failures_out_of_twenty_sends_raise_the_ratio_alert() {
    let stack = stack("sms-ratio").await;
    let deps = with_the_ratio(&stack);
    // Queued in one window (Telerivet's `time_created`), whenever their statuses arrive.
    let queued = window_of(Utc::now()) + Duration::seconds(60);
    post_each(&deps, "SMr", 0..20, "PNr", "queued", queued).await;
    for i in 0..6 {
        let request = status(&format!("SMr{i:02}"), "PNr", "failed", queued);
        assert_eq!(send_telerivet(&deps, request).await.0, 200);
        let alerts = of_entity(&scan(&stack).await, "alert").len();
        // 5 of 20 is 25 %: the fifth failure already crosses 20 %.
        assert_eq!(alerts, usize::from(i >= 4), "after failure {}", i + 1);
    }
    let published = publish_pending(&stack).await;
    assert_eq!(published.len(), 1, "{published:?}");
    assert_eq!(published[0].attributes["kind"], "sms_failures");
    let status = &published[0].alert.status;
    assert!(
        status.starts_with("5 of the 20 SMS sent in project PJgw since ")
            && status.ends_with("failed (25%)"),
        "{status}"
    );
}

#[tokio::test]
async fn a_large_senders_few_failures_raise_nothing() {
    let stack = stack("sms-ratio-large").await;
    let deps = with_the_ratio(&stack);
    let queued = window_of(Utc::now()) + Duration::seconds(60);
    post_each(&deps, "SMl", 0..40, "PNl", "queued", queued).await;
    // 8 of 40 is exactly 20 %: not more than it, and under the burst's 10.
    post_each(&deps, "SMl", 0..8, "PNl", "failed", queued).await;
    assert!(of_entity(&scan(&stack).await, "alert").is_empty());
}

#[tokio::test]
async fn late_delivery_reports_are_judged_against_the_window_their_messages_were_sent_in() {
    let stack = stack("sms-ratio-late").await;
    let deps = with_the_ratio(&stack);
    // 40 messages sent half an hour ago, in an earlier window than their reports.
    let queued = window_of(Utc::now()) - Duration::minutes(30);
    post_each(&deps, "SMd", 0..40, "PNd", "queued", queued).await;
    // Now, in this window, 6 of them come back not delivered: 15 % of their window's
    // sends. Judged against this window's sends (none), it would be 100 %.
    post_each(&deps, "SMd", 0..6, "PNd", "not_delivered", queued).await;
    assert!(of_entity(&scan(&stack).await, "alert").is_empty());
    // Three more (9 of 40, 22.5 %) raise it, naming the window they were sent in.
    post_each(&deps, "SMd", 6..9, "PNd", "not_delivered", queued).await;
    let published = publish_pending(&stack).await;
    assert_eq!(published.len(), 1, "{published:?}");
    let sent_in = window_of(queued).format("%H:%M UTC").to_string();
    let status = &published[0].alert.status;
    assert!(
        status.starts_with(&format!(
            "9 of the 40 SMS sent in project PJgw since {sent_in}"
        )),
        "{status}"
    );
}
