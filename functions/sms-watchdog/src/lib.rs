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
    match rest::stuck_phones(api, now, &deps.policy).await {
        Ok(seen) => {
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
        Err(e) => {
            // The webhooks' view still stands; the next run asks again.
            tracing::warn!(error = %e, "Telerivet's REST API not read");
            Ok((stuck, false))
        }
    }
}

/// Writes a phone's state with its alert, conditioned on the revision read.
async fn save<S: WatchStore>(
    store: &S,
    state: &PhoneState,
    alert: &Alert,
) -> Result<AlertSaved, WatchdogError> {
    let key = phone_key(&state.phone_id);
    let stored = CallbackStore::load_state::<PhoneState>(store, &key).await?;
    let write = StateWrite {
        key,
        index: state.index(),
        replaces: stored.map(|s| s.revision),
        state: StateJson::of(state)?,
    };
    Ok(store.save_with_alert(write, alert).await?)
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
        stuck: stuck.len(),
        ..Summary::default()
    };

    for (phone, seen) in &stuck {
        if alerted.contains_key(phone) {
            continue;
        }
        // Held back by its send limit, a phone keeps messages waiting while it sends.
        let since = now - deps.policy.after;
        if deps
            .store
            .indexed_since(&moved_partition(phone), since)
            .await?
        {
            continue;
        }
        let (state, alert) = gateway::not_sending(seen, now, &deps.policy);
        if save(&deps.store, &state, &alert).await? == AlertSaved::Raised {
            summary.raised += 1;
        }
    }

    for (phone, state) in &alerted {
        let moved = deps
            .store
            .indexed_since(&moved_partition(phone), state.alerted_at)
            .await?;
        let why = if moved {
            "a message of this phone was sent since the alert"
        } else if !stuck.contains_key(phone) && api_read {
            "none of this phone's messages is waiting any more"
        } else {
            continue;
        };
        let (resolved, alert) = gateway::sending_again(state, now, why);
        if save(&deps.store, &resolved, &alert).await? == AlertSaved::Raised {
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
