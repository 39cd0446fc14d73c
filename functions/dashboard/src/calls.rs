//! The live calls: the figures of a day per agent, from the calls receivers' per-agent
//! counters (`calls-agent:<provider>:<agent>:<day>`), what a supervisor reads on a phone;
//! and one call as its notifications told it (`GET /api/calls/<provider>/<call id>`).

use chrono::{DateTime, NaiveDate, Utc};
use dialtone_shared::calls::{CallDirection, CallState, Outcome, Provider};
use dialtone_shared::store::{CounterKey, StateKey};
use serde::Serialize;
use std::collections::BTreeMap;

/// One agent's calls of the day (an Exotel WebRTC user: the one who answered, or else the
/// one the call rang for or was made by).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentFigures {
    pub provider: String,
    pub agent: String,
    pub calls: i64,
    pub answered: i64,
    /// Inbound calls that rang for them and nobody answered.
    pub missed: i64,
    /// Their outbound calls nobody picked up.
    pub unanswered: i64,
    /// Talk time of their answered calls whose talk time is known.
    pub talk_seconds: i64,
    /// `"4m 55s"`, over the answered calls whose talk time is known; `null` before one.
    pub average_talk: Option<String>,
    /// Answered calls with a recording available.
    pub recorded: i64,
    /// Answered calls per device they were answered on (`sip`, …).
    pub devices: BTreeMap<String, i64>,
}

impl AgentFigures {
    fn from_fields(provider: &str, agent: &str, fields: &BTreeMap<String, i64>) -> Self {
        let field = |name: &str| fields.get(name).copied().unwrap_or_default();
        let talked = field("talked");
        let talk_seconds = field("talk_seconds");
        Self {
            provider: provider.to_owned(),
            agent: agent.to_owned(),
            calls: field("calls"),
            answered: field("answered"),
            missed: field("missed"),
            unanswered: field("unanswered"),
            talk_seconds,
            average_talk: (talked > 0).then(|| {
                let average = talk_seconds / talked;
                dialtone_shared::call_log::metrics::format_duration(average.max(0) as u64)
            }),
            recorded: field("recorded"),
            devices: fields
                .iter()
                .filter_map(|(name, n)| Some((name.strip_prefix("device:")?.to_owned(), *n)))
                .filter(|(_, n)| *n != 0)
                .collect(),
        }
    }
}

/// The agents with calls on `day`, by provider then agent. An agent whose calls all moved
/// to another (a late `call_answered` naming who answered) keeps a row of zeros in the
/// store, and is left out here.
pub fn agents(
    day: NaiveDate,
    counters: &BTreeMap<CounterKey, BTreeMap<String, i64>>,
) -> Vec<AgentFigures> {
    counters
        .iter()
        .filter_map(|(key, fields)| match key {
            CounterKey::CallAgent {
                provider,
                agent,
                day: d,
            } if *d == day => Some(AgentFigures::from_fields(provider, agent, fields)),
            _ => None,
        })
        .filter(|a| a.calls != 0)
        .collect()
}

/// `GET /api/calls/<provider>/<call id>`: one call as its notifications told it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallView {
    pub provider: Option<&'static str>,
    pub call_id: String,
    pub direction: Option<CallDirection>,
    pub line: Option<String>,
    pub customer: Option<String>,
    /// `answered`, `missed`, `unanswered`; `null` while it rings (or while a queue call's
    /// only miss is an agent's leg).
    pub outcome: Option<&'static str>,
    pub started_at: Option<DateTime<Utc>>,
    pub answered_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub ring_seconds: Option<i64>,
    pub talk_seconds: Option<i64>,
    /// Who it counts under: who answered, else the user it rang for or who made it.
    pub agent: Option<String>,
    pub device: Option<String>,
    /// Exotel WebRTC `call_completed`'s `recording_available`; `null` when not said.
    pub recording_available: Option<bool>,
    /// The call came through a queue; the caller gave up waiting in it.
    pub queue: bool,
    pub queue_abandoned: bool,
    pub on_hold: bool,
    /// DTMF tags and targets, in the order pressed.
    pub dtmf: Vec<String>,
    pub wrap_up: Option<String>,
    pub wrap_up_seconds: Option<i64>,
}

impl From<&CallState> for CallView {
    fn from(call: &CallState) -> Self {
        Self {
            provider: call.provider.map(Provider::as_str),
            call_id: call.call_id.clone(),
            direction: call.direction,
            line: call.line.clone(),
            customer: call.customer.as_ref().map(|c| c.as_str().to_owned()),
            outcome: call.outcome().map(Outcome::as_str),
            started_at: call.started_at,
            answered_at: call.answered(),
            ended_at: call.ended_at,
            ring_seconds: call.ring_seconds,
            talk_seconds: call.talk_seconds,
            agent: call.agent().map(str::to_owned),
            device: call.device.clone(),
            recording_available: call.recording_available,
            queue: call.queue,
            queue_abandoned: call.queue_abandoned,
            on_hold: call.on_hold(),
            dtmf: call.dtmf.clone(),
            wrap_up: call.wrap_up.clone(),
            wrap_up_seconds: call.wrap_up_seconds(),
        }
    }
}

/// The state key a call's address names: `/api/calls/<provider>/<call id>` with a provider
/// dialtone knows and an id of one segment; `None` for anything else (a 404).
pub fn call_key(path: &str) -> Option<StateKey> {
    let rest = path.strip_prefix("/api/calls/")?;
    let (provider, id) = rest.split_once('/')?;
    let provider = [Provider::Voipstudio, Provider::ExotelWebrtc]
        .into_iter()
        .find(|p| p.as_str() == provider)?;
    (!id.is_empty() && !id.contains('/')).then(|| StateKey::Call {
        provider: provider.as_str().to_owned(),
        id: id.to_owned(),
    })
}

#[cfg(test)]
#[path = "calls_test.rs"]
mod tests;
