//! The live calls' figures end to end: Exotel WebRTC call notifications and VoIPstudio
//! webhooks through the real receivers, then the dashboard's API and page read from the
//! same table: the figures per agent, outbound calls nobody picked up, recordings, SMS.

mod common;

use common::*;
use dialtone_shared::calls::receiver::{ExotelCalls, Voipstudio};
use serde_json::json;

/// Exotel's sample call notification: the envelope each body is sent in.
const EXOTEL_ENVELOPE: &str = include_str!("../../events/exotel-call-incoming-call.json");

/// The dashboard's API, page, and one call's API (`/api/calls/<call>`) at `now`, read
/// from the stack.
async fn dashboard_at(
    stack: &dialtone_local::stack::Stack,
    now: &str,
    call: &str,
) -> (serde_json::Value, String, serde_json::Value) {
    let deps = dashboard_deps(stack, chrono_tz::Asia::Kolkata);
    let api = include_str!("../../events/dashboard-api.json");
    let now = now.parse().unwrap();
    let get = |path: &str| request(&api.replace("/api/dashboard", path));
    let (status, view) = answer(dashboard::answer(&deps, request(api), now).await);
    assert_eq!(status, 200);
    let page = dashboard::answer(&deps, get("/"), now).await;
    let lambda_http::Body::Text(page) = page.body() else {
        panic!("an HTML page")
    };
    let (status, call) =
        answer(dashboard::answer(&deps, get(&format!("/api/calls/{call}")), now).await);
    assert_eq!(status, 200, "{call}");
    (view, page.clone(), call)
}

/// Exotel WebRTC's documented payloads, per agent: answered by another agent than the one
/// it rang for (delivered last first, then all again as Exotel retries), missed, and an
/// outbound call nobody picked up; VoIPstudio's SMS. The dashboard shows each agent once.
#[tokio::test]
async fn agents_figures_and_sms_reach_the_dashboard_whatever_the_order_and_retries() {
    let stack = stack("calls-agents").await;
    let exotel = call_deps::<ExotelCalls>(&stack, EXOTEL_CALLS_TOKEN);
    let answered = [
        r#"{"event":"incoming_call","call_sid":"a1","direction":"inbound","from":"+919876543210","to":"sip:agent_001@app.exotel.com","app_id":"app_abc123","user_id":"agent_001","exophone":"+918030752522","timestamp":"2026-11-01T11:00:00.000Z"}"#,
        r#"{"event":"call_answered","call_sid":"a1","status":"in-progress","answered_by":"agent_002","device":"sip","timestamp":"2026-11-01T11:00:05.000Z"}"#,
        r#"{"event":"call_completed","call_sid":"a1","status":"completed","duration":300,"talk_time":295,"recording_available":true,"timestamp":"2026-11-01T11:05:05.000Z"}"#,
    ];
    for i in [2, 1, 0, 0, 1, 2] {
        assert_eq!(
            send_call_body(&exotel, EXOTEL_ENVELOPE, answered[i]).await,
            200
        );
    }
    let others = [
        r#"{"event":"call_missed","call_sid":"m1","status":"no-answer","ring_time":30,"timestamp":"2026-11-01T11:10:31.000Z"}"#,
        r#"{"event":"incoming_call","call_sid":"m1","direction":"inbound","from":"+919876500033","to":"sip:agent_001@app.exotel.com","user_id":"agent_001","exophone":"+918030752522","timestamp":"2026-11-01T11:10:00.000Z"}"#,
        r#"{"event":"call_missed","call_sid":"o1","status":"no-answer","ring_time":30,"timestamp":"2026-11-01T11:20:31.000Z"}"#,
        r#"{"event":"outbound_call","call_sid":"o1","direction":"outbound","from":"sip:agent_001@app.exotel.com","to":"+919876500044","user_id":"agent_001","exophone":"+918030752522","timestamp":"2026-11-01T11:20:00.000Z"}"#,
    ];
    for body in others {
        assert_eq!(send_call_body(&exotel, EXOTEL_ENVELOPE, body).await, 200);
    }
    let voipstudio = call_deps::<Voipstudio>(&stack, VOIPSTUDIO_TOKEN);
    // Delivered twice: the second is a redelivery of the same event id.
    let sms = include_str!("../../events/voipstudio-sms-received.json");
    for _ in 0..2 {
        assert_eq!(send_call(&voipstudio, sms).await.0, 200);
    }

    let items = scan(&stack).await;
    let call = state_json(&items, "STATE#call:exotel-webrtc:a1");
    assert_eq!(
        (
            call["answered_by"].clone(),
            call["recording_available"].clone()
        ),
        (json!("agent_002"), json!(true))
    );
    let owed = state_json(&items, "STATE#callback:+919876500033");
    assert_eq!(
        (
            owed["missed"][0]["call_id"].clone(),
            owed["closed_at"].clone()
        ),
        (json!("m1"), serde_json::Value::Null),
        "the inbound caller missed is owed a call"
    );
    let outbound = state_json(&items, "STATE#call:exotel-webrtc:o1");
    assert_eq!(outbound["counted"], "unanswered");
    assert!(
        !items
            .iter()
            .any(|i| s(i, "pk") == "STATE#callback:+919876500044"),
        "an outbound call nobody picked up owes nobody a call"
    );

    let (view, page, call) = dashboard_at(&stack, "2026-11-01T12:00:00Z", "exotel-webrtc/a1").await;
    assert_eq!(
        (
            call["outcome"].clone(),
            call["agent"].clone(),
            call["device"].clone(),
            call["recordingAvailable"].clone(),
            call["talkSeconds"].clone(),
        ),
        (
            json!("answered"),
            json!("agent_002"),
            json!("sip"),
            json!(true),
            json!(295)
        )
    );
    assert_eq!(
        view["agents"],
        json!([
            {"provider": "exotel-webrtc", "agent": "agent_001", "calls": 2, "answered": 0,
             "missed": 1, "unanswered": 1, "talkSeconds": 0, "averageTalk": null,
             "recorded": 0, "devices": {}},
            {"provider": "exotel-webrtc", "agent": "agent_002", "calls": 1, "answered": 1,
             "missed": 0, "unanswered": 0, "talkSeconds": 295, "averageTalk": "4m 55s",
             "recorded": 1, "devices": {"sip": 1}},
        ])
    );
    assert_eq!(
        view["callEvents"]["exotel-webrtc"],
        json!({"calls": 3, "answered": 1, "missed": 1, "unanswered": 1, "recorded": 1,
               "talk_seconds": 295, "talked": 1})
    );
    assert_eq!(view["callEvents"]["voipstudio"], json!({"sms": 1}));
    for (pointer, shown) in [
        ("/agents/1/agent", "agent_002"),
        ("/agents/1/answered", "1"),
        ("/agents/1/averageTalk", "4m 55s"),
        ("/agents/0/missed", "1"),
        ("/callEvents/voipstudio/sms", "1"),
        ("/callEvents/exotel-webrtc/unanswered", "1"),
    ] {
        let figure = format!("<span data-figure=\"{pointer}\">{shown}</span>");
        assert!(page.contains(&figure), "{figure} not on the page");
    }
}
