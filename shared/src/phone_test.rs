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
