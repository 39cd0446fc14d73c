//! Counters that raise one alert when they reach a threshold (a burst of SMS failures, of
//! refused secrets), checked after each commit and on every duplicate.

use super::*;

/// A counter row and the alert it raises, once, when it reaches `at_least`.
#[derive(Clone, Debug)]
pub struct Threshold {
    pub bump: CounterBump,
    pub at_least: i64,
    /// The alert, given the counter's fields as they stand when the threshold is reached.
    pub alert: fn(&std::collections::BTreeMap<String, i64>, &ThresholdContext) -> Alert,
    pub context: ThresholdContext,
}

/// What a threshold alert needs to know besides the counts.
#[derive(Clone, Debug)]
pub struct ThresholdContext {
    pub scope: String,
    pub window_start: DateTime<Utc>,
    pub window_minutes: i64,
}

/// Counts a refused or ignored request once per body: a provider's retries of one body,
/// and the SDK's retry of a write whose answer was lost, are one refusal, not several.
pub(super) async fn count<S: EventStore>(
    store: &S,
    source: &'static str,
    request: &Request,
    threshold: Threshold,
    now: DateTime<Utc>,
) -> Result<(), WebhookError> {
    use sha2::{Digest, Sha256};
    let digest: String = Sha256::digest(request.body().as_ref())
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect();
    let key = format!("counted:{}:{digest}", threshold.bump.key);
    store
        .count_once(source, &[key], std::slice::from_ref(&threshold.bump), now)
        .await?;
    let counts = store.read_counter(&threshold.bump.key).await?;
    raise_if_reached(store, &threshold, &counts).await
}

pub(super) async fn check_thresholds<R: Receiver, S: EventStore>(
    receiver: &R,
    store: &S,
    event: &R::Event,
    now: DateTime<Utc>,
) -> Result<(), WebhookError> {
    for threshold in receiver.thresholds(event, now) {
        let counts = store.read_counter(&threshold.bump.key).await?;
        raise_if_reached(store, &threshold, &counts).await?;
    }
    Ok(())
}

async fn raise_if_reached<S: EventStore>(
    store: &S,
    threshold: &Threshold,
    counts: &std::collections::BTreeMap<String, i64>,
) -> Result<(), WebhookError> {
    let total = counts
        .get(crate::store::COUNTER_TOTAL)
        .copied()
        .unwrap_or_default();
    if total >= threshold.at_least {
        let alert = (threshold.alert)(counts, &threshold.context);
        if store.put_alert_once(&alert).await? {
            tracing::warn!(alert = %alert.id(), total, "threshold reached; alert raised");
        }
    }
    Ok(())
}
