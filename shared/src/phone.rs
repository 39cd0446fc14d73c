//! Phone numbers in E.164, masked whenever they are logged.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A phone number in E.164 form: `+` then 8 to 15 digits, the first not zero.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct E164(String);

impl E164 {
    pub fn parse(raw: &str) -> Result<Self, InvalidPhone> {
        let digits = raw.strip_prefix('+').ok_or(InvalidPhone)?;
        let ok = (8..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidPhone)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// For logs: keeps the country prefix and the last two digits, e.g. `+91******10`.
    pub fn masked(&self) -> Masked<'_> {
        Masked(&self.0)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not an E.164 phone number")]
pub struct InvalidPhone;

impl TryFrom<String> for E164 {
    type Error = InvalidPhone;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<E164> for String {
    fn from(value: E164) -> Self {
        value.0
    }
}

impl fmt::Display for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub struct Masked<'a>(&'a str);

impl fmt::Display for Masked<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let len = self.0.len();
        let head = self.0.get(..3.min(len)).unwrap_or_default();
        let tail = self.0.get(len.saturating_sub(2)..).unwrap_or_default();
        write!(f, "{head}{}{tail}", "*".repeat(len.saturating_sub(5)))
    }
}

#[cfg(test)]
#[path = "phone_test.rs"]
mod tests;
