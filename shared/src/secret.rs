//! Secrets that are compared in constant time and never printed.

use sha2::{Digest, Sha256};
use std::fmt;
use subtle::ConstantTimeEq;

/// A shared secret such as a URL token. `Debug` and `Display` are redacted so it cannot
/// reach a log line by accident.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Refuses secrets too short to resist guessing.
    pub fn new(value: String) -> Result<Self, &'static str> {
        if value.len() < 16 {
            return Err("must be at least 16 characters");
        }
        Ok(Self(value))
    }

    /// Constant-time comparison: the time taken does not depend on where the inputs differ.
    /// (Only the length can leak, and every valid token has the configured length.)
    pub fn matches(&self, candidate: &str) -> bool {
        self.0.as_bytes().ct_eq(candidate.as_bytes()).into()
    }
}

impl Secret {
    /// A secret of its own for `purpose`, derived from this one (SHA-256, hex): it can be
    /// handed out (a session cookie, say) without handing out this one, and changes with it.
    pub fn derive(&self, purpose: &str) -> Secret {
        let digest = Sha256::digest(format!("{purpose}\0{}", self.0));
        Secret(digest.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// The value itself, for the one place it must be sent (an `Authorization` header).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[cfg(test)]
#[path = "secret_test.rs"]
mod tests;
