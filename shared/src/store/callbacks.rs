//! The callback watchdog's reads and writes: the states an index partition holds from
//! before a time (the callbacks it still has to decide about), and a state written with its
//! alert.

use super::*;

/// A state row as the index returns it (a state the index holds always fits its row).
#[derive(Deserialize)]
pub(super) struct IndexedState<T> {
    pub(super) state: T,
}

impl CallbackStore for DynamoStore {
    async fn indexed_before(
        &self,
        partition: &str,
        cutoff: DateTime<Utc>,
    ) -> Result<Vec<StateKey>, StoreError> {
        let query = self
            .index_before(partition, cutoff)
            // The key alone: the state is read afresh, consistently, before deciding.
            .projection_expression("pk");
        Ok(super::queries::every_item(query)
            .await?
            .into_iter()
            .filter_map(|mut item| match item.remove("pk") {
                // A row another writer indexed under this partition, with a key none of
                // the states has, is not a callback to decide about.
                Some(AttributeValue::S(pk)) => state_key(&pk).and_then(|k| k.parse().ok()),
                _ => None,
            })
            .collect())
    }

    async fn load_state<T: DeserializeOwned + Send>(
        &self,
        key: &StateKey,
    ) -> Result<Option<Versioned<T>>, StoreError> {
        self.read_state(&key.to_string()).await
    }

    async fn save_with_alert(
        &self,
        write: StateWrite,
        alert: &Alert,
    ) -> Result<AlertSaved, StoreError> {
        let rows = state_rows(&write, Utc::now())?;
        if !rows.bucket_puts.is_empty() || !rows.garbage.is_empty() {
            // Buckets are for states with a large map; a callback has none. (No key in
            // the message: a callback's names a phone number.)
            return Err(StoreError::Rejected(
                "a state kept in buckets cannot be written with an alert".into(),
            ));
        }
        let put = |put: Put| TransactWriteItem::builder().put(put).build();
        let mut items = vec![
            put(self.state_put(rows.row.clone())?),
            put(self.put(alert_item(alert)?, Some("attribute_not_exists(pk)"))?),
        ];
        items.extend(self.part_items(rows.parts.clone(), rows.stale.clone())?);
        match self.transact(items).await? {
            None => Ok(AlertSaved::Raised),
            Some(why) if why.failed.contains(&0) || why.conflicted => Ok(AlertSaved::StateMoved),
            // The alert alone exists: raised by a watchdog before the state kept its mark.
            Some(why) if why.failed == [1] => {
                Ok(match EventStore::save_state(self, write).await? {
                    Some(_) => AlertSaved::AlreadyRaised,
                    None => AlertSaved::StateMoved,
                })
            }
            Some(why) => Err(StoreError::Request(format!(
                "transaction cancelled: {:?}",
                why.message
            ))),
        }
    }
}
