//! A state too large for its row, laid out so that a write costs what changed.
//!
//! The state's large map fields (a fleet's `lines`) are cut into [`BUCKETS`] buckets by a
//! hash of each entry's key; the rest of the state, its head, stays in the row beside the
//! write each bucket was last put by. A write puts only the buckets whose text changed, as
//! new items named by a random id of that write (`STATE#BUCKET#<field>#<nnn>#<id>`), each
//! on condition that no item has its key, before the transaction that moves the row to
//! them; the items they replace are deleted once it committed. A steady fleet rewrites its
//! row (about 1 KB) and no bucket.
//!
//! Bucket items are never overwritten, so a reader that read a row finds the buckets it
//! names, or finds one already deleted by a newer commit and reads again. Racing writers
//! never share an item: each names its own, and the one whose row lands names them.

use super::*;
use serde_json::value::RawValue;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// The most buckets a large field is cut into: the row names each by the 4-byte id of the
/// write that put it, and the largest heartbeat Lambda delivers (about 90 000 lines, 10 MB
/// of state) fills each with some 80 KB, a fifth of an item.
pub const BUCKETS: usize = 128;
// The manifest stores a field's bucket count in one byte.
const _: () = assert!(BUCKETS <= 255);
/// The text a bucket is sized for: a field gets the power of two of buckets that keeps
/// them about this size (up to [`BUCKETS`]), so one changed entry rewrites a few KB.
const BUCKET_TARGET_BYTES: usize = 8 * 1024;
/// A top-level map field of a state laid out in buckets is one larger than this.
const LARGE_FIELD_BYTES: usize = 512;
const BUCKET_SK_PREFIX: &str = "STATE#BUCKET#";

/// Where each bucket of a state read lives and what it held, so that the write replacing
/// the state puts only the buckets that changed and deletes the ones it replaced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BucketIndex {
    pub(crate) fields: BTreeMap<String, Vec<BucketRef>>,
}

/// One bucket as read: the id of the write that put it, a digest of its text, its size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BucketRef {
    pub(crate) id: u32,
    pub(crate) digest: u64,
    pub(crate) bytes: usize,
}

pub(super) fn bucket_sk(field: &str, index: usize, id: u32) -> String {
    format!("{BUCKET_SK_PREFIX}{field}#{index:03}#{id:08x}")
}

/// A fresh id for one write's buckets (std's randomly keyed hasher, no extra crate).
pub(super) fn write_id() -> u32 {
    use std::hash::BuildHasher;
    let hash =
        std::collections::hash_map::RandomState::new().hash_one(std::time::SystemTime::now());
    (hash >> 32) as u32 ^ hash as u32
}

fn digest(text: &str) -> u64 {
    let mut hasher = std::hash::DefaultHasher::new();
    text.hash(&mut hasher);
    hasher.finish()
}

/// The bucket of a map entry. Any stable choice works: a reader joins every bucket, so a
/// hash that changed between builds only costs one rewrite of the buckets.
fn bucket_of(key: &str, buckets: usize) -> usize {
    let mut hasher = std::hash::DefaultHasher::new();
    key.hash(&mut hasher);
    (hasher.finish() % buckets as u64) as usize
}

/// How many buckets a field of `bytes` is cut into, given how many it had: the count is
/// kept while it stays within a factor of two of the ideal, so that a fleet growing or
/// shrinking a little does not rewrite every bucket.
fn bucket_count(bytes: usize, before: Option<usize>) -> usize {
    let ideal = bytes
        .div_ceil(BUCKET_TARGET_BYTES)
        .next_power_of_two()
        .min(BUCKETS);
    match before {
        Some(n) if n * 2 >= ideal && n <= ideal * 2 && n <= BUCKETS => n,
        _ => ideal,
    }
}

/// A state cut into its head and the buckets of its large fields.
pub(super) struct Split {
    /// The JSON text of the state without its large fields.
    pub(super) head: String,
    /// Per large field, each bucket's JSON text (an object, `{}` when empty).
    pub(super) fields: BTreeMap<String, Vec<String>>,
}

/// Cuts a state's JSON text into head and buckets, each field into as many as it had in
/// `replaced` when that still fits; `None` when it has no large map field (it is then kept
/// whole, in its row or in parts).
pub(super) fn split(
    text: &str,
    replaced: Option<&BucketIndex>,
) -> Result<Option<Split>, StoreError> {
    let Ok(top) = serde_json::from_str::<BTreeMap<String, &RawValue>>(text) else {
        return Ok(None);
    };
    let (large, small): (BTreeMap<_, _>, BTreeMap<_, _>) = top
        .into_iter()
        .partition(|(_, v)| v.get().len() > LARGE_FIELD_BYTES && v.get().starts_with('{'));
    if large.is_empty() {
        return Ok(None);
    }
    let mut fields = BTreeMap::new();
    for (name, raw) in large {
        // Owned keys: a key with an escape cannot be borrowed from the text.
        let entries: BTreeMap<String, &RawValue> = serde_json::from_str(raw.get())?;
        let before = replaced.and_then(|r| r.fields.get(&name)).map(Vec::len);
        let count = bucket_count(raw.get().len(), before);
        let mut buckets: Vec<BTreeMap<String, &RawValue>> = vec![BTreeMap::new(); count];
        for (key, value) in entries {
            buckets[bucket_of(&key, count)].insert(key, value);
        }
        let texts = buckets
            .iter()
            .map(serde_json::to_string)
            .collect::<Result<Vec<_>, _>>()?;
        fields.insert(name, texts);
    }
    Ok(Some(Split {
        head: serde_json::to_string(&small)?,
        fields,
    }))
}

/// The row's record of where each bucket is, in a binary attribute (the row is rewritten
/// by every heartbeat, so its size is most of what a steady one costs): per field, its
/// name's length (one byte) and name, then each bucket's id (4 bytes, big-endian).
pub(super) fn manifest(index: &BucketIndex) -> Result<Vec<u8>, StoreError> {
    let mut out = Vec::with_capacity(index.fields.len() * (1 + 16 + 4 * BUCKETS));
    for (field, refs) in &index.fields {
        let name = u8::try_from(field.len()).map_err(|_| {
            StoreError::Rejected(format!(
                "a state field name of {} bytes is too long",
                field.len()
            ))
        })?;
        out.push(name);
        out.extend_from_slice(field.as_bytes());
        // At most BUCKETS (asserted above to fit a byte).
        out.push(refs.len() as u8);
        for r in refs {
            out.extend_from_slice(&r.id.to_be_bytes());
        }
    }
    Ok(out)
}

pub(super) fn read_manifest(bytes: &[u8]) -> Option<BTreeMap<String, Vec<u32>>> {
    let mut fields = BTreeMap::new();
    let mut rest = bytes;
    while let [len, tail @ ..] = rest {
        let (name, tail) = tail.split_at_checked(usize::from(*len))?;
        let (&count, tail) = tail.split_first()?;
        let (ids, tail) = tail.split_at_checked(usize::from(count) * 4)?;
        let ids = ids
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        fields.insert(std::str::from_utf8(name).ok()?.to_owned(), ids);
        rest = tail;
    }
    Some(fields)
}

/// What a write of a split state does to its buckets: the index it leaves, the buckets
/// it must put first, and the items of the replaced revision it makes garbage.
pub(super) struct BucketWrites {
    pub(super) index: BucketIndex,
    pub(super) puts: Vec<Item>,
    pub(super) garbage: Vec<Garbage>,
}

/// An item no revision will name once a commit lands, and its size (deletes are billed by
/// the size of what they delete).
#[derive(Clone, Debug)]
pub(super) struct Garbage {
    pub(super) key: Item,
    pub(super) bytes: usize,
}

fn item_key(pk: &str, sk: String) -> Item {
    HashMap::from([
        ("pk".to_owned(), AttributeValue::S(pk.to_owned())),
        ("sk".to_owned(), AttributeValue::S(sk)),
    ])
}

/// The buckets of a split state's large `fields` put by the write `id`, over what
/// `replaced` held.
pub(super) fn bucket_writes(
    pk: &str,
    key: &str,
    fields: BTreeMap<String, Vec<String>>,
    id: u32,
    replaced: Option<&BucketIndex>,
) -> Result<BucketWrites, StoreError> {
    let mut index = BucketIndex::default();
    let mut puts = Vec::new();
    for (field, texts) in fields {
        // Digests compare only between cuts into the same number of buckets.
        let before = replaced
            .and_then(|r| r.fields.get(&field))
            .filter(|b| b.len() == texts.len());
        let mut refs = Vec::with_capacity(texts.len());
        for (i, text) in texts.into_iter().enumerate() {
            let digest = digest(&text);
            let old = before.and_then(|b| b.get(i)).filter(|r| r.digest == digest);
            if let Some(old) = old {
                refs.push(*old);
                continue;
            }
            if text.len() > PART_TEXT_BYTES {
                return Err(StoreError::StateTooLarge {
                    key: format!("{key} ({field} bucket {i})"),
                    bytes: text.len(),
                    limit: PART_TEXT_BYTES,
                });
            }
            refs.push(BucketRef {
                id,
                digest,
                bytes: text.len(),
            });
            let mut item = item_key(pk, bucket_sk(&field, i, id));
            // Not an alert, nor a state row: the stream's consumers pass it by.
            item.insert("entity".into(), AttributeValue::S("state-part".into()));
            item.insert("text".into(), AttributeValue::S(text));
            puts.push(item);
        }
        index.fields.insert(field, refs);
    }
    let garbage = replaced.map_or_else(Vec::new, |r| superseded(pk, r, &index));
    Ok(BucketWrites {
        index,
        puts,
        garbage,
    })
}

/// The buckets `old` names that `new` does not.
pub(super) fn superseded(pk: &str, old: &BucketIndex, new: &BucketIndex) -> Vec<Garbage> {
    let mut garbage = Vec::new();
    for (field, refs) in &old.fields {
        let kept = new.fields.get(field);
        for (i, r) in refs.iter().enumerate() {
            let same = kept
                .filter(|k| k.len() == refs.len())
                .and_then(|k| k.get(i));
            if same.map(|k| k.id) != Some(r.id) {
                garbage.push(Garbage {
                    key: item_key(pk, bucket_sk(field, i, r.id)),
                    // Its text, and the keys and attributes around it.
                    bytes: r.bytes + 100,
                });
            }
        }
    }
    garbage
}

/// The keys of the buckets a row names, in order: field, then bucket.
pub(super) fn bucket_keys(pk: &str, manifest: &BTreeMap<String, Vec<u32>>) -> Vec<Item> {
    manifest
        .iter()
        .flat_map(|(field, ids)| {
            ids.iter()
                .enumerate()
                .map(move |(i, id)| item_key(pk, bucket_sk(field, i, *id)))
        })
        .collect()
}

/// The state's JSON text from its head and the bucket items read (any order), with the
/// index the next write needs; `Err` when an item the row names is missing.
pub(super) fn join(
    head: &str,
    manifest: &BTreeMap<String, Vec<u32>>,
    items: &[Item],
) -> Result<(String, Arc<BucketIndex>), TornParts> {
    let texts: HashMap<&str, &str> = items
        .iter()
        .filter_map(|item| match (item.get("sk"), item.get("text")) {
            (Some(AttributeValue::S(sk)), Some(AttributeValue::S(text))) => {
                Some((sk.as_str(), text.as_str()))
            }
            _ => None,
        })
        .collect();
    let expected: usize = manifest.values().map(Vec::len).sum();
    let found = bucket_keys("", manifest)
        .iter()
        .filter(|k| matches!(k.get("sk"), Some(AttributeValue::S(sk)) if texts.contains_key(sk.as_str())))
        .count();
    if found != expected {
        return Err(TornParts::Missing { expected, found });
    }
    let mut out =
        String::with_capacity(head.len() + texts.values().map(|t| t.len()).sum::<usize>() + 64);
    out.push_str(head.strip_suffix('}').unwrap_or(head));
    let mut first_field = head.trim() == "{}";
    let mut index = BucketIndex::default();
    for (field, ids) in manifest {
        if !first_field {
            out.push(',');
        }
        first_field = false;
        out.push_str(&serde_json::Value::from(field.as_str()).to_string());
        out.push_str(":{");
        let mut first_entry = true;
        let mut refs = Vec::with_capacity(ids.len());
        for (i, id) in ids.iter().enumerate() {
            let text = texts
                .get(bucket_sk(field, i, *id).as_str())
                .copied()
                .unwrap_or_default();
            refs.push(BucketRef {
                id: *id,
                digest: digest(text),
                bytes: text.len(),
            });
            let inner = text
                .strip_prefix('{')
                .and_then(|t| t.strip_suffix('}'))
                .unwrap_or_default();
            if !inner.is_empty() {
                if !first_entry {
                    out.push(',');
                }
                first_entry = false;
                out.push_str(inner);
            }
        }
        out.push('}');
        index.fields.insert(field.clone(), refs);
    }
    out.push('}');
    Ok((out, Arc::new(index)))
}

#[cfg(test)]
#[path = "buckets_test.rs"]
mod tests;
