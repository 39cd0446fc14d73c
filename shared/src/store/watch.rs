//! The SMS watchdog's reads: the messages waiting in an index partition since before a
//! time, with their keys, and the newest sort key of a phone's partition (when it last
//! moved a message: one item, read newest first).

use super::callbacks::IndexedState;
use super::*;

impl WatchStore for DynamoStore {
    async fn indexed_states_before<T: DeserializeOwned + Send>(
        &self,
        partition: &str,
        cutoff: DateTime<Utc>,
    ) -> Result<Vec<(StateKey, T)>, StoreError> {
        let query = self.index_before(partition, cutoff);
        let mut states = Vec::new();
        for mut item in super::queries::every_item(query).await? {
            let key = match item.remove("pk") {
                Some(AttributeValue::S(pk)) => state_key(&pk).and_then(|k| k.parse().ok()),
                _ => None,
            };
            // A row another writer indexed here, with a key none of the states has.
            let Some(key) = key else { continue };
            states.push((key, dynamo::from_item::<IndexedState<T>>(item)?.state));
        }
        Ok(states)
    }

    async fn newest_indexed(&self, partition: &str) -> Result<Option<String>, StoreError> {
        let found = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(ALERTS_INDEX)
            .key_condition_expression("gsi1pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(partition.into()))
            .scan_index_forward(false)
            .projection_expression("gsi1sk")
            .limit(1)
            .send()
            .await
            .map_err(request_error)?;
        Ok(found
            .items()
            .first()
            .and_then(|item| match item.get("gsi1sk") {
                Some(AttributeValue::S(sk)) => Some(sk.clone()),
                _ => None,
            }))
    }
}
