use super::*;
use chrono::TimeZone;

const NONCE: [u8; NONCE_BYTES] = [7; NONCE_BYTES];

fn key(token: &str) -> SigningKey {
    SigningKey::from_token(&Secret::new(token.into()).unwrap()).unwrap()
}

fn noon() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap()
}

fn lifetime() -> Duration {
    Duration::hours(12)
}

#[test]
fn a_cookie_verifies_until_it_expires_and_not_after() {
    let key = key("local-dashboard-token-0123456789");
    let expires = noon() + lifetime();
    let value = SessionCookie::issue(&key, Grant::Full, expires, &NONCE);
    assert!(value.starts_with(&format!("v1.full.{}.", expires.timestamp())));
    assert_eq!(
        SessionCookie::parse(&key, &value, noon(), lifetime()),
        Ok(SessionCookie {
            grant: Grant::Full,
            expires_at: expires
        })
    );
    let last_second = expires - Duration::seconds(1);
    assert!(SessionCookie::parse(&key, &value, last_second, lifetime()).is_ok());
    assert_eq!(
        SessionCookie::parse(&key, &value, expires, lifetime()),
        Err(CredentialError::Expired)
    );
    assert_eq!(
        SessionCookie::parse(&key, &value, expires + Duration::days(30), lifetime()),
        Err(CredentialError::Expired)
    );
}

#[test]
fn a_tampered_cookie_is_refused() {
    let key = key("local-dashboard-token-0123456789");
    let value = SessionCookie::issue(&key, Grant::View, noon() + Duration::hours(1), &NONCE);
    // A later expiry, a full grant instead of a view, a flipped MAC character, a nonce
    // changed: each breaks the MAC.
    let later = value.replace(
        &(noon() + Duration::hours(1)).timestamp().to_string(),
        &(noon() + Duration::hours(2)).timestamp().to_string(),
    );
    let promoted = value.replacen("v1.view.", "v1.full.", 1);
    let mut flipped = value.clone();
    let last = flipped.pop().unwrap();
    flipped.push(if last == 'A' { 'B' } else { 'A' });
    let renonced = value.replacen(
        &URL_SAFE_NO_PAD.encode(NONCE),
        &URL_SAFE_NO_PAD.encode([8u8; NONCE_BYTES]),
        1,
    );
    for forged in [later, promoted, flipped, renonced] {
        assert_ne!(forged, value);
        assert_eq!(
            SessionCookie::parse(&key, &forged, noon(), lifetime()),
            Err(CredentialError::BadSignature),
            "{forged}"
        );
    }
    for junk in [
        "",
        "v1",
        "SESSION",
        "v1.full.1793534400.BwcHBwcHBwcHBwcH",
        "v1.full.1793534400.BwcHBwcHBwcHBwcH.***",
        &"a.".repeat(200),
    ] {
        assert_eq!(
            SessionCookie::parse(&key, junk, noon(), lifetime()),
            Err(CredentialError::Malformed),
            "{junk}"
        );
    }
}

#[test]
fn a_new_token_ends_every_cookie_and_link() {
    let old = key("local-dashboard-token-0123456789");
    let new = key("local-dashboard-token-rotated-987");
    let cookie = SessionCookie::issue(&old, Grant::Full, noon() + lifetime(), &NONCE);
    let (_, link) = ShareLink::issue(&old, noon(), noon() + Duration::hours(3), &NONCE);
    assert_eq!(
        SessionCookie::parse(&new, &cookie, noon(), lifetime()),
        Err(CredentialError::BadSignature)
    );
    assert_eq!(
        ShareLink::parse(&new, &link, noon()),
        Err(CredentialError::BadSignature)
    );
}

#[test]
fn cookies_and_share_links_are_not_interchangeable() {
    let key = key("local-dashboard-token-0123456789");
    let cookie = SessionCookie::issue(&key, Grant::Full, noon() + lifetime(), &NONCE);
    let (_, link) = ShareLink::issue(&key, noon(), noon() + Duration::hours(3), &NONCE);
    assert_eq!(
        ShareLink::parse(&key, &cookie, noon()),
        Err(CredentialError::WrongPurpose)
    );
    assert_eq!(
        SessionCookie::parse(&key, &link, noon(), lifetime()),
        Err(CredentialError::WrongPurpose)
    );
}

#[test]
fn a_share_link_lasts_a_day_at_most_and_its_session_no_longer_than_the_link() {
    let key = key("local-dashboard-token-0123456789");
    let (link, value) = ShareLink::issue(&key, noon(), noon() + Duration::days(7), &NONCE);
    assert_eq!(link.expires_at, noon() + Duration::hours(24), "capped");
    assert_eq!(ShareLink::parse(&key, &value, noon()), Ok(link));

    // Used an hour before it ends: the session ends with the link, not 12 h later.
    let late = link.expires_at - Duration::hours(1);
    let parsed = ShareLink::parse(&key, &value, late).unwrap();
    assert_eq!(
        parsed.session_until(late, lifetime()),
        (Grant::View, link.expires_at)
    );
    // Used at once: the session lasts the configured lifetime, less than the link.
    assert_eq!(
        link.session_until(noon(), lifetime()),
        (Grant::View, noon() + lifetime())
    );
    // Replayed after it expired.
    assert_eq!(
        ShareLink::parse(&key, &value, link.expires_at + Duration::seconds(1)),
        Err(CredentialError::Expired)
    );
}

#[test]
fn a_value_reaching_beyond_the_allowed_lifetime_is_refused() {
    let key = key("local-dashboard-token-0123456789");
    // Minted while sessions lasted 30 days; the configuration now says 12 hours.
    let cookie = SessionCookie::issue(&key, Grant::Full, noon() + Duration::days(30), &NONCE);
    assert_eq!(
        SessionCookie::parse(&key, &cookie, noon(), lifetime()),
        Err(CredentialError::Overlong)
    );
    let long_link = key.sign(Purpose::Share, noon() + Duration::days(2), &NONCE);
    assert_eq!(
        ShareLink::parse(&key, &long_link, noon()),
        Err(CredentialError::Overlong)
    );
}
