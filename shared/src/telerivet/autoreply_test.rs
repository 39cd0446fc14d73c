use super::*;

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

#[test]
fn configuration_mistakes_are_reported() {
    assert!(AutoReplies::from_json(r#"{"rules":[{"reply":"no keyword"}]}"#).is_err());
    assert!(AutoReplies::from_json(r#"{"rulez":[]}"#).is_err());
    assert!(AutoReplies::from_json("not json").is_err());
}
