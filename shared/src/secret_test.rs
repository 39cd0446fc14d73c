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

#[test]
fn a_derived_secret_is_stable_distinct_and_tied_to_its_source() {
    let token = Secret::new("dashboard-token-0123456789".into()).unwrap();
    let session = token.derive("session");
    assert_eq!(session.expose().len(), 64);
    assert!(session.matches(token.derive("session").expose()));
    assert!(!session.matches(token.expose()));
    assert!(!session.matches(token.derive("other").expose()));
    let rotated = Secret::new("dashboard-token-abcdefghij".into()).unwrap();
    assert!(!session.matches(rotated.derive("session").expose()));
}
