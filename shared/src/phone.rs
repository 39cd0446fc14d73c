//! Phone numbers in E.164, masked whenever they are logged.

use serde::{Deserialize, Serialize};
use std::borrow::Cow;
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

/// Digits in a row from which a run is taken for a phone number: E.164's shortest.
const NUMBER_DIGITS: usize = 8;

/// `text` for a log line or an error message, with every phone number in it masked as
/// [`E164::masked`] masks one: alert ids and state keys carry callers' numbers
/// (`callback:+919812345678`). A run of [`NUMBER_DIGITS`] or more digits, with its `+`
/// if it has one, counts as a number; text without one is returned as it is.
pub fn mask_numbers(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut masked = String::new();
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let mut end = i;
        while end < bytes.len() && bytes[end].is_ascii_digit() {
            end += 1;
        }
        if end - i >= NUMBER_DIGITS {
            let start = if i > 0 && bytes[i - 1] == b'+' {
                i - 1
            } else {
                i
            };
            // Digits and `+` are ASCII: both ends are character boundaries.
            masked.push_str(&text[copied..start]);
            masked.push_str(&Masked(&text[start..end]).to_string());
            copied = end;
        }
        i = end;
    }
    if copied == 0 {
        return Cow::Borrowed(text);
    }
    masked.push_str(&text[copied..]);
    Cow::Owned(masked)
}

#[cfg(test)]
#[path = "phone_test.rs"]
mod tests;
