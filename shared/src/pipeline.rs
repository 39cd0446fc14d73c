//! The ingestion pipeline every webhook receiver runs:
//! verify → parse → decide → one atomic write → respond.
//!
//! A provider is declared by implementing [`Receiver`]: how to authenticate, parse, key and
//! decide. Everything else (quarantine of refused bodies, the optimistic-concurrency retry,
//! the duplicate answer, status codes) is written once, here.

use crate::alert::Alert;
use crate::http::{json_response, WebhookError};
use crate::store::{Commit, CommitOutcome, EventStore, Quarantine, StateWrite};
use chrono::{DateTime, Utc};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::json;

/// How many times a delivery re-reads the state after losing a race to a concurrent one.
const CONFLICT_RETRIES: usize = 5;

/// One provider's part of the pipeline.
pub trait Receiver: Send + Sync {
    type Event: Send + Sync;
    type State: Serialize + DeserializeOwned + Send + Sync;
    /// The name rows and alerts are filed under, e.g. `exotel-heartbeat`.
    const SOURCE: &'static str;

    /// Is this request from the provider? Runs before the body is read.
    fn authenticate(&self, request: &Request) -> bool;
    /// Turns the raw body into a typed event, or says, for the caller, what is wrong.
    fn parse(&self, body: &[u8]) -> Result<Self::Event, String>;
    /// The provider's idempotency key: equal for a retry or a redelivery.
    fn dedup_key(&self, event: &Self::Event) -> String;
    /// The pure decision: the stored state and the event give the new state and the alerts.
    fn decide(&self, prev: Option<&Self::State>, event: &Self::Event) -> Verdict<Self::State>;
}

/// What a decision asks the pipeline to store.
#[derive(Clone, Debug)]
pub struct Verdict<S> {
    /// The new state, or `None` to leave it as it is (a stale event).
    pub state: Option<S>,
    /// A compact record of the event for the history, and the time it is filed under.
    pub history: serde_json::Value,
    pub history_at: DateTime<Utc>,
    pub alerts: Vec<Alert>,
    /// What the response says happened: `accepted` or `stale`.
    pub outcome: &'static str,
}

/// Runs the whole pipeline and always answers: every error is mapped to a response here.
pub async fn ingest<R: Receiver, S: EventStore>(
    receiver: &R,
    store: &S,
    request: Request,
) -> Response<Body> {
    match run(receiver, store, &request).await {
        Ok(response) => response,
        Err(err) => {
            match &err {
                WebhookError::Storage(e) => {
                    tracing::error!(source = R::SOURCE, error = %e, "storage failed; provider will retry")
                }
                WebhookError::Contention => {
                    tracing::warn!(source = R::SOURCE, "state contention; provider will retry")
                }
                other => tracing::info!(
                    source = R::SOURCE,
                    status = other.status().as_u16(),
                    "request refused"
                ),
            }
            err.into_response()
        }
    }
}

async fn run<R: Receiver, S: EventStore>(
    receiver: &R,
    store: &S,
    request: &Request,
) -> Result<Response<Body>, WebhookError> {
    if !receiver.authenticate(request) {
        return Err(WebhookError::UnknownPath);
    }
    if request.method() != Method::POST {
        return Err(WebhookError::MethodNotAllowed);
    }
    let received_at = Utc::now();
    let body = request.body().as_ref();
    let event = match receiver.parse(body) {
        Ok(event) => event,
        Err(reason) => {
            store
                .quarantine(Quarantine {
                    source: R::SOURCE,
                    request_id: request_id(request, received_at),
                    received_at,
                    reason: reason.clone(),
                    content_type: request
                        .headers()
                        .get(lambda_http::http::header::CONTENT_TYPE)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned),
                    body: body.to_vec(),
                })
                .await?;
            tracing::warn!(source = R::SOURCE, reason = %reason, bytes = body.len(), "payload quarantined");
            return Err(WebhookError::InvalidPayload(reason));
        }
    };
    let dedup_key = receiver.dedup_key(&event);

    for _ in 0..CONFLICT_RETRIES {
        let stored = store.load_state::<R::State>(R::SOURCE).await?;
        let verdict = receiver.decide(stored.as_ref().map(|s| &s.value), &event);
        let alerts = verdict.alerts.len();
        let state = match verdict.state {
            Some(state) => Some(StateWrite {
                expected_version: stored.as_ref().map(|s| s.version),
                value: serde_json::to_value(state).map_err(|e| {
                    WebhookError::Storage(crate::store::StoreError::Request(e.to_string()))
                })?,
            }),
            None => None,
        };
        let commit = Commit {
            source: R::SOURCE,
            dedup_key: dedup_key.clone(),
            received_at,
            state,
            history: Some(verdict.history),
            history_at: verdict.history_at,
            alerts: verdict.alerts,
        };
        match store.commit(commit).await? {
            CommitOutcome::Committed => {
                tracing::info!(
                    source = R::SOURCE,
                    outcome = verdict.outcome,
                    alerts,
                    "event stored"
                );
                return Ok(json_response(
                    StatusCode::OK,
                    &json!({ "result": verdict.outcome, "alerts": alerts }),
                ));
            }
            CommitOutcome::Duplicate => {
                tracing::info!(source = R::SOURCE, "duplicate delivery acknowledged");
                return Ok(json_response(
                    StatusCode::OK,
                    &json!({ "result": "duplicate", "alerts": 0 }),
                ));
            }
            CommitOutcome::StateConflict => continue,
        }
    }
    Err(WebhookError::Contention)
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
