use super::*;

#[test]
fn parses_e164_and_rejects_the_rest() {
    assert!(E164::parse("+917930061010").is_ok());
    for bad in [
        "917930061010",
        "+0123456789",
        "+91 79300",
        "+1234567",
        "",
        "+",
    ] {
        assert_eq!(E164::parse(bad), Err(InvalidPhone), "{bad}");
    }
}

#[test]
fn masks_all_but_prefix_and_last_two() {
    let p = E164::parse("+917930061010").unwrap();
    assert_eq!(p.masked().to_string(), "+91********10");
}

#[test]
fn numbers_in_text_are_masked_and_other_digits_kept() {
    assert_eq!(
        mask_numbers("callback:+919812345678@callback_owed@2026-11-22T10:02:00+00:00"),
        "callback:+91********78@callback_owed@2026-11-22T10:02:00+00:00"
    );
    assert_eq!(
        mask_numbers("calls:exotel:08030752599:2026-11-22 and 919812345678"),
        "calls:exotel:080******99:2026-11-22 and 919*******78"
    );
    assert!(matches!(
        mask_numbers("exotel-heartbeat:fleet 1234567 ok"),
        std::borrow::Cow::Borrowed(_)
    ));
    assert_eq!(mask_numbers("नमस्ते +919812345678"), "नमस्ते +91********78");
    assert_eq!(mask_numbers(""), "");
}

#[test]
fn exotel_writes_one_exophone_in_several_forms_and_all_read_as_one_number() {
    let india = CountryCode::parse("91").unwrap();
    let want = E164::parse("+918030752522").unwrap();
    for form in [
        "+918030752522",
        "08030752522",
        "918030752522",
        "00918030752522",
        " 080-3075 2522 ",
    ] {
        assert_eq!(
            E164::from_exotel(form, &india),
            Ok(want.clone()),
            "{form:?}"
        );
    }
    let singapore = CountryCode::parse("+65").unwrap();
    assert_eq!(
        E164::from_exotel("061234567", &singapore).map(String::from),
        Ok("+6561234567".to_owned())
    );
    for bad in [
        "",
        "0",
        "sip:agent_001@app.exotel.com",
        "+0123456789",
        "08030x52522",
    ] {
        assert_eq!(E164::from_exotel(bad, &india), Err(InvalidPhone), "{bad:?}");
    }
}

#[test]
fn a_country_code_is_one_to_three_digits_not_starting_with_zero() {
    assert_eq!(
        CountryCode::parse(" +91 ").map(|c| c.as_str().to_owned()),
        Ok("91".into())
    );
    for bad in ["", "+", "0", "091", "1234", "9a"] {
        assert_eq!(CountryCode::parse(bad), Err(InvalidPhone), "{bad:?}");
    }
}
