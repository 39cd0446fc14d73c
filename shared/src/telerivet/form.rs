//! A Telerivet form body read in one pass straight into the JSON fields serde_qs would
//! give for it, for the shapes Telerivet sends: each key once, `name`, `name[field]`
//! (brackets plain or as `%5B` / `%5D`) and numbered lists counted up from 0
//! (`media[0][url]`, `media[1][url]`), values percent- and plus-encoded.
//!
//! serde_qs reads the body into a tree of its own, then that tree into a `Value`: the
//! largest part of the receiver's CPU (perf). Anything else (a key given twice, `[]`, an index out of
//! order or written `01`, a key with other escapes, a bare key without `=`, a malformed
//! escape, text that is not UTF-8, nesting deeper than the limit) is left to serde_qs,
//! which stays the reference: [`read_fields`] answers `None` and the caller asks it.

use serde_json::{Map, Value};
use std::borrow::Cow;

/// The fields of `body` as serde_qs reads them in form mode with `max_depth`, or `None`
/// when the body holds a shape this reader leaves to serde_qs.
pub fn read_fields(body: &[u8], max_depth: usize) -> Option<Map<String, Value>> {
    let mut fields = Map::new();
    for pair in body.split(|b| *b == b'&').filter(|pair| !pair.is_empty()) {
        let equals = pair.iter().position(|b| *b == b'=')?;
        let key = decoded(&pair[..equals], key_escape)?;
        let value = decoded(&pair[equals + 1..], value_escape)?;
        let (root, path) = key.split_at(key.find('[').unwrap_or(key.len()));
        if root.is_empty() || root.contains(']') || is_digits(root) {
            return None;
        }
        insert(&mut fields, root, path, max_depth, value.into_owned())?;
    }
    // Only separators: serde_qs refuses the body.
    (!fields.is_empty()).then_some(fields)
}

/// The first `[segment]` of `path` and what follows it; `Some(None)` at its end, `None`
/// for a segment serde_qs reads otherwise (empty, unclosed, holding a `[`, or followed by
/// anything but another bracket).
fn next_segment(path: &str) -> Option<Option<(&str, &str)>> {
    if path.is_empty() {
        return Some(None);
    }
    let inside = path.strip_prefix('[')?;
    let close = inside.find(']')?;
    let segment = &inside[..close];
    if segment.is_empty() || segment.contains('[') {
        return None;
    }
    Some(Some((segment, &inside[close + 1..])))
}

/// `value` at `name` of `map`, then along `path`, whose segments may be `depth` at most
/// (serde_qs reads the rest of a deeper key as one name).
fn insert(
    map: &mut Map<String, Value>,
    name: &str,
    path: &str,
    depth: usize,
    value: String,
) -> Option<()> {
    match next_segment(path)? {
        None => {
            if map.contains_key(name) {
                return None;
            }
            map.insert(name.to_owned(), Value::String(value));
            Some(())
        }
        Some((next, deeper)) => {
            let depth = depth.checked_sub(1)?;
            if !map.contains_key(name) {
                map.insert(name.to_owned(), container_for(next)?);
            }
            insert_below(map.get_mut(name)?, next, deeper, depth, value)
        }
    }
}

/// `value` at `segment` of `node`, then along `deeper` (at most `depth` more segments).
fn insert_below(
    node: &mut Value,
    segment: &str,
    deeper: &str,
    depth: usize,
    value: String,
) -> Option<()> {
    match node {
        Value::Object(map) if !is_digits(segment) => insert(map, segment, deeper, depth, value),
        Value::Array(items) => {
            let index = list_index(segment)?;
            match next_segment(deeper)? {
                None if index == items.len() => {
                    items.push(Value::String(value));
                    Some(())
                }
                None => None,
                Some((next, deepest)) => {
                    let depth = depth.checked_sub(1)?;
                    if index == items.len() {
                        items.push(container_for(next)?);
                    }
                    insert_below(items.get_mut(index)?, next, deepest, depth, value)
                }
            }
        }
        _ => None,
    }
}

/// A list when `segment` is an index, an object for a name, `None` for digits that
/// serde_qs would read as another number (`01`) or as a name (too large).
fn container_for(segment: &str) -> Option<Value> {
    if !is_digits(segment) {
        Some(Value::Object(Map::new()))
    } else {
        list_index(segment).map(|_| Value::Array(Vec::new()))
    }
}

fn is_digits(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_digit())
}

/// `0`, `1`, … written as serde_qs writes them back: no leading zero, within `u32`.
fn list_index(segment: &str) -> Option<usize> {
    if segment.len() > 1 && segment.starts_with('0') {
        return None;
    }
    let index: u32 = segment.parse().ok()?;
    usize::try_from(index).ok()
}

/// `raw` as text with its `%` and `+` escapes undone by `unescape` (given the escape's
/// first byte and the bytes after it); `None` when `unescape` refuses one or the text is
/// not UTF-8.
fn decoded(
    raw: &[u8],
    unescape: fn(u8, &mut std::slice::Iter<'_, u8>) -> Option<u8>,
) -> Option<Cow<'_, str>> {
    if !raw.iter().any(|b| matches!(b, b'%' | b'+')) {
        return std::str::from_utf8(raw).ok().map(Cow::Borrowed);
    }
    let mut text = Vec::with_capacity(raw.len());
    let mut bytes = raw.iter();
    while let Some(&byte) = bytes.next() {
        text.push(match byte {
            b'%' | b'+' => unescape(byte, &mut bytes)?,
            other => other,
        });
    }
    String::from_utf8(text).ok().map(Cow::Owned)
}

/// A key's escapes: only `%5B` / `%5D`, the brackets serde_qs's form mode takes them for.
fn key_escape(byte: u8, after: &mut std::slice::Iter<'_, u8>) -> Option<u8> {
    match (byte, after.next(), after.next()) {
        (b'%', Some(b'5'), Some(b'B')) => Some(b'['),
        (b'%', Some(b'5'), Some(b'D')) => Some(b']'),
        _ => None,
    }
}

/// A value's escapes: `+` is a space, `%XX` a byte; a `%` not followed by two hex digits
/// is refused (serde_qs keeps some of those as they are).
fn value_escape(byte: u8, after: &mut std::slice::Iter<'_, u8>) -> Option<u8> {
    if byte == b'+' {
        return Some(b' ');
    }
    let high = hex_digit(*after.next()?)?;
    let low = hex_digit(*after.next()?)?;
    Some(high << 4 | low)
}

fn hex_digit(byte: u8) -> Option<u8> {
    char::from(byte)
        .to_digit(16)
        .and_then(|digit| u8::try_from(digit).ok())
}

#[cfg(test)]
#[path = "form_test.rs"]
mod tests;
