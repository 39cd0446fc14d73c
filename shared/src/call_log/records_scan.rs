//! The fast path of [`read_page`](super::read_page): a Bulk Call Details page as Exotel
//! writes it, read in one scan over its bytes.
//!
//! serde_json spends most of a page in its general machinery (a visitor per value, a
//! dispatch per byte class) for about twenty fields a record, of which dialtone keeps six.
//! This scan knows the page's shape: it checks the JSON grammar of what it steps over as
//! serde_json does when it skips a value, and reads the kept fields in place. It reads
//! only what it is sure of. At an escape in a key or a kept string, a record that is not an
//! object, a kept field that is not a string or null or is given twice, a control
//! character, nesting deeper than [`MAX_DEPTH`], or anything that is not JSON, it stops,
//! and [`parse_page`](super::parse_page) reads the page and decides. So it never decides
//! otherwise than serde_json: the tests and the `calls_page` fuzz target compare the two.
//!
//! The small steps are `#[inline(always)]`: at the release profile's `opt-level = "s"` they
//! stay calls otherwise, and inlining them took the scan from about 1.3× to about 1.7×
//! serde_json's speed (`phases` in `call-log-aggregator`'s `million_records` bench).

use super::{next_page_uri, CallRecord, Fields, Key, PageRecords, RecordError, Text, WireMetadata};
use std::borrow::Cow;

/// The scan stopped: serde_json reads the page.
struct Stop;

type Scan<T> = Result<T, Stop>;

/// Containers nested deeper inside a skipped value are left to serde_json (Exotel's
/// records are flat).
const MAX_DEPTH: usize = 32;

/// The page, when it is plain enough for the scan; `None` leaves it to
/// [`parse_page`](super::parse_page).
pub fn scan_page(text: &str) -> Option<PageRecords<'_>> {
    let mut cursor = Cursor {
        text,
        bytes: text.as_bytes(),
        at: 0,
    };
    let page = cursor.page().ok()?;
    cursor.at_end().then_some(page)
}

struct Cursor<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
}

type Calls<'a> = Vec<Result<CallRecord<'a>, RecordError>>;

impl<'a> Cursor<'a> {
    fn page(&mut self) -> Scan<PageRecords<'a>> {
        let mut calls: Option<Calls<'a>> = None;
        let mut metadata: Option<Option<WireMetadata<'a>>> = None;
        self.object(|c, key| match key {
            "Calls" if calls.is_none() => {
                calls = Some(c.calls()?);
                Ok(())
            }
            "Metadata" if metadata.is_none() => {
                metadata = Some(c.metadata()?);
                Ok(())
            }
            // Given twice: serde_json refuses the page.
            "Calls" | "Metadata" => Err(Stop),
            _ => c.skip_value(),
        })?;
        Ok(PageRecords {
            calls: calls.ok_or(Stop)?,
            next_page_uri: next_page_uri(metadata.flatten()),
        })
    }

    fn metadata(&mut self) -> Scan<Option<WireMetadata<'a>>> {
        if self.peek()? == b'n' {
            self.literal(b"null")?;
            return Ok(None);
        }
        let mut uri: Option<Option<Cow<'a, str>>> = None;
        self.object(|c, key| match key {
            "NextPageUri" if uri.is_none() => {
                uri = Some(match c.text()? {
                    Text::Str(text) => Some(text),
                    _ => None,
                });
                Ok(())
            }
            "NextPageUri" => Err(Stop),
            _ => c.skip_value(),
        })?;
        Ok(Some(WireMetadata {
            next_page_uri: uri.flatten(),
        }))
    }

    fn calls(&mut self) -> Scan<Calls<'a>> {
        self.consume(b'[')?;
        let mut calls = Vec::new();
        if self.next_token()? == b']' {
            self.at += 1;
            return Ok(calls);
        }
        loop {
            calls.push(self.record()?);
            if !self.more(b']')? {
                return Ok(calls);
            }
        }
    }

    fn record(&mut self) -> Scan<Result<CallRecord<'a>, RecordError>> {
        let mut fields = Fields::default();
        self.object(|c, key| {
            let slot = match Key::of(key.as_bytes()) {
                Key::Other => return c.skip_value(),
                Key::Duration if fields.duration.is_none() => {
                    fields.duration = Some(c.value_text()?);
                    return Ok(());
                }
                Key::Duration => return Err(Stop),
                Key::Sid => &mut fields.sid,
                Key::DateCreated => &mut fields.date_created,
                Key::Status => &mut fields.status,
                Key::Direction => &mut fields.direction,
                Key::PhoneNumberSid => &mut fields.phone_number_sid,
            };
            if slot.is_some() {
                return Err(Stop);
            }
            *slot = Some(c.text()?);
            Ok(())
        })?;
        Ok(fields.record())
    }

    /// `{`, then `member` for each key (the cursor at its value), to the closing `}`. A
    /// key with an escape stops the scan (serde_json would read it decoded).
    fn object(&mut self, mut member: impl FnMut(&mut Self, &'a str) -> Scan<()>) -> Scan<()> {
        self.consume(b'{')?;
        if self.next_token()? == b'}' {
            self.at += 1;
            return Ok(());
        }
        loop {
            self.consume(b'"')?;
            let key = self.plain_string()?;
            self.consume(b':')?;
            self.next_token()?;
            member(self, key)?;
            if !self.more(b'}')? {
                return Ok(());
            }
        }
    }

    /// A kept field: a string without escapes, or null.
    fn text(&mut self) -> Scan<Text<'a>> {
        match self.peek()? {
            b'"' => {
                self.at += 1;
                Ok(Text::Str(Cow::Borrowed(self.plain_string()?)))
            }
            b'n' => {
                self.literal(b"null")?;
                Ok(Text::Null)
            }
            _ => Err(Stop),
        }
    }

    /// A value's JSON text as written, as serde_json's `RawValue` holds it.
    fn value_text(&mut self) -> Scan<&'a str> {
        let start = self.at;
        self.skip_value()?;
        self.text.get(start..self.at).ok_or(Stop)
    }

    /// The rest of a string without escapes, the cursor just past its opening quote.
    #[inline(always)]
    fn plain_string(&mut self) -> Scan<&'a str> {
        let start = self.at;
        let end = special(self.bytes, start);
        if self.bytes.get(end) != Some(&b'"') {
            return Err(Stop);
        }
        self.at = end + 1;
        self.text.get(start..end).ok_or(Stop)
    }

    /// Steps over one value, checking it as serde_json checks a value it skips. Not
    /// recursive: the closers of the containers open are kept on a small stack.
    fn skip_value(&mut self) -> Scan<()> {
        // Most values a record holds are strings or null: no stack for those.
        match self.next_token()? {
            b'"' => {
                self.at += 1;
                return self.skip_string();
            }
            b'n' => return self.literal(b"null"),
            _ => {}
        }
        let mut open = [0u8; MAX_DEPTH];
        let mut depth = 0;
        loop {
            match self.next_token()? {
                b'"' => {
                    self.at += 1;
                    self.skip_string()?;
                }
                b'n' => self.literal(b"null")?,
                b't' => self.literal(b"true")?,
                b'f' => self.literal(b"false")?,
                b'-' | b'0'..=b'9' => self.skip_number()?,
                opener @ (b'{' | b'[') => {
                    self.at += 1;
                    let close = if opener == b'{' { b'}' } else { b']' };
                    if self.next_token()? == close {
                        self.at += 1;
                    } else {
                        *open.get_mut(depth).ok_or(Stop)? = close;
                        depth += 1;
                        if close == b'}' {
                            self.member_key()?;
                        }
                        continue;
                    }
                }
                _ => return Err(Stop),
            }
            // A value ended: close what it ends, or go on to the next element or member.
            loop {
                let Some(close) = depth.checked_sub(1).map(|top| open[top]) else {
                    return Ok(());
                };
                if self.more(close)? {
                    if close == b'}' {
                        self.member_key()?;
                    }
                    break;
                }
                depth -= 1;
            }
        }
    }

    /// A skipped object's key and its colon.
    fn member_key(&mut self) -> Scan<()> {
        self.consume(b'"')?;
        self.skip_string()?;
        self.consume(b':')
    }

    /// The rest of a string, escapes checked as JSON writes them (serde_json steps over a
    /// `\u` escape without judging its code point, and so does this).
    #[inline(always)]
    fn skip_string(&mut self) -> Scan<()> {
        loop {
            let at = special(self.bytes, self.at);
            match self.bytes.get(at) {
                Some(b'"') => {
                    self.at = at + 1;
                    return Ok(());
                }
                Some(b'\\') => {
                    self.at = at + 1;
                    self.escape()?;
                }
                // A control character, or the end of the page.
                _ => return Err(Stop),
            }
        }
    }

    fn escape(&mut self) -> Scan<()> {
        match self.peek()? {
            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.at += 1,
            b'u' => {
                let hex = self.bytes.get(self.at + 1..self.at + 5).ok_or(Stop)?;
                if !hex.iter().all(u8::is_ascii_hexdigit) {
                    return Err(Stop);
                }
                self.at += 5;
            }
            _ => return Err(Stop),
        }
        Ok(())
    }

    /// A number by JSON's grammar; its value is not read (skipped, `1e400` is fine).
    fn skip_number(&mut self) -> Scan<()> {
        if self.peek()? == b'-' {
            self.at += 1;
        }
        match self.peek()? {
            b'0' => {
                self.at += 1;
                if self.byte().is_some_and(|b| b.is_ascii_digit()) {
                    return Err(Stop);
                }
            }
            b'1'..=b'9' => {
                self.at += 1;
                self.digits();
            }
            _ => return Err(Stop),
        }
        if self.byte() == Some(b'.') {
            self.at += 1;
            if self.digits() == 0 {
                return Err(Stop);
            }
        }
        if let Some(b'e' | b'E') = self.byte() {
            self.at += 1;
            if let Some(b'+' | b'-') = self.byte() {
                self.at += 1;
            }
            if self.digits() == 0 {
                return Err(Stop);
            }
        }
        Ok(())
    }

    /// Steps over ASCII digits; how many.
    fn digits(&mut self) -> usize {
        let start = self.at;
        while self.byte().is_some_and(|b| b.is_ascii_digit()) {
            self.at += 1;
        }
        self.at - start
    }

    #[inline(always)]
    fn literal(&mut self, word: &[u8]) -> Scan<()> {
        if !self
            .bytes
            .get(self.at..)
            .is_some_and(|rest| rest.starts_with(word))
        {
            return Err(Stop);
        }
        self.at += word.len();
        Ok(())
    }

    #[inline(always)]
    fn byte(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    #[inline(always)]
    fn peek(&self) -> Scan<u8> {
        self.byte().ok_or(Stop)
    }

    /// The next byte that is not JSON whitespace (the cursor left on it).
    #[inline(always)]
    fn next_token(&mut self) -> Scan<u8> {
        loop {
            match self.peek()? {
                b' ' | b'\n' | b'\t' | b'\r' => self.at += 1,
                b => return Ok(b),
            }
        }
    }

    #[inline(always)]
    fn consume(&mut self, byte: u8) -> Scan<()> {
        if self.next_token()? != byte {
            return Err(Stop);
        }
        self.at += 1;
        Ok(())
    }

    /// After an element or member: true past a comma (another follows), false past
    /// `close`.
    #[inline(always)]
    fn more(&mut self, close: u8) -> Scan<bool> {
        match self.next_token()? {
            b',' => {
                self.at += 1;
                Ok(true)
            }
            b if b == close => {
                self.at += 1;
                Ok(false)
            }
            _ => Err(Stop),
        }
    }

    /// Only whitespace is left.
    fn at_end(&mut self) -> bool {
        self.next_token().is_err()
    }
}

/// The index of the first `"`, `\` or control character at or after `from`, or the
/// length: eight bytes at a time, as serde_json looks for the end of a string.
#[inline(always)]
fn special(bytes: &[u8], from: usize) -> usize {
    const ONES: u64 = u64::MAX / 255;
    const HIGH_BITS: u64 = ONES << 7;
    let rest = bytes.get(from..).unwrap_or_default();
    let mut chunks = rest.chunks_exact(8);
    let mut offset = from;
    for chunk in &mut chunks {
        // Eight bytes: the conversion cannot fail.
        let word = <[u8; 8]>::try_from(chunk).map_or(0, u64::from_le_bytes);
        let quote = word ^ (ONES * u64::from(b'"'));
        let backslash = word ^ (ONES * u64::from(b'\\'));
        // A byte's high bit is set where it is below 0x20, a quote or a backslash; a
        // borrow can only mark bytes after a true one, so the lowest mark is the first.
        let marks = ((word.wrapping_sub(ONES * 0x20) & !word)
            | (quote.wrapping_sub(ONES) & !quote)
            | (backslash.wrapping_sub(ONES) & !backslash))
            & HIGH_BITS;
        if marks != 0 {
            return offset + (marks.trailing_zeros() / 8) as usize;
        }
        offset += 8;
    }
    let tail = chunks.remainder();
    offset
        + tail
            .iter()
            .position(|&b| b < 0x20 || b == b'"' || b == b'\\')
            .unwrap_or(tail.len())
}

#[cfg(test)]
#[path = "records_scan_test.rs"]
mod tests;
