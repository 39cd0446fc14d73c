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
    // The fields kept in `raw` hold the same event.
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

#[test]
fn a_body_serde_qs_refuses_still_has_its_secret_and_is_kept_redacted() {
    for body in [
        &b"event=incoming_message&secret=s3cret&contact=x&contact%5Bname%5D=A"[..],
        b"event=incoming_message&id=SM1&content=%FF&secret=s3cret",
    ] {
        let refused = TelerivetEvent::parse(body);
        assert!(matches!(refused, Err(ParseError::Form(_))), "{refused:?}");
        assert_eq!(form_field(body, "secret").as_deref(), Some("s3cret"));
        assert_eq!(
            form_field(body, "event").as_deref(),
            Some("incoming_message")
        );
        let kept = redact_secret(body);
        assert!(!kept.windows(6).any(|w| w == b"s3cret"));
        assert_eq!(form_field(&kept, "secret").as_deref(), Some("[redacted]"));
    }
}
