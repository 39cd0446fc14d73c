//! The live calls' figures of a day per agent, from the calls receivers' per-agent counters
//! (`calls-agent:<provider>:<agent>:<day>`): what a supervisor reads on a phone.

use chrono::NaiveDate;
use dialtone_shared::store::CounterKey;
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
                format!("{}m {}s", average / 60, average % 60)
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

#[cfg(test)]
#[path = "calls_test.rs"]
mod tests;
