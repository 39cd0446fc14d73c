//! The size DynamoDB counts for an item, by its published rules.

use super::*;

/// The size DynamoDB counts for an item, by its published rules: the names of its
/// attributes and the sizes of their values.
pub(super) fn item_size(fields: &serde_json::Map<String, serde_json::Value>) -> usize {
    fields
        .iter()
        .map(|(name, value)| name.len() + attribute_size(value))
        .sum()
}

/// The size DynamoDB counts for a value stored as an attribute: strings by their UTF-8
/// bytes; numbers one byte per two significant digits, plus one; null and booleans one
/// byte; lists and maps three bytes, plus one byte and the name of each element.
pub(super) fn attribute_size(value: &serde_json::Value) -> usize {
    use serde_json::Value;
    match value {
        Value::Null | Value::Bool(_) => 1,
        // Every digit counted: the zeros DynamoDB trims would only make it smaller.
        Value::Number(n) => number_size(n.to_string().bytes().filter(u8::is_ascii_digit).count()),
        Value::String(s) => s.len(),
        Value::Array(items) => 3 + items.iter().map(|v| 1 + attribute_size(v)).sum::<usize>(),
        Value::Object(fields) => {
            3 + fields
                .iter()
                .map(|(name, v)| name.len() + 1 + attribute_size(v))
                .sum::<usize>()
        }
    }
}

/// [`attribute_size`] of a value read from its JSON text, without building the value.
pub(super) struct AttributeSize(pub(super) usize);

impl<'de> Deserialize<'de> for AttributeSize {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(AttributeSizeVisitor)
    }
}

pub(super) struct AttributeSizeVisitor;

/// The bytes DynamoDB counts for a number with this many significant digits.
pub(super) fn number_size(digits: usize) -> usize {
    digits.div_ceil(2) + 1
}

pub(super) fn decimal_digits(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |log| log as usize + 1)
}

impl<'de> serde::de::Visitor<'de> for AttributeSizeVisitor {
    type Value = AttributeSize;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<AttributeSize, E> {
        Ok(AttributeSize(1))
    }

    fn visit_unit<E>(self) -> Result<AttributeSize, E> {
        Ok(AttributeSize(1))
    }

    fn visit_u64<E>(self, n: u64) -> Result<AttributeSize, E> {
        Ok(AttributeSize(number_size(decimal_digits(n))))
    }

    fn visit_i64<E>(self, n: i64) -> Result<AttributeSize, E> {
        Ok(AttributeSize(number_size(decimal_digits(n.unsigned_abs()))))
    }

    fn visit_f64<E>(self, n: f64) -> Result<AttributeSize, E> {
        Ok(AttributeSize(attribute_size(&serde_json::Value::from(n))))
    }

    fn visit_str<E>(self, s: &str) -> Result<AttributeSize, E> {
        Ok(AttributeSize(s.len()))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(
        self,
        mut items: A,
    ) -> Result<AttributeSize, A::Error> {
        let mut size = 3;
        while let Some(AttributeSize(item)) = items.next_element()? {
            size += 1 + item;
        }
        Ok(AttributeSize(size))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut fields: A,
    ) -> Result<AttributeSize, A::Error> {
        let mut size = 3;
        while let Some((AttributeSize(name), AttributeSize(value))) = fields.next_entry()? {
            size += name + 1 + value;
        }
        Ok(AttributeSize(size))
    }
}

/// The size DynamoDB counts for an item as the SDK holds it (the same rules as
/// [`attribute_size`], on attribute values).
pub(super) fn item_bytes(item: &Item) -> usize {
    item.iter()
        .map(|(name, value)| name.len() + value_bytes(value))
        .sum()
}

fn value_bytes(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => number_size(n.bytes().filter(u8::is_ascii_digit).count()),
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::L(items) => 3 + items.iter().map(|v| 1 + value_bytes(v)).sum::<usize>(),
        AttributeValue::M(fields) => {
            3 + fields
                .iter()
                .map(|(name, v)| name.len() + 1 + value_bytes(v))
                .sum::<usize>()
        }
        AttributeValue::Ss(set) => set.iter().map(String::len).sum(),
        AttributeValue::Ns(set) => set
            .iter()
            .map(|n| number_size(n.bytes().filter(u8::is_ascii_digit).count()))
            .sum(),
        AttributeValue::Bs(set) => set.iter().map(|b| b.as_ref().len()).sum(),
        _ => 0,
    }
}
