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

/// A share that raises the alert too (a small sender's failures are few, but a large part
/// of its sends): on the counter `of`, its field `part` at least `at_least` and more than
/// `above_percent` of its total. Both are counted on one row, so the share is of the very
/// sends the failures are among (the failures of messages sent in one window).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ratio {
    pub of: CounterKey,
    pub part: &'static str,
    /// The window `of` counts, which names the alert the ratio raises.
    pub window_start: DateTime<Utc>,
    pub at_least: i64,
    pub above_percent: i64,
}

impl Threshold {
    /// Whether the count alone raises the alert.
    pub fn reached(&self, total: i64) -> bool {
        total >= self.at_least
    }
}

impl Ratio {
    /// Whether `part` of `total` raises the alert.
    pub fn reached(&self, part: i64, total: i64) -> bool {
        part >= self.at_least && part * 100 > self.above_percent * total
    }
}

/// What a threshold alert needs to know besides the counts.
#[derive(Clone, Debug)]
pub struct ThresholdContext {
    pub scope: String,
    pub window_start: DateTime<Utc>,
    pub window_minutes: i64,
    /// When the ratio raised the alert: the part and the total it judged (the failures
    /// among the window's sends, and the sends).
    pub of: Option<(i64, i64)>,
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
    let mut context = threshold.context.clone();
    let reached = match &threshold.ratio {
        _ if threshold.reached(total) => true,
        // Read only while the count alone is short of its threshold.
        Some(ratio) => {
            let of = store.read_counter(&ratio.of).await?;
            let field = |name: &str| of.get(name).copied().unwrap_or_default();
            let (part, sends) = (field(ratio.part), field(crate::store::COUNTER_TOTAL));
            context.window_start = ratio.window_start;
            context.of = Some((part, sends));
            ratio.reached(part, sends)
        }
        None => false,
    };
    if reached {
        let alert = (threshold.alert)(counts, &context);
        if store.put_alert_once(&alert).await? {
            tracing::warn!(alert = %crate::phone::mask_numbers(&alert.id()), total, "threshold reached; alert raised");
        }
    }
    Ok(())
}
