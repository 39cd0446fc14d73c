use super::*;

fn parse(body: &str) -> TelerivetEvent {
    TelerivetEvent::parse(body.as_bytes()).unwrap()
}

#[test]
fn incoming_message_decodes_brackets_into_typed_structures() {
    let event = parse(concat!(
        "event=incoming_message&id=SM123&message_type=sms&content=Hello+world+%E2%9C%93+%2B1%25",
        "&from_number=%2B16505550123&from_number_e164=%2B16505550123&to_number=%2B16505550199",
        "&time_created=1793527200&phone_id=PN1&project_id=PJ1&secret=s3cret",
        "&contact%5Bname%5D=J%C3%BCrgen&contact%5Bvars%5D%5Bfoo%5D=bar&contact%5Bmessage_count%5D=7",
        "&state%5Bid%5D=step2&phone%5Bvars%5D%5Bx%5D=y&phone%5Bcountry%5D=US",
        "&media%5B0%5D%5Burl%5D=https%3A%2F%2Fm.example%2Fa.jpg&media%5B0%5D%5Btype%5D=image%2Fjpeg",
        "&media%5B1%5D%5Burl%5D=https%3A%2F%2Fm.example%2Fb.png&custom_rest_field=kept"
    ));
    let EventKind::IncomingMessage(m) = &event.kind else {
        panic!("{event:?}")
    };
    assert_eq!(m.content, "Hello world ✓ +1%");
    assert_eq!(m.from_number.as_deref(), Some("+16505550123"));
    assert_eq!(m.time_created, Some(1_793_527_200));
    let contact = m.contact.as_ref().unwrap();
    assert_eq!(contact.name.as_deref(), Some("Jürgen"));
    assert_eq!(contact.vars["foo"], "bar");
    assert_eq!(contact.message_count, Some(7));
    assert_eq!(m.state.as_ref().unwrap().id.as_deref(), Some("step2"));
    assert_eq!(m.phone.as_ref().unwrap().vars["x"], "y");
    assert_eq!(m.media.len(), 2);
    assert_eq!(m.media[0].media_type.as_deref(), Some("image/jpeg"));
    assert_eq!(event.raw["custom_rest_field"], "kept");
    assert!(
        event.raw.get("secret").is_none(),
        "the secret is never kept"
    );
    assert_eq!(event.project_id(), Some("PJ1"));
    // Read from the fields parsed once, not by a second pass of serde_qs over the body.
    assert!(no_list_in_place_of_a_struct(&event.raw));
    assert_eq!(
        IncomingMessage::deserialize(&event.raw).as_ref().ok(),
        Some(m)
    );
}

#[test]
fn numbers_and_flags_arriving_as_strings_become_numbers_and_booleans() {
    let b = parse("event=send_broadcast&id=BC1&estimated_count=1200&recipients%5B0%5D%5Btype%5D=group&recipients%5B0%5D%5Bid%5D=CG1");
    let EventKind::SendBroadcast(b) = &b.kind else {
        panic!()
    };
    assert_eq!(b.estimated_count, Some(1200));
    assert_eq!(b.recipients[0].recipient_type.as_deref(), Some("group"));

    let c = parse("event=contact_update&update_type=update&id=CT1&send_blocked=1&group_ids%5B0%5D=G0&group_ids%5B1%5D=G1&vars%5Bcity%5D=Pune");
    let EventKind::ContactUpdate(c) = &c.kind else {
        panic!()
    };
    assert_eq!(c.send_blocked, Some(true));
    assert_eq!(c.group_ids, ["G0", "G1"]);
    assert_eq!(c.vars["city"], "Pune");

    let m = parse("event=message_metadata&update_type=call_complete&id=SM9&starred=0&in_progress=0&label_ids%5B0%5D=LB1&vars%5Bmenu%5D=2");
    let EventKind::MessageMetadata(m) = &m.kind else {
        panic!()
    };
    assert_eq!((m.starred, m.in_progress), (Some(false), Some(false)));
    assert_eq!(m.label_ids, ["LB1"]);
    assert_eq!(m.vars["menu"], "2");
}

#[test]
fn unknown_events_are_kept_not_refused() {
    let event = parse("event=route_health&id=RT1&project_id=PJ1");
    assert_eq!(
        event.kind,
        EventKind::Unknown {
            event: "route_health".into()
        }
    );
    assert_eq!(event.project_id(), Some("PJ1"));
}

#[test]
fn digest_ignores_the_secret_and_tells_changes_apart() {
    let a = parse("event=contact_update&update_type=update&id=CT1&name=A&secret=one");
    let b = parse("event=contact_update&update_type=update&id=CT1&name=A&secret=two");
    let c = parse("event=contact_update&update_type=update&id=CT1&name=B&secret=one");
    assert_eq!(a.digest(), b.digest());
    assert_ne!(a.digest(), c.digest());
}

#[test]
fn bad_bodies_are_refused_with_a_reason() {
    for (body, expect) in [
        ("id=SM1&content=x", "no `event`"),
        ("event=send_status&status=sent", "id"),
        (
            "event=incoming_message&id=SM1&time_created=yesterday",
            "not a number",
        ),
        (
            "event=contact_update&update_type=update&id=C&send_blocked=maybe",
            "not 1 or 0",
        ),
        (
            "event=incoming_message&id=SM1&media%5B99999999%5D%5Burl%5D=x",
            "index",
        ),
    ] {
        let err = TelerivetEvent::parse(body.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(err.contains(expect), "{body}: {err}");
    }
}

#[test]
fn form_field_reads_one_field_without_parsing_the_rest() {
    let body = b"event=send_status&secret=a%2Bb+c&media%5B9%5D%5Burl%5D=x";
    assert_eq!(form_field(body, "secret").as_deref(), Some("a+b c"));
    assert_eq!(form_field(body, "event").as_deref(), Some("send_status"));
    assert_eq!(form_field(body, "missing"), None);
}

proptest::proptest! {
    /// The same field as decoding every pair and taking the first whose key matches.
    #[test]
    fn form_field_finds_what_decoding_every_pair_finds(
        pairs in proptest::collection::vec(
            (
                proptest::sample::select(vec!["secret", "secr%65t", "secret+", "sec%zzret", "event", "", "s\u{e9}cret", "secret%5B%5D"]),
                proptest::option::of("[a-z%+2B&]{0,6}"),
            ),
            0..6,
        ),
        name in proptest::sample::select(vec!["secret", "event"]),
    ) {
        let body = pairs
            .iter()
            .map(|(key, value)| match value {
                Some(value) => format!("{key}={value}"),
                None => (*key).to_owned(),
            })
            .collect::<Vec<_>>()
            .join("&");
        let every_pair = form_urlencoded::parse(body.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned());
        proptest::prop_assert_eq!(form_field(body.as_bytes(), name), every_pair, "{}", body);
    }
}

#[test]
fn digest_is_the_sha256_of_the_fields_json_text() {
    // The key stored for a contact or metadata event must not change between versions:
    // a redelivery after a deploy is still recognised.
    let event = parse("event=contact_update&update_type=update&id=CT1&name=A+%E2%9C%93&vars%5Bcity%5D=Pune&group_ids%5B0%5D=G0&secret=x");
    let expected: String = Sha256::digest(event.raw.to_string().as_bytes())
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(event.digest(), expected);
    assert_eq!(event.digest().len(), 32);
}

/// Reads `body` as the event it names both ways: from the fields already parsed (the fast
/// path, falling back to serde_qs) and by serde_qs alone (the reference).
fn both_ways(body: &str) -> (String, String) {
    let Ok(event) = TelerivetEvent::parse(body.as_bytes()) else {
        return (String::new(), String::new());
    };
    let raw = &event.raw;
    let b = body.as_bytes();
    let name = event.kind.name();
    fn show<T: std::fmt::Debug>(r: Result<T, ParseError>) -> String {
        format!("{r:?}")
    }
    match name {
        "incoming_message" => (
            show(typed::<IncomingMessage>(raw, b, name)),
            show(typed_from_body::<IncomingMessage>(b, name)),
        ),
        "send_status" => (
            show(typed::<SendStatus>(raw, b, name)),
            show(typed_from_body::<SendStatus>(b, name)),
        ),
        "send_broadcast" => (
            show(typed::<SendBroadcast>(raw, b, name)),
            show(typed_from_body::<SendBroadcast>(b, name)),
        ),
        "contact_update" => (
            show(typed::<ContactUpdate>(raw, b, name)),
            show(typed_from_body::<ContactUpdate>(b, name)),
        ),
        "message_metadata" => (
            show(typed::<MessageMetadata>(raw, b, name)),
            show(typed_from_body::<MessageMetadata>(b, name)),
        ),
        _ => (String::new(), String::new()),
    }
}

#[test]
fn odd_shapes_read_as_serde_qs_reads_them() {
    for body in [
        // A list where a struct is expected: serde_json would fill the struct in order.
        "event=incoming_message&id=SM1&contact%5B0%5D=Asha&state%5B0%5D=s&phone%5B0%5D=p",
        "event=incoming_message&id=SM1&media%5B0%5D%5B0%5D=https%3A%2F%2Fx",
        "event=send_broadcast&id=BC1&recipients%5B0%5D%5B0%5D=group",
        // A repeated field, a field without a value, numbered map keys.
        "event=incoming_message&id=SM1&id=SM2&content",
        "event=contact_update&update_type=update&id=C&vars%5B0%5D=x&group_ids=G1",
        "event=message_metadata&update_type=star&id=SM1&label_ids%5B%5D=L1&label_ids%5B%5D",
        "event=send_status&id=SM1&status=sent&contact=&error_message",
    ] {
        let (fast, reference) = both_ways(body);
        assert_eq!(fast, reference, "{body}");
    }
}

mod same_as_serde_qs {
    use super::*;
    use proptest::prelude::*;

    const EVENTS: [&str; 5] = [
        "incoming_message",
        "send_status",
        "send_broadcast",
        "contact_update",
        "message_metadata",
    ];
    const KEYS: [&str; 30] = [
        "id",
        "status",
        "update_type",
        "content",
        "message_type",
        "time_created",
        "estimated_count",
        "starred",
        "send_blocked",
        "project_id",
        "contact",
        "contact[name]",
        "contact[0]",
        "contact[vars][a]",
        "contact[vars][0]",
        "contact[message_count]",
        "state[id]",
        "phone[vars][x]",
        "media",
        "media[]",
        "media[0][url]",
        "media[1][size]",
        "media[0][0]",
        "recipients[0][type]",
        "recipients[1][0]",
        "label_ids[0]",
        "label_ids[]",
        "group_ids",
        "vars[a]",
        "vars[0]",
    ];
    const VALUES: [&str; 6] = ["", "x", "1", "0", "1700000000.5", "a+b%2Bc"];

    fn encode(key: &str) -> String {
        key.replace('[', "%5B").replace(']', "%5D")
    }

    proptest! {
        #[test]
        fn for_any_form_of_known_fields(
            event in 0..EVENTS.len(),
            fields in prop::collection::vec((0..KEYS.len(), prop::option::of(0..VALUES.len())), 0..10),
        ) {
            let mut body = format!("event={}", EVENTS[event]);
            for (key, value) in fields {
                body.push('&');
                body.push_str(&encode(KEYS[key]));
                if let Some(value) = value {
                    body.push('=');
                    body.push_str(VALUES[value]);
                }
            }
            let (fast, reference) = both_ways(&body);
            prop_assert_eq!(fast, reference, "{}", body);
        }
    }
}

#[test]
fn redacting_removes_every_spelling_of_the_secret_and_nothing_else() {
    let body = b"event=send_status&secret=a%2Bb+c&id=SM1&secr%65t=again&secret%5Bx%5D=nested&secretive=kept";
    let redacted = redact_secret(body);
    assert_eq!(
        std::str::from_utf8(&redacted).unwrap(),
        "event=send_status&secret=%5Bredacted%5D&id=SM1&secr%65t=%5Bredacted%5D&secret%5Bx%5D=%5Bredacted%5D&secretive=kept"
    );
    assert_eq!(
        form_field(&redacted, "secret").as_deref(),
        Some("[redacted]")
    );
    let clean = b"event=send_status&id=SM1";
    assert!(matches!(redact_secret(clean), std::borrow::Cow::Borrowed(b) if b == clean));
    assert_eq!(&*redact_secret(b"secret"), b"secret=%5Bredacted%5D");
    assert_eq!(&*redact_secret(b""), b"");
}
