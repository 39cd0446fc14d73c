//! Counters that raise one alert when they reach a threshold (a burst of SMS failures, of
//! refused secrets), checked after each commit and on every duplicate.

use super::*;
use crate::store::CounterKey;

/// A counter row and the alert it raises, once, when it reaches `at_least`, or, with a
/// ratio, when it is a large enough share of another counter.
#[derive(Clone, Debug)]
pub struct Threshold {
    pub bump: CounterBump,
    pub at_least: i64,
    pub ratio: Option<Ratio>,
    /// The alert, given the counter's fields as they stand when the threshold is reached.
    pub alert: fn(&std::collections::BTreeMap<String, i64>, &ThresholdContext) -> Alert,
    pub context: ThresholdContext,
}

/// A share of another counter's total that raises the alert too (a small sender's
/// failures are few, but a large part of its sends): at least `at_least`, and more than
/// `above_percent` of `of`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ratio {
    pub of: CounterKey,
    pub at_least: i64,
    pub above_percent: i64,
}

impl Threshold {
    /// Whether `total` raises the alert: past the count, or (given the other counter's
    /// total) past the share.
    pub fn reached(&self, total: i64, of: Option<i64>) -> bool {
        total >= self.at_least
            || self.ratio.as_ref().zip(of).is_some_and(|(ratio, of)| {
                total >= ratio.at_least && total * 100 > ratio.above_percent * of
            })
    }

    /// Whether the ratio needs the other counter read: only when the count alone is not
    /// reached and the ratio's minimum is.
    fn needs_ratio(&self, total: i64) -> Option<&CounterKey> {
        let ratio = self.ratio.as_ref()?;
        (total < self.at_least && total >= ratio.at_least).then_some(&ratio.of)
    }
}

/// What a threshold alert needs to know besides the counts.
#[derive(Clone, Debug)]
pub struct ThresholdContext {
    pub scope: String,
    pub window_start: DateTime<Utc>,
    pub window_minutes: i64,
    /// The ratio's other counter, when it was read: the window's sends.
    pub of: Option<i64>,
}

/// Counts a refused or ignored request once: the count and a marker keyed by the
/// request's id are one transaction, so the SDK's retry of a write whose answer was lost
/// counts nothing again (a provider's own retry is another request, and counts).
pub(super) async fn count<S: EventStore>(
    store: &S,
    source: &'static str,
    request: &Request,
    threshold: Threshold,
    now: DateTime<Utc>,
) {
    // Noise control, not the event: a count that fails (DynamoDB down, a burst of
    // refusals conflicting) is logged and the request answered as it would have been;
    // a 503 here would start the provider's retry storm the refusal exists to avoid.
    if let Err(e) = count_refusal(store, source, request, threshold, now).await {
        tracing::warn!(error = %e, "refusal not counted");
    }
}

async fn count_refusal<S: EventStore>(
    store: &S,
    source: &'static str,
    request: &Request,
    threshold: Threshold,
    now: DateTime<Utc>,
) -> Result<(), WebhookError> {
    let key = format!(
        "counted:{}:{}",
        threshold.bump.key,
        super::request_id(request, now)
    );
    // Sharded like an event's counters: a burst of refusals must not conflict on one item.
    let bump = threshold.bump.clone().sharded_by(&key);
    store
        .count_once(source, &[key], std::slice::from_ref(&bump), now)
        .await?;
    let counts = store.read_counter(&threshold.bump.key).await?;
    raise_if_reached(store, &threshold, &counts).await
}

pub(super) async fn check_thresholds<R: Receiver, S: EventStore>(
    receiver: &R,
    store: &S,
    event: &R::Event,
    states: &[Option<R::State>],
    now: DateTime<Utc>,
) -> Result<(), WebhookError> {
    for threshold in receiver.thresholds(event, states, now) {
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
    let of = match threshold.needs_ratio(total) {
        Some(key) => Some(
            store
                .read_counter(key)
                .await?
                .get(crate::store::COUNTER_TOTAL)
                .copied()
                .unwrap_or_default(),
        ),
        None => None,
    };
    if threshold.reached(total, of) {
        let mut context = threshold.context.clone();
        context.of = of;
        let alert = (threshold.alert)(counts, &context);
        if store.put_alert_once(&alert).await? {
            tracing::warn!(alert = %crate::phone::mask_numbers(&alert.id()), total, "threshold reached; alert raised");
        }
    }
    Ok(())
}
