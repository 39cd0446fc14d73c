//! The SMS watchdog (EventBridge schedule): a Telerivet phone whose outgoing messages wait
//! past the threshold while none of its messages moves on raises one "SMS gateway not
//! sending" alert, naming the phone and its oldest stuck message; it resolves once the
//! phone sends again (or nothing of it waits any more).
//!
//! It reads the messages the webhook indexed while they wait, only up to the threshold,
//! and, where a Telerivet API key is configured, the phones Telerivet's REST API shows
//! silent with messages queued (a single message sent through the REST API is never
//! posted as `queued`).

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use chrono::{DateTime, Duration, Utc};
use dialtone_shared::alert::Alert;
use dialtone_shared::config::{self, ConfigError};
use dialtone_shared::secrets::SecretsManager;
use dialtone_shared::store::{
    AlertSaved, CallbackStore, DashboardStore, DynamoStore, StateJson, StateKey, StateWrite,
    StoreError, TelerivetObject, WatchStore,
};
use dialtone_shared::telerivet::gateway::{
    self, moved_partition, PhoneState, Stuck, StuckPolicy, PHONES_NOT_SENDING, SMS_WAITING,
};
use dialtone_shared::telerivet::rest::{self, RestError, TelerivetApi, TelerivetClient};
use dialtone_shared::telerivet::TelerivetState;
use lambda_runtime::LambdaEvent;
use std::collections::BTreeMap;
use std::time::Duration as StdDuration;

/// How long a run waits for Telerivet's REST API: a hanging API must not keep the run
/// from judging what the webhooks show (the function's timeout is 60 s).
const REST_DEADLINE: StdDuration = StdDuration::from_secs(20);

#[derive(Debug)]
pub struct Config {
    pub table_name: String,
    pub policy: StuckPolicy,
    pub api: Option<TelerivetApi>,
}

impl Config {
    /// `SMS_STUCK_SECONDS` (default 300, at least 60), `SMS_STUCK_MIN_MESSAGES` (default
    /// 1), and Telerivet's REST API where `TELERIVET_PROJECT_ID` and
    /// `TELERIVET_API_SECRET_ID` are both set.
    pub async fn load(secrets: &SecretsManager) -> Result<Self, ConfigError> {
        let after = config::seconds_or("SMS_STUCK_SECONDS", std::time::Duration::from_secs(300))?;
        let after = Duration::from_std(after)
            .ok()
            .filter(|d| d.num_seconds() >= 60)
            .ok_or(ConfigError::Invalid {
                name: "SMS_STUCK_SECONDS",
                reason: "expected at least 60 seconds".into(),
            })?;
        let at_least: usize = config::number_or("SMS_STUCK_MIN_MESSAGES", 1)?;
        if at_least == 0 {
            return Err(ConfigError::Invalid {
                name: "SMS_STUCK_MIN_MESSAGES",
                reason: "expected at least 1".into(),
            });
        }
        Ok(Self {
            table_name: config::required("TABLE_NAME")?,
            policy: StuckPolicy { after, at_least },
            api: TelerivetApi::load_if_configured(secrets).await?,
        })
    }
}

pub struct Deps<S> {
    pub store: S,
    pub policy: StuckPolicy,
    pub api: Option<TelerivetClient>,
}

impl Deps<DynamoStore> {
    pub fn new(config: Config, dynamodb: aws_sdk_dynamodb::Client) -> Result<Self, RestError> {
        Ok(Self {
            store: DynamoStore::new(dynamodb, config.table_name),
            policy: config.policy,
            api: config.api.map(TelerivetClient::new).transpose()?,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WatchdogError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

dialtone_shared::diagnostic!(WatchdogError);

/// What one run did.
#[derive(Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub stuck: usize,
    pub raised: usize,
    pub resolved: usize,
}

fn phone_key(phone_id: &str) -> StateKey {
    StateKey::Telerivet {
        object: TelerivetObject::Phone,
        id: phone_id.to_owned(),
    }
}

/// The stuck phones as of `now`: the webhook's waiting messages, and the REST API's view
/// where configured. The second says whether the REST API answered (a phone it alone
/// showed stuck is not resolved by a run that could not ask it).
async fn stuck_phones<S: WatchStore>(
    deps: &Deps<S>,
    now: DateTime<Utc>,
) -> Result<(BTreeMap<String, Stuck>, bool), WatchdogError> {
    let rows = deps
        .store
        .indexed_states_before::<TelerivetState>(SMS_WAITING, now - deps.policy.after)
        .await?;
    let waiting: Vec<_> = rows
        .into_iter()
        .filter_map(|(key, state)| match (key, state) {
            (
                StateKey::Telerivet {
                    object: TelerivetObject::Message,
                    id,
                },
                TelerivetState::Message(m),
            ) => Some((id, m)),
            _ => None,
        })
        .collect();
    let mut stuck = gateway::stuck_phones(&waiting, now, &deps.policy);
    let Some(api) = &deps.api else {
        return Ok((stuck, true));
    };
    let read = tokio::time::timeout(REST_DEADLINE, rest::stuck_phones(api, now, &deps.policy));
    match read.await {
        Err(_) => {
            tracing::warn!(
                seconds = REST_DEADLINE.as_secs(),
                "Telerivet's REST API not read in time"
            );
            Ok((stuck, false))
        }
        Ok(Ok(seen)) => {
            for phone in seen {
                match stuck.get_mut(&phone.phone_id) {
                    Some(known) => known.merge(phone),
                    None => {
                        stuck.insert(phone.phone_id.clone(), phone);
                    }
                }
            }
            Ok((stuck, true))
        }
        Ok(Err(e)) => {
            // The webhooks' view still stands; the next run asks again.
            tracing::warn!(error = %e, "Telerivet's REST API not read");
            Ok((stuck, false))
        }
    }
}

/// When the phone last moved a message on (its newest `SMS_MOVED#` entry).
async fn last_move<S: WatchStore>(
    store: &S,
    phone: &str,
) -> Result<Option<DateTime<Utc>>, WatchdogError> {
    Ok(store
        .newest_indexed(&moved_partition(phone))
        .await?
        .and_then(|sk| DateTime::parse_from_rfc3339(&sk).ok())
        .map(|t| t.with_timezone(&Utc)))
}

/// Writes a phone's state with its alert, on the revision of the state read afresh, if
/// `still` holds of that state: the index the decision was made on is read eventually
/// consistently, and two runs may overlap.
async fn save<S: WatchStore>(
    store: &S,
    state: &PhoneState,
    alert: &Alert,
    still: impl Fn(Option<&PhoneState>) -> bool,
) -> Result<bool, WatchdogError> {
    let key = phone_key(&state.phone_id);
    let stored = CallbackStore::load_state::<PhoneState>(store, &key).await?;
    if !still(stored.as_ref().map(|s| &s.value)) {
        return Ok(false);
    }
    let write = StateWrite {
        key,
        index: state.index(),
        replaces: stored.map(|s| s.revision),
        state: StateJson::of(state)?,
    };
    Ok(store.save_with_alert(write, alert).await? == AlertSaved::Raised)
}

/// Raises and resolves as of `now`.
pub async fn sweep<S: WatchStore>(
    deps: &Deps<S>,
    now: DateTime<Utc>,
) -> Result<Summary, WatchdogError> {
    let (stuck, api_read) = stuck_phones(deps, now).await?;
    let alerted: BTreeMap<String, PhoneState> =
        DashboardStore::indexed_states::<PhoneState>(&deps.store, PHONES_NOT_SENDING)
            .await?
            .into_iter()
            .filter(|p| p.resolved_at.is_none())
            .map(|p| (p.phone_id.clone(), p))
            .collect();
    let mut summary = Summary {
        stuck: stuck
            .values()
            .filter(|s| s.messages >= deps.policy.at_least)
            .count(),
        ..Summary::default()
    };

    for (phone, seen) in &stuck {
        if alerted.contains_key(phone) || seen.messages < deps.policy.at_least {
            continue;
        }
        // Held back by its send limit, a phone keeps messages waiting while it sends.
        let moved = last_move(&deps.store, phone).await?;
        if !gateway::is_not_sending(seen, moved, now, &deps.policy) {
            continue;
        }
        let (state, alert) = gateway::not_sending(seen, moved, now, &deps.policy);
        // Not when a run just raised it (the index has not caught up).
        let new = |stored: Option<&PhoneState>| stored.is_none_or(|s| s.resolved_at.is_some());
        if save(&deps.store, &state, &alert, new).await? {
            summary.raised += 1;
        }
    }

    for (phone, state) in &alerted {
        let moved = last_move(&deps.store, phone).await?;
        // A phone only the REST API showed is not known to be clear when it was not read.
        let waiting = (api_read || stuck.contains_key(phone)).then(|| stuck.contains_key(phone));
        let Some((at, why)) = gateway::back(state, moved, waiting, now) else {
            continue;
        };
        let (resolved, alert) = gateway::sending_again(state, at, why);
        // The very episode the decision was made on, not resolved by another run.
        let same = |stored: Option<&PhoneState>| {
            stored.is_some_and(|s| s.resolved_at.is_none() && s.alerted_at == state.alerted_at)
        };
        if save(&deps.store, &resolved, &alert, same).await? {
            summary.resolved += 1;
        }
    }
    tracing::info!(
        stuck = summary.stuck,
        raised = summary.raised,
        resolved = summary.resolved,
        alerted = alerted.len(),
        "SMS gateways checked"
    );
    Ok(summary)
}

pub async fn handler<S: WatchStore>(
    deps: &Deps<S>,
    _event: LambdaEvent<EventBridgeEvent<serde_json::Value>>,
) -> Result<serde_json::Value, WatchdogError> {
    let summary = sweep(deps, Utc::now()).await?;
    Ok(serde_json::json!(summary))
}
