use super::*;
use serde_json::json;

fn message(content: &str, message_type: Option<&str>) -> IncomingMessage {
    IncomingMessage {
        id: "SM1".into(),
        message_type: message_type.map(str::to_owned),
        content: content.into(),
        from_number: None,
        from_number_e164: None,
        to_number: None,
        time_created: None,
        time_sent: None,
        contact_id: None,
        phone_id: None,
        service_id: None,
        project_id: None,
        media: vec![],
        contact: None,
        state: None,
        phone: None,
    }
}

fn replies() -> AutoReplies {
    AutoReplies::from_json(
        r#"{"rules":[{"keyword":"HOURS","reply":"9–6, Mon–Sat"},
                     {"keyword":"stop","reply":"Unsubscribed.","variables":{"contact.send_blocked":true}},
                     {"keyword":"agent","variables":{"return_value":false}}],
            "default":{"reply":"Thanks! We'll call you back."}}"#,
    )
    .unwrap()
}

#[test]
fn keyword_rules_match_the_first_word_in_any_case() {
    let r = replies();
    assert_eq!(
        r.reply_for(&message("hours?", Some("sms"))),
        Some(json!({"messages":[{"content":"9–6, Mon–Sat"}]}))
    );
    assert_eq!(
        r.reply_for(&message("  STOP please", None)),
        Some(
            json!({"messages":[{"content":"Unsubscribed."}],"variables":{"contact.send_blocked":true}})
        )
    );
    assert_eq!(
        r.reply_for(&message("Agent", Some("sms"))),
        Some(json!({"variables":{"return_value":false}})),
        "variables alone fall through to the next service"
    );
}

#[test]
fn anything_else_gets_the_default_and_calls_get_nothing() {
    let r = replies();
    assert_eq!(
        r.reply_for(&message("नमस्ते", Some("sms"))),
        Some(json!({"messages":[{"content":"Thanks! We'll call you back."}]}))
    );
    assert_eq!(r.reply_for(&message("hours", Some("call"))), None);
    assert_eq!(
        AutoReplies::default().reply_for(&message("hours", Some("sms"))),
        None
    );
}

/// `text` is refused with an error that says `says`.
fn refused(text: &str, says: &str) {
    let err = AutoReplies::from_json(text).unwrap_err();
    assert!(err.contains(says), "{err:?} should say {says:?}");
}

#[test]
fn configuration_mistakes_are_reported() {
    refused(
        r#"{"rules":[{"reply":"no keyword"}]}"#,
        "rule 1 needs a keyword or a state",
    );
    refused(r#"{"rulez":[]}"#, "unknown field `rulez`");
    refused("not json", "Syntax error at line 1, column 2");
}

fn in_state(content: &str, state: &str) -> IncomingMessage {
    IncomingMessage {
        state: Some(crate::telerivet::model::State {
            id: Some(state.into()),
            time_created: None,
            vars: Default::default(),
        }),
        ..message(content, Some("sms"))
    }
}

/// The Webhook API's own example response (its trailing comma left out): two SMS, one to
/// another number from a given route, and a USSD request.
#[test]
fn several_messages_are_answered_as_the_documents_example() {
    let r = AutoReplies::from_json(
        r#"{"rules":[{"keyword":"help","messages":[
              {"content":"Reply message text"},
              {"content":"Another message text","to_number":"+16505550123","route_id":"YOUR_PHONE_ID"},
              {"to_number":"*104*12312312*456#","message_type":"ussd"}]}]}"#,
    )
    .unwrap();
    assert_eq!(
        r.reply_for(&message("HELP", Some("sms"))),
        Some(json!({"messages":[
            {"content":"Reply message text"},
            {"content":"Another message text","to_number":"+16505550123","route_id":"YOUR_PHONE_ID"},
            {"to_number":"*104*12312312*456#","message_type":"ussd"}
        ]}))
    );
}

#[test]
fn a_reply_and_messages_together_send_the_reply_first() {
    let r = AutoReplies::from_json(
        r#"{"rules":[{"keyword":"alert","reply":"We got it.","messages":[
              {"content":"A customer needs you","to_number":"+919800000001",
               "status_url":"https://example.test/telerivet/status","status_secret":"s3cret-status"}]}]}"#,
    )
    .unwrap();
    let kept = r.reply_for(&message("alert now", Some("sms"))).unwrap();
    assert_eq!(kept["messages"][0], json!({"content":"We got it."}));
    assert!(
        !kept.to_string().contains("s3cret-status"),
        "decided and stored without: {kept}"
    );
    // Each answer gets it from the rules.
    let sent = r.with_secrets(kept, None);
    assert_eq!(sent["messages"][1]["status_secret"], "s3cret-status");
    assert!(!r.needs_webhook_secret());
}

#[test]
fn a_ussd_session_is_answered_only_by_a_rule_for_ussd() {
    let r = AutoReplies::from_json(
        r#"{"rules":[{"keyword":"balance","reply":"an SMS"},
                     {"incoming_type":"ussd","keyword":"balance","messages":[{"message_type":"ussd","to_number":"*123*1#"}]}],
            "default":{"reply":"Thanks!"}}"#,
    )
    .unwrap();
    assert_eq!(
        r.reply_for(&message("Balance: 10.00", Some("ussd"))),
        Some(json!({"messages":[{"to_number":"*123*1#","message_type":"ussd"}]}))
    );
    assert_eq!(
        r.reply_for(&message("menu", Some("ussd"))),
        None,
        "the default answers text messages only"
    );
}

#[test]
fn a_missed_call_can_be_answered_by_sms_when_a_rule_says_so() {
    refused(
        r#"{"rules":[{"incoming_type":"call","state":"any","reply":"unused"},
                     {"incoming_type":"call","keyword":"","state":"","reply":"x"}]}"#,
        "rule 2 needs a keyword or a state",
    );
    let r = AutoReplies::from_json(
        r#"{"default":{"incoming_type":"call","reply":"Sorry we missed you, we will call back."}}"#,
    )
    .unwrap();
    assert_eq!(
        r.reply_for(&message("", Some("call"))),
        Some(json!({"messages":[{"content":"Sorry we missed you, we will call back."}]}))
    );
    assert_eq!(r.reply_for(&message("hi", Some("sms"))), None);
}

/// The document's multi-step flow: "The state[id] parameter lets you keep track of the
/// contact's current state … Your webhook can also update the contact's current state".
#[test]
fn a_conversation_moves_through_its_states() {
    let r = AutoReplies::from_json(
        r#"{"rules":[
              {"keyword":"order","reply":"What size? S, M or L","next_state":"order_size"},
              {"state":"order_size","keyword":"m","reply":"Size M, thanks!","next_state":null,
               "variables":{"contact.vars.size":"M"}},
              {"state":"order_size","reply":"Please answer S, M or L"},
              {"keyword":"hours","reply":"Open 9-6"}],
            "default":{"reply":"Thanks!"}}"#,
    )
    .unwrap();
    assert_eq!(
        r.reply_for(&message("Order please", Some("sms"))),
        Some(json!({"messages":[{"content":"What size? S, M or L"}],
                    "variables":{"state.id":"order_size"}}))
    );
    assert_eq!(
        r.reply_for(&in_state("m", "order_size")),
        Some(json!({"messages":[{"content":"Size M, thanks!"}],
                    "variables":{"contact.vars.size":"M","state.id":null}}))
    );
    assert_eq!(
        r.reply_for(&in_state("hours?", "order_size")),
        Some(json!({"messages":[{"content":"Please answer S, M or L"}]})),
        "within a step, the step's own rules come first"
    );
    assert_eq!(
        r.reply_for(&in_state("hours?", "elsewhere")),
        Some(json!({"messages":[{"content":"Open 9-6"}]})),
        "a state no rule names: the rules for any state"
    );
}

#[test]
fn every_mistake_in_the_rules_is_named() {
    refused(
        r#"{"rules":[{"keyword":"a","messages":[{"to_number":"+1"}]}]}"#,
        "rule 1, message 1: an SMS needs its content",
    );
    refused(
        r#"{"rules":[{"keyword":"a","messages":[{"message_type":"ussd"}]}]}"#,
        "the code to dial",
    );
    refused(
        r#"{"rules":[{"keyword":"a","messages":[{"message_type":"fax","content":"x"}]}]}"#,
        "unknown variant",
    );
    refused(
        r#"{"rules":[{"keyword":"a","messages":[{"content":"x","status_url":"not a url"}]}]}"#,
        "status_url is not a URL",
    );
    refused(
        r#"{"rules":[{"keyword":"a","messages":[{"content":"x","status_url":"ftp://h.test/?t=tok","status_secret_from":"webhook"}]}]}"#,
        "status_url on h.test is not an http(s) URL",
    );
    refused(
        r#"{"rules":[{"keyword":"a","messages":[{"content":"x","status_url":"https://h.test/","status_secret":"s","status_secret_from":"webhook"}]}]}"#,
        "both status_secret and status_secret_from",
    );
    refused(
        r#"{"rules":[{"keyword":"a","messages":[{"content":"x","status_url":"https://h.test/","status_secret_from":"vault"}]}]}"#,
        "unknown variant",
    );
    refused(
        r#"{"default":{"keyword":"a","reply":"x"}}"#,
        "the default answers whatever no rule does",
    );
    refused(
        r#"{"rules":[{"keyword":"a","messages":[{"content":"x","status_secret":"s"}]}]}"#,
        "status_secret without a status_url",
    );
    refused(
        r#"{"rules":[{"keyword":"a","next_state":3}]}"#,
        "next_state 3",
    );
    refused(
        r#"{"rules":[{"keyword":"a","next_state":"b","variables":{"state.id":"c"}}]}"#,
        "sets the state twice",
    );
    refused(r#"{"rules":[{"keyword":"a"}]}"#, "rule 1 does nothing");
    refused(
        r#"{"rules":[{"keyword":"two words","reply":"x"}]}"#,
        "more than one word",
    );
    refused(
        r#"{"rules":[{"keyword":"a","reply":"x"},{"incoming_type":"fax","keyword":"b","reply":"x"}]}"#,
        "rule 2: incoming_type",
    );
    refused(
        r#"{"rules":[{"keyword":"a","messages":[{"content":"x","status_url":"https://a.test/s","status_secret":"one"}]},
                     {"keyword":"b","messages":[{"content":"y","status_url":"https://a.test/s","status_secret":"two"}]}]}"#,
        "two status secrets for one status_url",
    );
    refused(
        r#"{"rules":[{"keyword":"a","reply":"x","colour":"red"}]}"#,
        "unknown field",
    );
}

#[test]
fn the_documented_example_is_accepted() {
    let doc = include_str!("../../../docs/providers.md");
    let start = doc.find("### Auto-replies").unwrap();
    let block = &doc[start..];
    let json = &block[block.find("```json\n").unwrap() + 8..];
    let json = &json[..json.find("```").unwrap()];
    let json = json
        .replace("https://…/", "https://example.test/")
        .replace("\"…\"", "\"s\"");
    let r = AutoReplies::from_json(&json).expect("the example in docs/providers.md");
    assert_eq!(r.rules.len(), 5);
}

#[test]
fn a_status_secret_from_the_webhook_is_its_secret_when_answered() {
    let r = AutoReplies::from_json(
        r#"{"rules":[{"keyword":"alert","messages":[{"content":"x","status_url":"https://d.test/telerivet/webhook","status_secret_from":"webhook"}]}]}"#,
    )
    .unwrap();
    assert!(r.needs_webhook_secret());
    let kept = r.reply_for(&message("alert", None)).unwrap();
    assert_eq!(
        kept,
        json!({"messages":[{"content":"x","status_url":"https://d.test/telerivet/webhook"}]})
    );
    let sent = r.with_secrets(kept.clone(), Some("current-webhook-secret"));
    assert_eq!(
        sent["messages"][0]["status_secret"],
        "current-webhook-secret"
    );
    assert_eq!(
        r.with_secrets(kept.clone(), None),
        kept,
        "unreadable: sent without"
    );
}

#[test]
fn a_configuration_error_never_quotes_a_value() {
    let err = AutoReplies::from_json(
        r#"{"rules":[{"keyword":"a","messages":[{"content":"x","status_url":"https://h.test/","status_secret":12345678}]}]}"#,
    )
    .unwrap_err();
    assert!(!err.contains("12345678"), "{err}");
    assert!(err.contains("line 1"), "{err}");
}
