//! Auto-replies through the real Telerivet receiver and the local stack, with events shaped
//! as the Webhook API posts them (form fields, `state[id]`): a multi-step conversation, a
//! USSD session, several messages with a status secret that is answered but never stored,
//! and one message posted by two services.

mod common;

use common::*;
use dialtone_shared::telerivet::AutoReplies;
use serde_json::json;

const INCOMING: &str = include_str!("../../events/telerivet-incoming-message.json");
const SENT: &str = include_str!("../../events/telerivet-send-status-sent.json");

const RULES: &str = r#"{"rules":[
    {"keyword":"order","reply":"What size? S, M or L","next_state":"order_size"},
    {"state":"order_size","keyword":"m","reply":"Size M, thanks!","next_state":null,
     "variables":{"contact.vars.size":"M"}},
    {"state":"order_size","reply":"Please answer S, M or L"},
    {"keyword":"alert","reply":"We got it.","messages":[
        {"content":"A customer needs you","to_number":"+919800000001","route_id":"PN4d2a1b7c",
         "status_url":"https://example.test/telerivet/status","status_secret":"status-secret-0123456789"},
        {"content":"Logged","to_number":"+919800000002",
         "status_url":"https://dialtone.test/telerivet/webhook","status_secret_from":"webhook"}]},
    {"incoming_type":"ussd","keyword":"balance","messages":[{"message_type":"ussd","to_number":"*123*1#"}]}],
  "default":{"reply":"Thanks, we'll call you back."}}"#;

fn posted(id: &str, content: &str, extra: &[(&str, &str)]) -> lambda_http::Request {
    let mut fields = vec![
        ("event", "incoming_message"),
        ("id", id),
        ("content", content),
        ("from_number", "+15005550006"),
        ("phone_id", "PN4d2a1b7c"),
        ("project_id", "PJreplies"),
        ("secret", TELERIVET_SECRET),
    ];
    fields.extend_from_slice(extra);
    with_form(INCOMING, &fields)
}

#[tokio::test]
async fn a_conversation_a_ussd_session_and_several_messages_are_answered_as_configured() {
    let stack = stack("tr-replies").await;
    let mut deps = telerivet_deps(&stack, None);
    deps.receiver.auto_replies = AutoReplies::from_json(RULES).expect("rules");

    let (status, first) =
        send_telerivet(&deps, posted("SMr1", "Order", &[("message_type", "sms")])).await;
    assert_eq!(status, 200);
    assert_eq!(
        first,
        json!({"messages":[{"content":"What size? S, M or L"}],"variables":{"state.id":"order_size"}})
    );
    // Telerivet posts the next message with the state the webhook set.
    let (_, size) = send_telerivet(
        &deps,
        posted(
            "SMr2",
            "m",
            &[("message_type", "sms"), ("state[id]", "order_size")],
        ),
    )
    .await;
    assert_eq!(
        size,
        json!({"messages":[{"content":"Size M, thanks!"}],
               "variables":{"contact.vars.size":"M","state.id":null}})
    );
    let (_, other) = send_telerivet(
        &deps,
        posted("SMr3", "large", &[("state[id]", "order_size")]),
    )
    .await;
    assert_eq!(
        other,
        json!({"messages":[{"content":"Please answer S, M or L"}]})
    );

    let (_, ussd) = send_telerivet(
        &deps,
        posted(
            "SMr4",
            "Balance: 10.00 INR",
            &[("message_type", "ussd"), ("from_number", "*123#")],
        ),
    )
    .await;
    assert_eq!(
        ussd,
        json!({"messages":[{"to_number":"*123*1#","message_type":"ussd"}]})
    );

    let (_, alert) = send_telerivet(&deps, posted("SMr5", "alert!", &[])).await;
    assert_eq!(alert["messages"][0], json!({"content":"We got it."}));
    assert_eq!(
        alert["messages"][1]["status_secret"],
        "status-secret-0123456789"
    );
    assert_eq!(
        alert["messages"][2]["status_secret"], TELERIVET_SECRET,
        "dialtone's own webhook secret, as it is now"
    );
    // The retry gets the very same answer, though the secret was never stored.
    let (_, retry) = send_telerivet(&deps, posted("SMr5", "alert!", &[])).await;
    assert_eq!(retry, alert);
    let stored = stored_text(&scan(&stack).await);
    assert!(
        !stored.contains("status-secret-0123456789"),
        "a status secret was stored"
    );
    assert!(
        stored.contains("https://example.test/telerivet/status"),
        "the reply is kept"
    );
    assert_no_telerivet_secret(&stack).await;
}

/// Telerivet: "It's possible to have multiple services active at the same time … or multiple
/// Webhook services"; `service_id` is "the Telerivet service that is invoking this Webhook",
/// `message_service_id` the one that handled the message.
#[tokio::test]
async fn a_second_service_posting_the_same_message_is_not_sent_its_reply_again() {
    let stack = stack("tr-services").await;
    let deps = telerivet_deps(&stack, None);
    let posted_by = |service: &str| {
        with_form(
            INCOMING,
            &[
                ("event", "incoming_message"),
                ("id", "SMtwoservices"),
                ("content", "hours please"),
                ("message_type", "sms"),
                ("service_id", service),
                ("message_service_id", "SVwebhookA"),
                ("project_id", "PJservices"),
                ("secret", TELERIVET_SECRET),
            ],
        )
    };
    let first = send_telerivet(&deps, posted_by("SVwebhookA")).await;
    assert_eq!(first.0, 200);
    assert_eq!(
        first.1["messages"][0]["content"],
        "Open 9–6, Mon–Sat. नमस्ते!"
    );

    let second = send_telerivet(&deps, posted_by("SVcustomActionsB")).await;
    assert_eq!(second.0, 200);
    assert_eq!(
        second.1,
        json!({"result": "duplicate", "alerts": 0}),
        "no messages: the customer is not answered twice"
    );
    let retry = send_telerivet(&deps, posted_by("SVwebhookA")).await;
    assert_eq!(
        retry, first,
        "the first service's retry still gets its reply"
    );

    let items = scan(&stack).await;
    let today = chrono::Utc::now().format("%Y-%m-%d");
    let day = counter_json(&items, &format!("telerivet:sms:PJservices:{today}"));
    assert_eq!(day["incoming"], 1, "counted once: {day}");
}

#[tokio::test]
async fn a_retried_incoming_message_gets_the_stored_reply_not_a_second_one() {
    let stack = stack("tr-reply").await;
    let mut deps = telerivet_deps(&stack, None);
    let first = send_telerivet(&deps, request(INCOMING)).await;
    // Even if the rules change between the two deliveries, the customer gets one answer.
    deps.receiver.auto_replies = Default::default();
    let retry = send_telerivet(&deps, request(INCOMING)).await;
    assert_eq!(first, retry);
    assert_eq!(
        first.1["messages"][0]["content"],
        "Open 9–6, Mon–Sat. नमस्ते!"
    );
    let other = with_form(
        SENT,
        &[
            ("event", "incoming_message"),
            ("id", "SMnew"),
            ("content", "hello"),
            ("secret", TELERIVET_SECRET),
        ],
    );
    let with_default = telerivet_deps(&stack, None);
    assert_eq!(
        send_telerivet(&with_default, other).await.1,
        json!({"messages": [{"content": "Thanks, we'll call you back."}], "variables": {"return_value": false}})
    );
    assert_no_telerivet_secret(&stack).await;
}
