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

/// A country calling code (1 to 3 digits, the first not zero): what the trunk `0` of a
/// national number stands for, e.g. `91` for India, where Exotel's Bulk Call Details write
/// an ExoPhone as `08030752522` and its call notifications as `+918030752522`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CountryCode(String);

impl CountryCode {
    /// `91` or `+91`.
    pub fn parse(raw: &str) -> Result<Self, InvalidPhone> {
        let digits = raw.trim();
        let digits = digits.strip_prefix('+').unwrap_or(digits);
        let ok = (1..=3).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        if ok {
            Ok(Self(digits.to_owned()))
        } else {
            Err(InvalidPhone)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// India's, `91`: where most Exotel accounts and their ExoPhones are.
impl Default for CountryCode {
    fn default() -> Self {
        Self("91".into())
    }
}

impl E164 {
    /// A number in any of the forms Exotel writes one: E.164 (`+918030752522`, the call
    /// notifications' `exophone`), national with its trunk `0` (`08030752522`, Bulk Call
    /// Details' `PhoneNumberSid`), international with `00`, or digits that start with the
    /// country code but lack the `+` (`918030752522`). Spaces and dashes are ignored. A
    /// 10-digit national number written without its `0` is not told apart from the last
    /// form, so it is not accepted as one: it reads as an E.164 number or not at all.
    pub fn from_exotel(raw: &str, country: &CountryCode) -> Result<Self, InvalidPhone> {
        let text: String = raw
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '-'))
            .collect();
        if text.starts_with('+') {
            return Self::parse(&text);
        }
        if let Some(rest) = text.strip_prefix("00") {
            return Self::parse(&format!("+{rest}"));
        }
        if let Some(national) = text.strip_prefix('0') {
            return Self::parse(&format!("+{}{national}", country.0));
        }
        Self::parse(&format!("+{text}"))
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
