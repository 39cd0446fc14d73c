use super::*;

#[test]
fn matches_only_the_same_value() {
    let s = Secret::new("0123456789abcdef".into()).unwrap();
    assert!(s.matches("0123456789abcdef"));
    assert!(!s.matches("0123456789abcdeX"));
    assert!(!s.matches("0123456789abcde"));
    assert!(!s.matches(""));
}

#[test]
fn short_secrets_are_refused_and_debug_is_redacted() {
    assert!(Secret::new("short".into()).is_err());
    let s = Secret::new("0123456789abcdef".into()).unwrap();
    assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
}
