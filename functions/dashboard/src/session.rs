//! Signed, expiring browser credentials: the session cookie and the share link.
//!
//! Both are `v1.<purpose>.<expiry, unix seconds>.<nonce>.<mac>`, the MAC an HMAC-SHA-256
//! (base64url) of everything before it. The purpose is inside the MAC, so a share link is
//! never accepted as a cookie nor a cookie as a share link, and a shared view cannot pass
//! for a full session. The expiry is checked here, on the server: a browser that keeps a
//! cookie past its `Max-Age` gains nothing.
//!
//! The key is derived from the dashboard token (by whoever holds the current token, per
//! request): a new token invalidates every cookie and link at once, with no session list to
//! keep or clean. Everything here is pure: the caller passes the time and the nonce.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use dialtone_shared::secret::Secret;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

const VERSION: &str = "v1";
/// Separates the key from any other secret derived from the dashboard token.
const KEY_PURPOSE: &str = "dialtone-dashboard-session-key";
pub const NONCE_BYTES: usize = 12;
/// Far above any value this module writes (about 90 characters): a longer one is refused
/// before any work is done on it.
const MAX_LEN: usize = 256;

/// The longest a share link lasts, whatever is asked for.
pub fn share_max() -> Duration {
    Duration::hours(24)
}

/// What a browser session may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grant {
    /// Signed in with the dashboard token: may also mint share links.
    Full,
    /// Came in through a share link: sees the dashboard, mints nothing, so that a link
    /// cannot be stretched past its day by minting the next one from it.
    View,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Purpose {
    Session(Grant),
    Share,
}

impl Purpose {
    fn tag(self) -> &'static str {
        match self {
            Self::Session(Grant::Full) => "full",
            Self::Session(Grant::View) => "view",
            Self::Share => "share",
        }
    }

    fn from_tag(tag: &str) -> Option<Self> {
        match tag {
            "full" => Some(Self::Session(Grant::Full)),
            "view" => Some(Self::Session(Grant::View)),
            "share" => Some(Self::Share),
            _ => None,
        }
    }
}

/// Why a cookie or link was refused. Says nothing of the value itself, so it can be logged.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    #[error("malformed")]
    Malformed,
    #[error("bad signature (tampered, or signed with an earlier token)")]
    BadSignature,
    #[error("signed for another purpose")]
    WrongPurpose,
    #[error("expired")]
    Expired,
    #[error("lasts longer than allowed")]
    Overlong,
}

/// The HMAC key for one dashboard token.
#[derive(Clone)]
pub struct SigningKey(Hmac<Sha256>);

impl SigningKey {
    /// HMAC takes a key of any length, so this does not fail; the error is the library's
    /// signature, passed on rather than unwrapped.
    pub fn from_token(token: &Secret) -> Result<Self, String> {
        let derived = token.derive(KEY_PURPOSE);
        Hmac::<Sha256>::new_from_slice(derived.expose().as_bytes())
            .map(Self)
            .map_err(|e| e.to_string())
    }

    fn sign(&self, purpose: Purpose, expires_at: DateTime<Utc>, nonce: &[u8]) -> String {
        let signed = format!(
            "{VERSION}.{}.{}.{}",
            purpose.tag(),
            expires_at.timestamp(),
            URL_SAFE_NO_PAD.encode(nonce)
        );
        let mut mac = self.0.clone();
        mac.update(signed.as_bytes());
        let tag = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{signed}.{tag}")
    }

    /// Checks the MAC (in constant time), then the purpose, then the time. `longest` bounds
    /// how far ahead the expiry may lie: a value minted under a longer lifetime than today's
    /// configuration allows is refused.
    fn verify(
        &self,
        value: &str,
        accepted: impl Fn(Purpose) -> bool,
        now: DateTime<Utc>,
        longest: Duration,
    ) -> Result<(Purpose, DateTime<Utc>), CredentialError> {
        if value.len() > MAX_LEN {
            return Err(CredentialError::Malformed);
        }
        let (signed, tag) = value.rsplit_once('.').ok_or(CredentialError::Malformed)?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| CredentialError::Malformed)?;
        let mut fields = signed.split('.');
        let (Some(VERSION), Some(purpose), Some(expiry), Some(nonce), None) = (
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
        ) else {
            return Err(CredentialError::Malformed);
        };
        let mut mac = self.0.clone();
        mac.update(signed.as_bytes());
        mac.verify_slice(&tag)
            .map_err(|_| CredentialError::BadSignature)?;
        // Signed by us from here on; the parsing below only guards against our own bugs.
        let purpose = Purpose::from_tag(purpose).ok_or(CredentialError::Malformed)?;
        if !accepted(purpose) {
            return Err(CredentialError::WrongPurpose);
        }
        let nonce_ok = URL_SAFE_NO_PAD
            .decode(nonce)
            .is_ok_and(|n| n.len() == NONCE_BYTES);
        let expires_at = expiry
            .parse::<i64>()
            .ok()
            .and_then(|secs| DateTime::from_timestamp(secs, 0))
            .filter(|_| nonce_ok)
            .ok_or(CredentialError::Malformed)?;
        if expires_at <= now {
            return Err(CredentialError::Expired);
        }
        if expires_at - now > longest {
            return Err(CredentialError::Overlong);
        }
        Ok((purpose, expires_at))
    }
}

/// A verified session cookie.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionCookie {
    pub grant: Grant,
    pub expires_at: DateTime<Utc>,
}

impl SessionCookie {
    /// The cookie value for a session of `grant` until `expires_at`.
    pub fn issue(
        key: &SigningKey,
        grant: Grant,
        expires_at: DateTime<Utc>,
        nonce: &[u8; NONCE_BYTES],
    ) -> String {
        key.sign(Purpose::Session(grant), expires_at, nonce)
    }

    /// `lifetime` is the session lifetime now configured.
    pub fn parse(
        key: &SigningKey,
        value: &str,
        now: DateTime<Utc>,
        lifetime: Duration,
    ) -> Result<Self, CredentialError> {
        match key.verify(value, |p| matches!(p, Purpose::Session(_)), now, lifetime)? {
            (Purpose::Session(grant), expires_at) => Ok(Self { grant, expires_at }),
            (Purpose::Share, _) => Err(CredentialError::WrongPurpose),
        }
    }
}

/// A verified share link: it lets one browser in, as a view, until it expires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShareLink {
    pub expires_at: DateTime<Utc>,
}

impl ShareLink {
    /// The link's value; `expires_at` is capped at a day from `now`.
    pub fn issue(
        key: &SigningKey,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        nonce: &[u8; NONCE_BYTES],
    ) -> (Self, String) {
        let expires_at = expires_at.min(now + share_max());
        let value = key.sign(Purpose::Share, expires_at, nonce);
        (Self { expires_at }, value)
    }

    pub fn parse(
        key: &SigningKey,
        value: &str,
        now: DateTime<Utc>,
    ) -> Result<Self, CredentialError> {
        let (_, expires_at) = key.verify(value, |p| p == Purpose::Share, now, share_max())?;
        Ok(Self { expires_at })
    }

    /// The session a browser gets from this link: a view, ending no later than the link.
    pub fn session_until(&self, now: DateTime<Utc>, lifetime: Duration) -> (Grant, DateTime<Utc>) {
        (Grant::View, self.expires_at.min(now + lifetime))
    }
}

#[cfg(test)]
#[path = "session_test.rs"]
mod tests;
