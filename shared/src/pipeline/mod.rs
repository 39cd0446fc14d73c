//! The ingestion pipeline every webhook receiver runs:
//! verify → parse → decide → one atomic write → respond.
//!
//! A provider is declared by implementing [`Receiver`]: how to verify, parse, key and
//! decide. Everything else (quarantine of refused bodies, the optimistic-concurrency retry,
//! the stored answer to a duplicate, counted refusals, status codes, the request's log span
//! and its metric line) is written once, here.

mod alerts;
mod quarantine;
mod thresholds;
pub mod wording;

use quarantine::{quarantine, unstorable};
use thresholds::{check_thresholds, count};
pub use thresholds::{Ratio, Threshold, ThresholdContext};

use crate::alert::{Alert, Source};
use crate::http::{json_response, WebhookError};
use crate::metrics::{self, EventName, Metric, Outcome};
use crate::store::{
    Commit, CommitOutcome, CounterBump, EventStore, FirstSeen, Quarantine, StateCheck, StateJson,
    StateKey, StateWrite, StoreError,
};
use backon::{BackoffBuilder, ExponentialBuilder};
use chrono::{DateTime, Duration, Utc};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::json;
use std::time::Instant;
use tracing::Instrument;

/// How many times a delivery re-reads the state after losing a race to a concurrent one,
/// waiting a jittered, doubling pause between tries so that racing deliveries spread out.
const CONFLICT_RETRIES: usize = 6;
const CONFLICT_FIRST_PAUSE: std::time::Duration = std::time::Duration::from_millis(10);
const CONFLICT_LONGEST_PAUSE: std::time::Duration = std::time::Duration::from_millis(400);
/// No event reads more state rows than this.
const MAX_STATE_ROWS: usize = 4;

/// What verification concluded about a request.
#[derive(Debug)]
pub enum Verification {
    /// From the provider: go on.
    Genuine,
    /// Not from the provider (or not provably): refused with this error. `counted` is
    /// bumped so that repeated refusals can raise one alert.
    Refused {
        error: WebhookError,
        counted: Option<Threshold>,
    },
    /// Carries no authority but must not be refused (a refusal would start the provider's
    /// retry storm): answered 200, stored nowhere, counted.
    Ignored {
        reason: &'static str,
        counted: Option<Threshold>,
    },
}

/// Why a body could not be read as an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    Invalid(String),
    UnsupportedMediaType(String),
    TooLarge { size: usize, limit: usize },
}

/// How far ahead of this server's clock a provider's timestamp may be. A heartbeat from
/// the future would make every real one after it look stale, so it is refused.
pub const MAX_CLOCK_SKEW: Duration = Duration::hours(1);

/// Refuses an event timestamp further ahead of `now` than [`MAX_CLOCK_SKEW`].
pub fn not_from_the_future(at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), Rejection> {
    if at > now + MAX_CLOCK_SKEW {
        Err(Rejection::Invalid(format!(
            "timestamp {} is more than an hour ahead of this server's clock ({})",
            at.to_rfc3339(),
            now.to_rfc3339()
        )))
    } else {
        Ok(())
    }
}

/// One provider's part of the pipeline.
pub trait Receiver: Send + Sync {
    /// Named in the request's metric line.
    type Event: EventName + Send + Sync;
    type State: Serialize + DeserializeOwned + Clone + Send + Sync;
    /// The name rows and alerts are filed under, e.g. `exotel-heartbeat`.
    const SOURCE: &'static str;
    /// Whose alerts the pipeline's own (an event it could not store, an unrecognised
    /// kind) are, for routing.
    const ALERT_SOURCE: Source;
    /// Larger bodies are refused (413) before they are parsed; their first bytes are kept.
    const MAX_BODY_BYTES: usize = 256 * 1024;

    /// Is this request from the provider? (Async: the secret it is checked against may
    /// have to be read again, see [`crate::secrets::Cached`].)
    fn verify(
        &self,
        request: &Request,
        now: DateTime<Utc>,
    ) -> impl std::future::Future<Output = Verification> + Send;
    /// The body as it may be kept (quarantined): a receiver whose provider puts a secret in
    /// the body removes it here, so no secret is ever stored.
    fn redact<'b>(&self, body: &'b [u8]) -> std::borrow::Cow<'b, [u8]> {
        std::borrow::Cow::Borrowed(body)
    }
    /// Turns the request's body into a typed event, or says, for the caller, what is wrong.
    /// `now` is when it was received.
    fn parse(&self, request: &Request, now: DateTime<Utc>) -> Result<Self::Event, Rejection>;
    /// The provider's idempotency key: equal for a retry or a redelivery.
    fn dedup_key(&self, event: &Self::Event) -> String;
    /// The state rows this event reads and moves, one at a time: given the rows loaded so
    /// far, the key of the next one, or `None` when there are no more. (A call's row can
    /// name the customer whose callback row comes next.)
    fn next_state_key(
        &self,
        event: &Self::Event,
        loaded: &[Option<Self::State>],
    ) -> Option<StateKey>;
    /// The pure decision: the stored states (in key order) and the event give the new
    /// states and the alerts.
    fn decide(
        &self,
        prev: &[Option<Self::State>],
        event: &Self::Event,
        now: DateTime<Utc>,
    ) -> Verdict<Self::State>;
    /// An index entry for a state row (`gsi1pk`, `gsi1sk`), for rows found by query, such
    /// as callbacks still owed.
    fn state_index(&self, _state: &Self::State) -> Option<(String, String)> {
        None
    }
    /// Counters the event may have pushed over a threshold. Checked after the commit and
    /// on every duplicate too, so a delivery cut off between the two still alerts. `states`
    /// are the event's rows as stored (after its commit, or as the duplicate finds them):
    /// a retry judges what the first delivery counted, not its own arrival.
    fn thresholds(
        &self,
        _event: &Self::Event,
        _states: &[Option<Self::State>],
        _now: DateTime<Utc>,
    ) -> Vec<Threshold> {
        Vec::new()
    }

    /// Who a reply to `event` is for, when the provider may send one event from several
    /// senders (Telerivet's services): a repeat from the same one gets the stored reply
    /// (it never got the first), a repeat from another gets none, so nothing is sent twice.
    fn reply_audience(&self, _event: &Self::Event) -> Option<String> {
        None
    }

    /// The reply as it is answered, first and to each retry. A decision's reply (kept with
    /// the idempotency key for retries) holds no secret: this puts back the ones the
    /// receiver holds (a status URL's secret).
    fn reply_to_send(
        &self,
        kept: serde_json::Value,
    ) -> impl std::future::Future<Output = serde_json::Value> + Send {
        std::future::ready(kept)
    }

    /// The name of the event's kind when it is one this receiver does not know yet (a
    /// provider's new event or status): it is stored whole, changes no state, and its
    /// first arrival raises one "unrecognised event" warning naming it.
    fn unrecognised<'e>(&self, _event: &'e Self::Event) -> Option<&'e str> {
        None
    }
}

/// What a decision asks the pipeline to store and answer.
#[derive(Clone, Debug)]
pub struct Verdict<S> {
    /// The new state of each row read (in key order), `None` to leave one as it is.
    pub states: Vec<Option<S>>,
    /// A record of the event for the history, and the time it is filed under.
    pub history: serde_json::Value,
    pub history_at: DateTime<Utc>,
    pub alerts: Vec<Alert>,
    /// Counters moved in the same transaction.
    pub counters: Vec<CounterBump>,
    /// What the response says happened, e.g. `accepted` or `stale`.
    pub outcome: &'static str,
    /// A body the provider acts on (an auto-reply). It is stored with the idempotency key
    /// and given again, unchanged, to every retry.
    pub reply: Option<serde_json::Value>,
}

impl<S> Verdict<S> {
    pub fn new(history: serde_json::Value, history_at: DateTime<Utc>) -> Self {
        Self {
            states: Vec::new(),
            history,
            history_at,
            alerts: Vec::new(),
            counters: Vec::new(),
            outcome: "accepted",
            reply: None,
        }
    }
}

/// A history record: the `head` fields, and the provider's own fields under `"fields"`,
/// cloned (`json!` would rebuild them value by value through serde's serializer).
pub fn history_with_fields<const N: usize>(
    head: [(&str, serde_json::Value); N],
    fields: &serde_json::Value,
) -> serde_json::Value {
    let mut record: serde_json::Map<String, serde_json::Value> = head
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect();
    record.insert("fields".to_owned(), fields.clone());
    serde_json::Value::Object(record)
}

/// What a webhook function builds once at cold start: its receiver and its store.
pub struct Deps<R, S> {
    pub receiver: R,
    pub store: S,
}

/// What the pipeline made of one request: the answer, and the metric that counts it.
#[derive(Debug)]
pub struct Handled {
    pub response: Response<Body>,
    pub metric: Metric,
}

/// The Lambda handler of every webhook function: the pipeline, then its metric line on
/// stdout.
pub async fn handler<R: Receiver, S: EventStore>(
    deps: &Deps<R, S>,
    request: Request,
) -> Result<Response<Body>, lambda_http::Error> {
    let handled = handle(&deps.receiver, &deps.store, request).await;
    metrics::emit(&handled.metric);
    Ok(handled.response)
}

/// Runs the whole pipeline and always answers: every error is mapped to a response here.
/// Every line logged meanwhile carries the request's id and provider (the span's fields).
pub async fn handle<R: Receiver, S: EventStore>(
    receiver: &R,
    store: &S,
    request: Request,
) -> Handled {
    let started = Instant::now();
    let received_at = Utc::now();
    let span = tracing::info_span!(
        "webhook",
        request_id = %request_id(&request, received_at),
        provider = R::SOURCE,
    );
    async {
        let (event, answer) = run(receiver, store, &request, received_at).await;
        let (outcome, response) = respond(answer);
        Handled {
            response,
            metric: Metric::new(
                R::SOURCE,
                event.as_deref(),
                outcome,
                started.elapsed(),
                received_at,
            ),
        }
    }
    .instrument(span)
    .await
}

/// How a request was acknowledged (200).
enum Answer {
    Stored(serde_json::Value),
    Duplicate(serde_json::Value),
    Ignored(&'static str),
    /// Well formed, but no retry could ever store it: kept in quarantine and alerted, and
    /// acknowledged so that the provider does not retry it for nothing.
    Unstorable,
}

/// A request let through verification.
enum Admitted<E> {
    Event(E),
    Ignored(&'static str),
}

fn respond(answer: Result<Answer, WebhookError>) -> (Outcome, Response<Body>) {
    match answer {
        Ok(Answer::Stored(body)) => (Outcome::Stored, json_response(StatusCode::OK, &body)),
        Ok(Answer::Duplicate(body)) => (Outcome::Duplicate, json_response(StatusCode::OK, &body)),
        Ok(Answer::Ignored(reason)) => (
            Outcome::Ignored,
            json_response(
                StatusCode::OK,
                &json!({ "result": "ignored", "reason": reason }),
            ),
        ),
        Ok(Answer::Unstorable) => (
            Outcome::Unstorable,
            json_response(StatusCode::OK, &json!({ "result": "quarantined" })),
        ),
        Err(err) => {
            match &err {
                WebhookError::Storage(e) => {
                    tracing::error!(error = %e, "storage failed; provider will retry")
                }
                WebhookError::Contention => {
                    tracing::warn!("state contention; provider will retry")
                }
                WebhookError::SecretUnavailable(e) => {
                    tracing::error!(error = %e, "secret unavailable; provider will retry")
                }
                other => {
                    tracing::info!(status = other.status().as_u16(), "request refused")
                }
            }
            (Outcome::from(&err), err.into_response())
        }
    }
}

/// The event's name (once parsed) and what became of the request.
async fn run<R: Receiver, S: EventStore>(
    receiver: &R,
    store: &S,
    request: &Request,
    received_at: DateTime<Utc>,
) -> (Option<String>, Result<Answer, WebhookError>) {
    match admit(receiver, store, request, received_at).await {
        Ok(Admitted::Event(event)) => {
            let answer = match record(receiver, store, &event, received_at).await {
                Err(WebhookError::Storage(e)) if e.is_permanent() => {
                    unstorable(receiver, store, request, received_at, e).await
                }
                other => other,
            };
            (Some(event.event_name().to_owned()), answer)
        }
        Ok(Admitted::Ignored(reason)) => (None, Ok(Answer::Ignored(reason))),
        Err(err) => (None, Err(err)),
    }
}

/// Verify and parse.
async fn admit<R: Receiver, S: EventStore>(
    receiver: &R,
    store: &S,
    request: &Request,
    received_at: DateTime<Utc>,
) -> Result<Admitted<R::Event>, WebhookError> {
    match receiver.verify(request, received_at).await {
        Verification::Genuine => {}
        Verification::Refused { error, counted } => {
            if let Some(threshold) = counted {
                count(store, R::SOURCE, request, threshold, received_at).await;
            }
            return Err(error);
        }
        Verification::Ignored { reason, counted } => {
            if let Some(threshold) = counted {
                count(store, R::SOURCE, request, threshold, received_at).await;
            }
            tracing::warn!(reason, "request ignored");
            return Ok(Admitted::Ignored(reason));
        }
    }
    if request.method() != Method::POST {
        return Err(WebhookError::MethodNotAllowed);
    }
    let size = request.body().len();
    let parsed = if size > R::MAX_BODY_BYTES {
        Err(Rejection::TooLarge {
            size,
            limit: R::MAX_BODY_BYTES,
        })
    } else {
        receiver.parse(request, received_at)
    };
    match parsed {
        Ok(event) => Ok(Admitted::Event(event)),
        Err(rejection) => Err(quarantine(receiver, store, request, received_at, rejection).await?),
    }
}

/// Decide, and commit the decision in one write.
async fn record<R: Receiver, S: EventStore>(
    receiver: &R,
    store: &S,
    event: &R::Event,
    received_at: DateTime<Utc>,
) -> Result<Answer, WebhookError> {
    let dedup_key = receiver.dedup_key(event);
    let mut pauses = ExponentialBuilder::default()
        .with_min_delay(CONFLICT_FIRST_PAUSE)
        .with_max_delay(CONFLICT_LONGEST_PAUSE)
        .with_max_times(CONFLICT_RETRIES - 1)
        .with_jitter()
        .build();

    loop {
        let mut keys = Vec::new();
        let mut values: Vec<Option<R::State>> = Vec::new();
        let mut revisions = Vec::new();
        while keys.len() < MAX_STATE_ROWS {
            let Some(key) = receiver.next_state_key(event, &values) else {
                break;
            };
            let stored = store.load_state::<R::State>(&key).await?;
            revisions.push(stored.as_ref().map(|s| s.revision.clone()));
            values.push(stored.map(|s| s.value));
            keys.push(key);
        }
        let verdict = receiver.decide(&values, event, received_at);
        let mut commit = Commit::new(R::SOURCE, dedup_key.clone(), received_at);
        // The rows as they stand once this commits, for its thresholds.
        let mut committed = Vec::with_capacity(values.len());
        for (((key, replaces), after), before) in keys
            .iter()
            .cloned()
            .zip(revisions)
            .zip(verdict.states)
            .zip(values)
        {
            match after {
                Some(after) => {
                    commit.states.push(StateWrite {
                        index: receiver.state_index(&after),
                        key,
                        replaces,
                        state: StateJson::of(&after)?,
                    });
                    committed.push(Some(after));
                }
                // Read and decided on, so it must still be as read when this commits.
                None => {
                    commit.checks.push(StateCheck {
                        key,
                        revision: replaces,
                    });
                    committed.push(before);
                }
            }
        }
        let alerts = verdict.alerts.len();
        commit.history = Some(verdict.history);
        commit.history_at = verdict.history_at;
        commit.alerts = verdict.alerts;
        if let Some(kind) = receiver.unrecognised(event) {
            commit.firsts.push(FirstSeen {
                key: format!("unrecognised:{kind}"),
                alert: alerts::unrecognised(R::ALERT_SOURCE, R::SOURCE, kind, received_at),
            });
        }
        // Spread over shards: every event of a project or a line moves the same counters.
        commit.counters = verdict
            .counters
            .into_iter()
            .map(|c| c.sharded_by(&dedup_key))
            .collect();
        commit.reply_to = verdict
            .reply
            .as_ref()
            .and_then(|_| receiver.reply_audience(event));
        commit.reply = verdict.reply.clone();
        match store.commit(commit).await? {
            CommitOutcome::Committed => {
                check_thresholds(receiver, store, event, &committed, received_at).await?;
                tracing::info!(outcome = verdict.outcome, alerts, "event stored");
                return Ok(Answer::Stored(match verdict.reply {
                    Some(reply) => receiver.reply_to_send(reply).await,
                    None => json!({ "result": verdict.outcome, "alerts": alerts }),
                }));
            }
            CommitOutcome::Duplicate => {
                // The first delivery's rows, read afresh (it may have committed after this
                // one read them), only for an event that has thresholds to judge.
                let mut stored = Vec::new();
                if !receiver.thresholds(event, &[], received_at).is_empty() {
                    for key in &keys {
                        stored.push(store.load_state::<R::State>(key).await?.map(|s| s.value));
                    }
                }
                check_thresholds(receiver, store, event, &stored, received_at).await?;
                tracing::info!("duplicate delivery acknowledged");
                let repeat = json!({ "result": "duplicate", "alerts": 0 });
                return Ok(Answer::Duplicate(
                    match store.stored_reply(R::SOURCE, &dedup_key).await? {
                        Some(stored)
                            if stored.to.is_none()
                                || stored.to == receiver.reply_audience(event) =>
                        {
                            receiver.reply_to_send(stored.body).await
                        }
                        Some(_) => {
                            tracing::info!(
                                "a repeat from another sender: the reply is not sent again"
                            );
                            repeat
                        }
                        None => repeat,
                    },
                ));
            }
            CommitOutcome::StateConflict => match pauses.next() {
                Some(pause) => tokio::time::sleep(pause).await,
                None => return Err(WebhookError::Contention),
            },
        }
    }
}

/// Verification by a secret last path segment (providers that sign nothing): a wrong one
/// is answered like an unknown path.
pub async fn verify_url_token(
    request: &Request,
    cached: &crate::secrets::Cached<crate::secret::Secret>,
) -> Verification {
    let token = match cached.get().await {
        Ok(token) => token,
        Err(e) => {
            return Verification::Refused {
                error: WebhookError::SecretUnavailable(e),
                counted: None,
            }
        }
    };
    let candidate = request
        .uri()
        .path()
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default();
    // A mismatch may be a token rotated since the value in hand was read.
    let matches = token.matches(candidate)
        || match cached.reread().await {
            Ok(fresh) => fresh.matches(candidate),
            Err(_) => false,
        };
    if matches {
        Verification::Genuine
    } else {
        Verification::Refused {
            error: WebhookError::UnknownPath,
            counted: None,
        }
    }
}

fn request_id(request: &Request, received_at: DateTime<Utc>) -> String {
    request
        .lambda_context_ref()
        .map(|c| c.request_id.clone())
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| {
            format!(
                "local-{}",
                received_at.timestamp_nanos_opt().unwrap_or_default()
            )
        })
}
