//! How a state is laid out in rows: a row that holds it, or its text in part items.

use super::*;

pub(super) fn state_pk(key: impl std::fmt::Display) -> String {
    format!("STATE#{key}")
}

/// The state key of a state row's `pk`.
pub(super) fn state_key(pk: &str) -> Option<&str> {
    pk.strip_prefix("STATE#")
}

/// Part sort keys are fixed-width, so that they sort in part order.
pub(super) fn part_sk(index: usize) -> String {
    format!("{PART_SK_PREFIX}{index:03}")
}

/// One state as written: its row; the parts that hold its text when the row cannot (in
/// the commit's transaction); the keys of the replaced revision's parts it no longer needs
/// (deleted in the transaction); the buckets to put before the transaction, and the items
/// of the replaced revision to delete after it; and the revision it becomes.
#[derive(Clone)]
pub(super) struct StateRows {
    pub(super) row: StateRow,
    pub(super) parts: Vec<Item>,
    pub(super) stale: Vec<Item>,
    pub(super) bucket_puts: Vec<Item>,
    pub(super) garbage: Vec<Garbage>,
    pub(super) revision: Revision,
}

/// A state row, and the condition that it replaces the revision it was decided on.
#[derive(Clone)]
pub(super) struct StateRow {
    pub(super) item: Item,
    pub(super) condition: &'static str,
    pub(super) expected: Option<Item>,
}

/// Lays a state out as rows: a state that fits one item stays a map attribute of its row,
/// exactly as states always were; a larger one with large map fields keeps its head in the
/// row and those fields in buckets (`buckets.rs`); any other larger one becomes JSON text
/// in part items.
pub(super) fn state_rows(state: &StateWrite, now: DateTime<Utc>) -> Result<StateRows, StoreError> {
    let pk = state_pk(&state.key);
    let version = Revision::next_version(state.replaces.as_ref());
    let mut head = serde_json::Map::new();
    head.insert("pk".into(), pk.as_str().into());
    head.insert("sk".into(), STATE_SK.into());
    head.insert("entity".into(), "state".into());
    head.insert("version".into(), version.into());
    head.insert("updated_at".into(), serde_json::to_value(now)?);
    if let Some((gsi_pk, gsi_sk)) = &state.index {
        head.insert("gsi1pk".into(), gsi_pk.as_str().into());
        head.insert("gsi1sk".into(), gsi_sk.as_str().into());
    }
    let row_bytes = item_size(&head);
    let row_size = row_bytes + "state".len() + state.state.attribute_bytes();
    let mut head = dynamo::to_item(head)?;
    let replaced_buckets = state.replaces.as_ref().and_then(|r| r.buckets.as_deref());
    let mut parts = Vec::new();
    let mut bucket_puts = Vec::new();
    let mut buckets = None;
    // A small state stays in its row; a larger one with a large map is bucketed as soon as
    // rewriting its whole row would cost more than a few write units a heartbeat.
    let bucketed = if row_size > BUCKETED_ROW_BYTES {
        buckets::split(state.state.text(), replaced_buckets)?
    } else {
        None
    };
    if bucketed.is_none() && row_size <= STATE_ROW_LIMIT {
        head.insert(
            "state".into(),
            dynamo::to_attribute_value(state.state.to_value()?)?,
        );
    } else if let Some(split) = bucketed {
        let Split {
            head: state_head,
            fields,
        } = split;
        let writes = bucket_writes(
            &pk,
            &state.key.to_string(),
            fields,
            write_id(),
            replaced_buckets,
        )?;
        let manifest = manifest(&writes.index)?;
        let bytes = row_bytes + "head".len() + state_head.len() + "buckets".len() + manifest.len();
        if bytes > STATE_ROW_LIMIT {
            return Err(StoreError::StateTooLarge {
                key: state.key.to_string(),
                bytes,
                limit: STATE_ROW_LIMIT,
            });
        }
        head.insert("head".into(), AttributeValue::S(state_head));
        head.insert(
            "buckets".into(),
            AttributeValue::B(aws_sdk_dynamodb::primitives::Blob::new(manifest)),
        );
        bucket_puts = writes.puts;
        buckets = Some((std::sync::Arc::new(writes.index), writes.garbage));
    } else {
        let text = state.state.text();
        if text.len() > STATE_TEXT_LIMIT {
            return Err(StoreError::StateTooLarge {
                key: state.key.to_string(),
                bytes: text.len(),
                limit: STATE_TEXT_LIMIT,
            });
        }
        parts = split_text(text, PART_TEXT_BYTES)
            .into_iter()
            .enumerate()
            .map(|(index, text)| part_item(&pk, index, version, text))
            .collect();
        head.insert("parts".into(), AttributeValue::N(parts.len().to_string()));
    }
    let replaced_parts = state.replaces.as_ref().map_or(0, |r| r.parts);
    let stale = (parts.len()..replaced_parts)
        .map(|index| {
            HashMap::from([
                ("pk".to_owned(), AttributeValue::S(pk.clone())),
                ("sk".to_owned(), AttributeValue::S(part_sk(index))),
            ])
        })
        .collect();
    let (index, garbage) = match buckets {
        Some((index, garbage)) => (Some(index), garbage),
        // Kept whole now: every bucket the replaced revision had is garbage.
        None => (
            None,
            replaced_buckets.map_or_else(Vec::new, |old| {
                superseded(&pk, old, &BucketIndex::default())
            }),
        ),
    };
    let (condition, expected) = revision_condition(state.replaces.as_ref());
    Ok(StateRows {
        row: StateRow {
            item: head,
            condition,
            expected,
        },
        revision: Revision {
            version,
            parts: parts.len(),
            buckets: index,
        },
        parts,
        stale,
        bucket_puts,
        garbage,
    })
}

/// The condition that a state row is still at `revision` (`None`: that it does not exist).
pub(super) fn revision_condition(revision: Option<&Revision>) -> (&'static str, Option<Item>) {
    match revision {
        None => ("attribute_not_exists(pk)", None),
        Some(r) => (
            "version = :expected",
            Some(HashMap::from([(
                ":expected".to_owned(),
                AttributeValue::N(r.version.to_string()),
            )])),
        ),
    }
}

pub(super) fn part_item(pk: &str, index: usize, version: u64, text: &str) -> Item {
    HashMap::from([
        ("pk".to_owned(), AttributeValue::S(pk.to_owned())),
        ("sk".to_owned(), AttributeValue::S(part_sk(index))),
        // Not an alert, nor a state row: the stream's consumers pass it by.
        ("entity".to_owned(), AttributeValue::S("state-part".into())),
        ("version".to_owned(), AttributeValue::N(version.to_string())),
        ("text".to_owned(), AttributeValue::S(text.to_owned())),
    ])
}

/// Cuts text into pieces of at most `max` bytes (`max` ≥ 4), never inside a character.
pub(super) fn split_text(text: &str, max: usize) -> Vec<&str> {
    let mut pieces = Vec::with_capacity(text.len().div_ceil(max));
    let mut rest = text;
    while !rest.is_empty() {
        let mut end = rest.len().min(max);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        let (piece, tail) = rest.split_at(end);
        pieces.push(piece);
        rest = tail;
    }
    pieces
}

/// The text of a state's version from its part items, read in sort key order: they must
/// be exactly its `parts` parts, each of that version.
pub(super) fn join_parts(
    version: u64,
    parts: usize,
    items: Vec<Item>,
) -> Result<String, TornParts> {
    if items.len() != parts {
        return Err(TornParts::Missing {
            expected: parts,
            found: items.len(),
        });
    }
    let version = version.to_string();
    let mut text = String::new();
    for (index, mut item) in items.into_iter().enumerate() {
        match item.get("sk") {
            Some(AttributeValue::S(sk)) if *sk == part_sk(index) => {}
            other => {
                return Err(TornParts::OutOfPlace {
                    index,
                    sk: format!("{other:?}"),
                })
            }
        }
        match item.get("version") {
            Some(AttributeValue::N(n)) if *n == version => {}
            other => {
                return Err(TornParts::OtherVersion {
                    index,
                    found: match other {
                        Some(AttributeValue::N(n)) => n.clone(),
                        other => format!("{other:?}"),
                    },
                })
            }
        }
        match item.remove("text") {
            Some(AttributeValue::S(piece)) => text.push_str(&piece),
            _ => return Err(TornParts::NoText { index }),
        }
    }
    Ok(text)
}
