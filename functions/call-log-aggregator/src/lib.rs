//! The call-log aggregator (EventBridge schedule): pulls Exotel's Bulk Call Details since
//! its watermark (less an overlap, since calls appear only once they end), counts each call
//! Sid once into per-day, per-direction and per-ExoPhone counters, checkpoints after every
//! page so a run cut short resumes where it stopped, and alerts on a low answer rate. Once a
//! day is read whole and its end plus a lag has passed, it compares the calls listed per
//! ExoPhone with the call notifications received, and alerts on missing webhooks
//! (`webhooks.rs`).

mod webhooks;

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use dialtone_shared::alert::AlertKind;
use dialtone_shared::call_log::alerts::{answer_rate_alert, AnswerRatePolicy};
pub use dialtone_shared::call_log::cursor::{BackfillRange, Cursor};
use dialtone_shared::call_log::metrics::Metrics;
use dialtone_shared::call_log::missing_webhooks::{start_of, MissingWebhookPolicy};
use dialtone_shared::call_log::records::split_range;
use dialtone_shared::call_log::records::{CallRecord, RecordError};
use dialtone_shared::call_log::tally::{Count, Tally};
use dialtone_shared::config::{self, ConfigError};
use dialtone_shared::exotel::client::{ExotelApi, ExotelClient, ExotelError};
use dialtone_shared::secrets::SecretsManager;
use dialtone_shared::store::{
    CallLogBucket, CounterBump, CounterKey, DayCounterStore, DynamoStore, EventStore, Revision,
    StateJson, StateKey, StateWrite, StoreError,
};
use lambda_runtime::LambdaEvent;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

const SOURCE: &str = "call-log-aggregator";
/// Daily metrics are kept as long as the dashboard looks back.
const METRICS_DAYS: i64 = dialtone_shared::call_log::metrics::METRICS_HORIZON_DAYS;

#[derive(Debug)]
pub struct Config {
    pub table_name: String,
    pub api: ExotelApi,
    pub tz: Tz,
    /// Calls reach Bulk Call Details only once they end (up to 4 h after `DateCreated`):
    /// every run re-reads this far behind its watermark.
    pub overlap: Duration,
    /// How far back the very first run starts.
    pub first_lookback: Duration,
    pub answer_rate: AnswerRatePolicy,
    pub missing_webhooks: MissingWebhookPolicy,
}

impl Config {
    pub async fn load(secrets: &SecretsManager) -> Result<Self, ConfigError> {
        Ok(Self {
            table_name: config::required("TABLE_NAME")?,
            api: ExotelApi::load(secrets, 150).await?,
            tz: config::account_timezone()?,
            overlap: Duration::seconds(config::number_or("OVERLAP_SECONDS", 4 * 3600)?),
            first_lookback: Duration::days(1),
            answer_rate: AnswerRatePolicy {
                below_percent: config::number_or("ANSWER_RATE_ALERT_BELOW", 60.0)?,
                min_calls: config::number_or("ANSWER_RATE_MIN_CALLS", 20)?,
            },
            missing_webhooks: MissingWebhookPolicy::load()?,
        })
    }
}

pub struct Deps<S> {
    pub client: ExotelClient,
    pub store: S,
    pub tz: Tz,
    pub overlap: Duration,
    pub first_lookback: Duration,
    pub answer_rate: AnswerRatePolicy,
    pub missing_webhooks: MissingWebhookPolicy,
}

impl Deps<DynamoStore> {
    pub fn new(config: Config, dynamodb: aws_sdk_dynamodb::Client) -> Result<Self, ExotelError> {
        Ok(Self {
            client: ExotelClient::new(config.api)?,
            store: DynamoStore::new(dynamodb, config.table_name),
            tz: config.tz,
            overlap: config.overlap,
            first_lookback: config.first_lookback,
            answer_rate: config.answer_rate,
            missing_webhooks: config.missing_webhooks,
        })
    }
}

/// What invokes the aggregator: its schedule, or a person asking for days to be read again
/// (`{"backfill": {"from": "2026-11-01", "to": "2026-11-03"}}`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum AggregatorEvent {
    Backfill { backfill: BackfillRange },
    Schedule(Box<EventBridgeEvent<serde_json::Value>>),
}

#[derive(Debug, thiserror::Error)]
pub enum AggregatorError {
    #[error(transparent)]
    Exotel(#[from] ExotelError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("another run moved the cursor; this one stops")]
    Overtaken,
    #[error("cursor not serialisable: {0}")]
    Cursor(#[from] serde_json::Error),
    #[error("backfill refused: {0}")]
    Backfill(String),
}

dialtone_shared::diagnostic!(AggregatorError);

#[derive(Debug, Default, PartialEq, Eq, Serialize)]
pub struct RunReport {
    pub pages: u32,
    pub counted: u64,
    pub already_counted: u64,
    /// Calls counted while going (`pending`), now counted in their final status.
    pub settled: u64,
    /// Records that could not be read whole, by reason (those with an unreadable
    /// `DateCreated` are still counted, in no hour).
    pub unreadable: BTreeMap<&'static str, u64>,
}

struct Checkpoint {
    key: StateKey,
    cursor: Cursor,
    revision: Option<Revision>,
}

impl Checkpoint {
    async fn load<S: EventStore>(store: &S, key: StateKey) -> Result<Self, AggregatorError> {
        let stored = store.load_state::<Cursor>(&key).await?;
        Ok(Self {
            key,
            revision: stored.as_ref().map(|s| s.revision.clone()),
            cursor: stored.map(|s| s.value).unwrap_or_default(),
        })
    }

    async fn save<S: EventStore>(&mut self, store: &S) -> Result<(), AggregatorError> {
        let saved = store
            .save_state(StateWrite {
                key: self.key.clone(),
                index: None,
                replaces: self.revision.clone(),
                state: StateJson::of(&self.cursor)?,
            })
            .await?;
        self.revision = Some(saved.ok_or(AggregatorError::Overtaken)?);
        Ok(())
    }
}

/// Calls per transaction: each brings at most two markers (`call_log::tally`) and three
/// counter rows (day, direction, ExoPhone), so 24 calls stay within DynamoDB's 100 items
/// per transaction.
const CALLS_PER_TRANSACTION: usize = 24;

/// What counting a page did.
#[derive(Debug, Default, PartialEq, Eq)]
struct Counted {
    /// Calls counted for the first time.
    new: u64,
    /// Calls counted while going, now counted in their final status.
    settled: u64,
    /// Calls counted before, as they are now.
    seen: u64,
}

/// Counts each call of a page once (`call_log::tally`): its markers are idempotency keys,
/// written in the same transaction as the counters it moves. A transaction that finds a
/// marker written before writes nothing; its calls are sorted out and the rest retried: a
/// call already counted as it is now is dropped, a settled call first counted while going
/// is retried as its settling.
async fn count_page<S: EventStore>(
    store: &S,
    calls: &[Tally],
    now: DateTime<Utc>,
) -> Result<Counted, StoreError> {
    let mut counted = Counted::default();
    for chunk in calls.chunks(CALLS_PER_TRANSACTION) {
        let mut pending: Vec<(&Tally, Count)> = chunk.iter().map(|t| (t, Count::First)).collect();
        while !pending.is_empty() {
            let mut bumps: BTreeMap<CounterKey, CounterBump> = BTreeMap::new();
            let mut keys = Vec::new();
            // For each marker: the call it belongs to, and whether it is the call's first.
            let mut owners = Vec::new();
            for (i, (tally, count)) in pending.iter().enumerate() {
                for (n, marker) in tally.markers(*count).into_iter().enumerate() {
                    keys.push(marker);
                    owners.push((i, n == 0));
                }
                let (fields, adds_total) = tally.fields(*count);
                for key in tally.counter_keys() {
                    let bump = match bumps.remove(&key) {
                        Some(bump) if adds_total => {
                            bump.add(dialtone_shared::store::COUNTER_TOTAL, 1)
                        }
                        Some(bump) => bump,
                        None if adds_total => CounterBump::new(key.clone(), METRICS_DAYS),
                        None => CounterBump::new(key.clone(), METRICS_DAYS).without_total(),
                    };
                    let bump = fields.iter().fold(bump, |b, (f, n)| b.add(f.clone(), *n));
                    bumps.insert(key, bump);
                }
            }
            let counters: Vec<CounterBump> = bumps.into_values().collect();
            let already = store.count_once(SOURCE, &keys, &counters, now).await?;
            if already.is_empty() {
                for (_, count) in &pending {
                    match count {
                        Count::First => counted.new += 1,
                        Count::Settle => counted.settled += 1,
                    }
                }
                break;
            }
            // Per call: counted as it is now (its first marker exists), or only while going.
            let mut verdicts: BTreeMap<usize, bool> = BTreeMap::new();
            for index in already {
                let (call, first) = owners[index];
                *verdicts.entry(call).or_default() |= first;
            }
            let mut next = Vec::new();
            for (i, (tally, count)) in pending.into_iter().enumerate() {
                match verdicts.get(&i) {
                    None => next.push((tally, count)),
                    Some(true) => counted.seen += 1,
                    Some(false) => next.push((tally, Count::Settle)),
                }
            }
            pending = next;
        }
    }
    Ok(counted)
}

/// Records come oldest first: the day of the readable record nearest before the `i`th, or
/// else after it, is the day a record with an unreadable date was created on.
fn day_near(records: &[Result<CallRecord<'_>, RecordError>], i: usize) -> Option<NaiveDate> {
    let date = |r: &Result<CallRecord<'_>, RecordError>| r.as_ref().ok().map(|c| c.created.date());
    records[..i]
        .iter()
        .rev()
        .find_map(date)
        .or_else(|| records[i + 1..].iter().find_map(date))
}

/// One run as of `now`: resumes the pending ranges, or starts new ones from the watermark;
/// then compares the days now due with the notifications, and checks today's answer rate.
pub async fn run<S: EventStore + DayCounterStore>(
    deps: &Deps<S>,
    now: DateTime<Utc>,
) -> Result<RunReport, AggregatorError> {
    deps.client.begin_run();
    let mut checkpoint = Checkpoint::load(&deps.store, StateKey::CallLogCursor).await?;
    let now_local = now.with_timezone(&deps.tz).naive_local();
    if checkpoint.cursor.pending.is_empty() {
        let start = checkpoint
            .cursor
            .watermark
            .map(|w| w - deps.overlap)
            .unwrap_or(now_local - deps.first_lookback);
        checkpoint.cursor.pending = split_range(start, now_local, now_local);
        checkpoint.cursor.next_page = None;
        checkpoint.cursor.read_since.get_or_insert(start);
    }
    let reading_through = checkpoint.cursor.pending.last().map(|&(_, to)| to);
    let report = read_pending(deps, &mut checkpoint, now).await?;
    if let Some(through) = reading_through {
        let newest = checkpoint
            .cursor
            .read_through
            .map_or(through, |t| t.max(through));
        checkpoint.cursor.read_through = Some(newest);
        checkpoint.save(&deps.store).await?;
    }
    webhooks::compare_due_days(deps, &mut checkpoint).await?;
    check_answer_rate(deps, &mut checkpoint, now_local.date(), now).await?;
    Ok(report)
}

/// Reads the days of `range` again: calls missing from the counters (e.g. ones that ended
/// after the overlap window) are counted, the others are recognised by their Sid and left
/// as they are, so a backfill can be repeated. It resumes where an earlier invocation for
/// the same range stopped. Days older than six months are not asked for (Exotel keeps no
/// more), nor days after today.
pub async fn backfill<S: EventStore>(
    deps: &Deps<S>,
    range: BackfillRange,
    now: DateTime<Utc>,
) -> Result<RunReport, AggregatorError> {
    let today = now.with_timezone(&deps.tz).date_naive();
    if range.from > range.to {
        return Err(AggregatorError::Backfill(format!(
            "from {} is after to {}",
            range.from, range.to
        )));
    }
    if range.from > today {
        return Err(AggregatorError::Backfill(format!(
            "{} is in the future (today is {today} in the account's zone)",
            range.from
        )));
    }
    deps.client.begin_run();
    // A backfill keeps a cursor of its own: it never moves the schedule's watermark.
    let mut checkpoint = Checkpoint::load(&deps.store, StateKey::CallLogBackfill).await?;
    if checkpoint.cursor.backfill != Some(range) || checkpoint.cursor.pending.is_empty() {
        let now_local = now.with_timezone(&deps.tz).naive_local();
        let start = range.from.and_time(NaiveTime::MIN);
        let end = range.to.and_hms_opt(23, 59, 59).unwrap_or(start);
        checkpoint.cursor = Cursor {
            pending: split_range(start, end, now_local),
            backfill: Some(range),
            ..Cursor::default()
        };
        if checkpoint.cursor.pending.is_empty() {
            return Err(AggregatorError::Backfill(format!(
                "{} to {} lies wholly more than six months back",
                range.from, range.to
            )));
        }
    }
    read_pending(deps, &mut checkpoint, now).await
}

/// Reads the cursor's pending ranges page by page, counting each call once and saving the
/// cursor after every page.
async fn read_pending<S: EventStore>(
    deps: &Deps<S>,
    checkpoint: &mut Checkpoint,
    now: DateTime<Utc>,
) -> Result<RunReport, AggregatorError> {
    let mut report = RunReport::default();
    while let Some(&(from, to)) = checkpoint.cursor.pending.first() {
        let url = match &checkpoint.cursor.next_page {
            Some(next) => deps.client.follow(next)?,
            None => deps.client.calls_url(from, to)?,
        };
        let body = deps.client.calls_page(&url).await?;
        let page = deps.client.read_calls(&body)?;
        report.pages += 1;
        let mut tallies = Vec::with_capacity(page.calls.len());
        let newest_read = page.calls.iter().flatten().map(|c| c.created).max();
        for (i, record) in page.calls.iter().enumerate() {
            match record {
                Ok(call) => tallies.push(Tally::of(call)),
                Err(e) => {
                    *report.unreadable.entry(e.label()).or_default() += 1;
                    match e {
                        RecordError::DateCreated { call, .. } => {
                            let day = day_near(&page.calls, i).unwrap_or(to.date());
                            tracing::warn!(reason = e.label(), error = %e, day = %day, "call record counted in no hour, on the day of the records beside it");
                            tallies.push(Tally::undated(call, day));
                        }
                        RecordError::Shape(_) => {
                            tracing::warn!(reason = e.label(), error = %e, "call record not counted")
                        }
                    }
                }
            }
        }
        let counted = count_page(&deps.store, &tallies, now).await?;
        report.counted += counted.new;
        report.settled += counted.settled;
        report.already_counted += counted.seen;
        if let Some(newest) = newest_read {
            let watermark = checkpoint.cursor.watermark.get_or_insert(newest);
            *watermark = (*watermark).max(newest);
        }
        match page.next {
            Some(next) => checkpoint.cursor.next_page = Some(next.to_string()),
            None => {
                checkpoint.cursor.next_page = None;
                checkpoint.cursor.pending.remove(0);
            }
        }
        checkpoint.save(&deps.store).await?;
    }
    tracing::info!(
        pages = report.pages,
        counted = report.counted,
        already_counted = report.already_counted,
        "run done"
    );
    Ok(report)
}

async fn check_answer_rate<S: EventStore>(
    deps: &Deps<S>,
    checkpoint: &mut Checkpoint,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<(), AggregatorError> {
    let policy = &deps.answer_rate;
    if let Some(day) = checkpoint.cursor.answer_rate_alert {
        if day != today {
            // A new day is judged afresh; yesterday's low rate is history, not a recovery.
            checkpoint.cursor.answer_rate_alert = None;
            checkpoint.save(&deps.store).await?;
        } else {
            let key = CounterKey::CallLog {
                day,
                bucket: CallLogBucket::All,
            };
            let metrics = Metrics::from_fields(&deps.store.read_counter(&key).await?);
            if metrics
                .answer_rate()
                .is_some_and(|r| r >= policy.below_percent)
            {
                let alert =
                    answer_rate_alert(AlertKind::AnswerRateRecovered, day, now, &metrics, policy);
                deps.store.put_alert_once(&alert).await?;
                checkpoint.cursor.answer_rate_alert = None;
                checkpoint.save(&deps.store).await?;
            }
            return Ok(());
        }
    }
    let metrics = Metrics::from_fields(
        &deps
            .store
            .read_counter(&CounterKey::CallLog {
                day: today,
                bucket: CallLogBucket::All,
            })
            .await?,
    );
    let low = metrics.total >= policy.min_calls
        && metrics
            .answer_rate()
            .is_some_and(|r| r < policy.below_percent);
    if low {
        deps.store
            .put_alert_once(&answer_rate_alert(
                AlertKind::AnswerRateLow,
                today,
                start_of(today, deps.tz),
                &metrics,
                policy,
            ))
            .await?;
        checkpoint.cursor.answer_rate_alert = Some(today);
        checkpoint.save(&deps.store).await?;
    }
    Ok(())
}

pub async fn handler<S: EventStore + DayCounterStore>(
    deps: &Deps<S>,
    event: LambdaEvent<AggregatorEvent>,
) -> Result<RunReport, AggregatorError> {
    match event.payload {
        AggregatorEvent::Backfill { backfill: range } => {
            tracing::info!(from = %range.from, to = %range.to, "backfill");
            backfill(deps, range, Utc::now()).await
        }
        AggregatorEvent::Schedule(_) => run(deps, Utc::now()).await,
    }
}

#[cfg(test)]
#[path = "lib_test.rs"]
mod tests;
