//! Missing webhooks: after each finished read, every day now due is compared once — the
//! calls Exotel's call log lists per ExoPhone against the calls the Exotel call
//! notifications reported (`call_log::missing_webhooks` decides; this reads and writes).

use crate::{AggregatorError, Checkpoint, Deps};
use chrono::{Duration, NaiveDate};
use dialtone_shared::call_log::missing_webhooks::{
    compare_day, days_to_compare, listed_per_line, missing_webhooks_alert, notified_per_line,
    DayComparison, ACTIVE_DAYS,
};
use dialtone_shared::calls::Provider;
use dialtone_shared::phone::CountryCode;
use dialtone_shared::store::{
    DayCounterStore, EventStore, StateJson, StateKey, StateWrite, StoreError,
};
use std::collections::{BTreeMap, BTreeSet};

/// The notifications compared: Exotel's WebRTC call notifications (exotel-call-events).
const NOTIFICATIONS: Provider = Provider::ExotelWebrtc;

/// Compares the days due, oldest first, each once: its alert (if past the threshold), its
/// comparison for the dashboard, then the cursor's mark. A run cut short between them
/// compares the day again, raising the same alert id, which is stored once.
pub(crate) async fn compare_due_days<S: EventStore + DayCounterStore>(
    deps: &Deps<S>,
    checkpoint: &mut Checkpoint,
) -> Result<(), AggregatorError> {
    let policy = &deps.missing_webhooks;
    let cursor = &checkpoint.cursor;
    let days = days_to_compare(
        cursor.webhooks_compared_through,
        cursor.read_since,
        cursor.read_through,
        policy.lag,
    );
    // The ExoPhones notified per day, kept across the days of this run (a backlog's
    // windows overlap).
    let mut notified_lines: BTreeMap<NaiveDate, BTreeSet<String>> = BTreeMap::new();
    for day in days {
        let counters = deps.store.day_counters(day).await?;
        let provider = NOTIFICATIONS.as_str();
        let listed = listed_per_line(day, &counters, &policy.country);
        let (notified, without_line) = notified_per_line(day, provider, &counters, &policy.country);
        notified_lines.insert(day, lines_with_calls(&notified));
        let mut active = BTreeSet::new();
        for back in 0..ACTIVE_DAYS {
            let earlier = day - Duration::days(back as i64);
            let lines = match notified_lines.get(&earlier) {
                Some(lines) => lines,
                None => {
                    let lines =
                        notified_on(&deps.store, earlier, provider, &policy.country).await?;
                    notified_lines.entry(earlier).or_insert(lines)
                }
            };
            active.extend(lines.iter().cloned());
        }
        let comparison = compare_day(day, &listed, &notified, without_line, &active, policy);
        let alert = missing_webhooks_alert(&comparison, policy, deps.tz);
        tracing::info!(
            %day,
            listed = comparison.listed(),
            missing = comparison.missing(),
            lines_compared = comparison.lines.len(),
            silent_lines = comparison.silent_lines.len(),
            left_out_lines = comparison.left_out_lines.len(),
            notified_without_line = comparison.notified_without_line,
            alert = alert.is_some(),
            "notifications compared with the call log"
        );
        if let Some(alert) = alert {
            deps.store.put_alert_once(&alert).await?;
        }
        keep_for_dashboard(&deps.store, &comparison).await?;
        checkpoint.cursor.webhooks_compared_through = Some(day);
        checkpoint.save(&deps.store).await?;
    }
    Ok(())
}

fn lines_with_calls(notified: &BTreeMap<String, u64>) -> BTreeSet<String> {
    notified
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(line, _)| line.clone())
        .collect()
}

/// The ExoPhones with a notified call on `day`.
async fn notified_on<S: DayCounterStore>(
    store: &S,
    day: NaiveDate,
    provider: &str,
    country: &CountryCode,
) -> Result<BTreeSet<String>, StoreError> {
    let counters = store.day_counters(day).await?;
    let (notified, _) = notified_per_line(day, provider, &counters, country);
    Ok(lines_with_calls(&notified))
}

/// The newest day compared, in the row the dashboard reads; an older day never replaces
/// a newer one.
async fn keep_for_dashboard<S: EventStore>(
    store: &S,
    comparison: &DayComparison,
) -> Result<(), AggregatorError> {
    let stored = store
        .load_state::<DayComparison>(&StateKey::MissingWebhooks)
        .await?;
    if stored
        .as_ref()
        .is_some_and(|s| s.value.day > comparison.day)
    {
        return Ok(());
    }
    store
        .save_state(StateWrite {
            key: StateKey::MissingWebhooks,
            index: None,
            replaces: stored.map(|s| s.revision),
            state: StateJson::of(comparison)?,
        })
        .await?
        .ok_or(AggregatorError::Overtaken)?;
    Ok(())
}
