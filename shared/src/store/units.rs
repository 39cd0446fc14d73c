//! The write units DynamoDB bills for what the store writes, counted as it writes.

use super::*;

impl DynamoStore {
    /// The write units billed for what this store (and its clones) wrote so far: 1 per KB
    /// of each item written or deleted, doubled in a transaction; a counter's update and a
    /// condition check counted as 1 KB. What the commits cost, not a CloudWatch reading.
    pub fn write_units(&self) -> u64 {
        self.units.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub(super) fn count_units(&self, bytes: usize, transactional: bool) {
        let units = bytes.div_ceil(1024).max(1) as u64 * if transactional { 2 } else { 1 };
        self.units
            .fetch_add(units, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The size a transaction item is billed for: a put's item; a stale part's delete, a part's
/// size; a counter's update and a condition check, under 1 KB.
pub(super) fn transact_item_bytes(item: &TransactWriteItem) -> usize {
    if let Some(put) = item.put() {
        item_bytes(put.item())
    } else if item.delete().is_some() {
        PART_TEXT_BYTES
    } else {
        1
    }
}
