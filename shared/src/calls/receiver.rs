//! The two call receivers (VoIPstudio, Exotel call notifications) differ only in how a
//! body is read: one receiver, declared per provider by a [`CallSource`].

use super::booking::CounterMove;
use super::callback::callback_index;
use super::decide::{decide, CallsState};
use super::model::{CallEvent, ParseError, Step};
use crate::alert::Source;
use crate::pipeline::{
    history_with_fields, not_from_the_future, verify_url_token, Receiver, Rejection, Verdict,
    Verification,
};
use crate::secret::Secret;
use crate::secrets::Cached;
use crate::store::{CounterBump, StateKey};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use lambda_http::Request;
use serde_json::json;
use std::marker::PhantomData;

/// Daily call counters are kept this long (the dashboard's horizon).
const DAILY_COUNTER_DAYS: i64 = 400;

/// A provider of call events: its name and its body format.
pub trait CallSource: Send + Sync {
    const SOURCE: &'static str;
    /// The variable naming the secret that holds this provider's URL token.
    const TOKEN_SECRET_VAR: &'static str;
    fn parse(body: &[u8]) -> Result<CallEvent, ParseError>;
}

pub struct Voipstudio;

impl CallSource for Voipstudio {
    const SOURCE: &'static str = "voipstudio";
    const TOKEN_SECRET_VAR: &'static str = "VOIPSTUDIO_WEBHOOK_TOKEN_SECRET_ID";
    fn parse(body: &[u8]) -> Result<CallEvent, ParseError> {
        CallEvent::parse_voipstudio(body)
    }
}

pub struct ExotelCalls;

impl CallSource for ExotelCalls {
    const SOURCE: &'static str = "exotel-calls";
    const TOKEN_SECRET_VAR: &'static str = "EXOTEL_CALLS_TOKEN_SECRET_ID";
    fn parse(body: &[u8]) -> Result<CallEvent, ParseError> {
        CallEvent::parse_exotel(body)
    }
}

pub struct CallReceiver<P> {
    /// The secret last segment of the webhook URL.
    pub token: Cached<Secret>,
    /// The account's time zone: the day each call counts in.
    pub tz: Tz,
    pub source: PhantomData<P>,
}

impl<P> CallReceiver<P> {
    pub fn new(token: Cached<Secret>, tz: Tz) -> Self {
        Self {
            token,
            tz,
            source: PhantomData,
        }
    }
}

impl<P: CallSource> Receiver for CallReceiver<P> {
    type Event = CallEvent;
    type State = CallsState;
    const SOURCE: &'static str = P::SOURCE;
    const ALERT_SOURCE: Source = Source::Calls;

    async fn verify(&self, request: &Request, _now: DateTime<Utc>) -> Verification {
        verify_url_token(request, &self.token).await
    }

    fn parse(&self, request: &Request, now: DateTime<Utc>) -> Result<CallEvent, Rejection> {
        let event =
            P::parse(request.body().as_ref()).map_err(|e| Rejection::Invalid(e.to_string()))?;
        not_from_the_future(event.at, now)?;
        Ok(event)
    }

    fn dedup_key(&self, event: &CallEvent) -> String {
        event.dedup_key.clone()
    }

    /// The call's row first; then, when the customer is known (from this event or the
    /// call's row), the customer's callback row.
    fn next_state_key(&self, event: &CallEvent, loaded: &[Option<CallsState>]) -> Option<StateKey> {
        if event.step == Step::Unrecognised {
            return None;
        }
        match loaded {
            [] => event.call_id.as_ref().map(|id| StateKey::Call {
                provider: event.provider.as_str().to_owned(),
                id: id.clone(),
            }),
            [call] => {
                let known = match call {
                    Some(CallsState::Call(c)) => c.customer.clone(),
                    _ => None,
                };
                event
                    .customer
                    .clone()
                    .or(known)
                    .map(|c| StateKey::Callback {
                        customer: c.to_string(),
                    })
            }
            _ => None,
        }
    }

    fn decide(
        &self,
        prev: &[Option<CallsState>],
        event: &CallEvent,
        now: DateTime<Utc>,
    ) -> Verdict<CallsState> {
        if event.step == Step::Unrecognised {
            // Kept whole in the history; it moves no call, callback or counter.
            let mut verdict = Verdict::new(
                history_with_fields([("event", json!(event.event))], &event.raw),
                now,
            );
            verdict.outcome = "unrecognised";
            return verdict;
        }
        let call = match prev.first() {
            Some(Some(CallsState::Call(c))) => Some(c.as_ref()),
            _ => None,
        };
        let callback = match prev.get(1) {
            Some(Some(CallsState::Callback(c))) => Some(c),
            _ => None,
        };
        let decision = decide(call, callback, event, self.tz);
        if decision
            .callback
            .as_ref()
            .is_some_and(|c| c.withdrawn && callback.is_some_and(|p| !p.withdrawn))
        {
            // Worth a line: a callback was owed and no longer is, without anyone calling
            // back (an agent's leg of a queue call, or an outbound call's miss). No number.
            tracing::info!(
                provider = event.provider.as_str(),
                call_id = event.call_id.as_deref().unwrap_or_default(),
                event = %event.event,
                "callback withdrawn: its only missed call was not a caller missed"
            );
        }
        let mut verdict = Verdict::new(
            history_with_fields(
                [
                    ("event", json!(event.event)),
                    ("call_id", json!(event.call_id)),
                    ("step", json!(event.step)),
                ],
                &event.raw,
            ),
            now,
        );
        verdict.states = vec![
            decision.call.map(|c| CallsState::Call(Box::new(c))),
            decision.callback.map(CallsState::Callback),
        ];
        for CounterMove { key, adds } in decision.counts {
            let bump = adds.into_iter().fold(
                CounterBump::new(key.counter_key(), DAILY_COUNTER_DAYS),
                |b, (field, n)| b.add(field, n),
            );
            verdict.counters.push(bump);
        }
        verdict
    }

    fn state_index(&self, state: &CallsState) -> Option<(String, String)> {
        callback_index(state)
    }

    fn unrecognised<'e>(&self, event: &'e CallEvent) -> Option<&'e str> {
        (event.step == Step::Unrecognised).then_some(event.event.as_str())
    }
}

/// Settings of a call receiver, read once at cold start.
#[derive(Debug)]
pub struct CallsConfig {
    pub table_name: String,
    pub token: Cached<Secret>,
    pub tz: Tz,
}

impl CallsConfig {
    /// The environment, and provider `P`'s URL token from the secret it names.
    pub async fn load<P: CallSource>(
        secrets: &crate::secrets::SecretsManager,
    ) -> Result<Self, crate::config::ConfigError> {
        Ok(Self {
            table_name: crate::config::required("TABLE_NAME")?,
            token: secrets.cached(P::TOKEN_SECRET_VAR).await?,
            tz: crate::config::account_timezone()?,
        })
    }
}

/// The receiver and store, built once at cold start.
pub fn deps<P>(
    config: CallsConfig,
    dynamodb: aws_sdk_dynamodb::Client,
) -> crate::pipeline::Deps<CallReceiver<P>, crate::store::DynamoStore> {
    crate::pipeline::Deps {
        receiver: CallReceiver::new(config.token, config.tz),
        store: crate::store::DynamoStore::new(dynamodb, config.table_name),
    }
}
