//! Telerivet's REST API, read by the SMS watchdog where an API key is configured: each
//! phone's last connection, and the oldest outgoing message it still has queued. Telerivet
//! posts `queued` for most sends, but not for a single message sent through its REST API:
//! such a message never reaches the webhook's index while its phone is off, and only this
//! read finds it.
//!
//! Requests go to `<base>/projects/<project>/phones` and
//! `<base>/projects/<project>/phones/<phone>/messages`, authenticated with HTTP Basic (the
//! API key as the user name, no password); lists come as `{"data": [...], "truncated",
//! "next_marker"}`, and `count=1` answers `{"count": N}`.

use super::gateway::{Stuck, StuckPolicy};
use crate::config::{self, ConfigError};
use crate::secret::Secret;
use crate::secrets::{Cached, SecretsManager};
use chrono::{DateTime, Utc};
use reqwest::Url;
use serde::Deserialize;
use std::time::Duration;

/// Pages of phones read at most (a project has a handful of phones; this bounds a loop on
/// a `next_marker` that never ends).
const MAX_PHONE_PAGES: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum RestError {
    #[error("Telerivet answered {status}")]
    Status { status: u16 },
    #[error("Telerivet unreachable: {0}")]
    Transport(String),
    #[error("Telerivet page unreadable: {0}")]
    Page(String),
    #[error("invalid Telerivet API base URL: {0}")]
    Base(String),
    #[error("Telerivet API key unreadable: {0}")]
    Credentials(ConfigError),
}

/// Where and as whom to call Telerivet.
#[derive(Debug)]
pub struct TelerivetApi {
    /// `https://api.telerivet.com/v1` unless `TELERIVET_API_BASE` says otherwise.
    pub base: String,
    pub project_id: String,
    /// Read again every `SECRET_CACHE_SECONDS`: a rotated key is used within minutes.
    pub api_key: Cached<Secret>,
}

impl TelerivetApi {
    /// `TELERIVET_PROJECT_ID` and the key in the secret `TELERIVET_API_SECRET_ID` names, or
    /// `None` when either is unset (the watchdog then judges from the webhooks alone).
    pub async fn load_if_configured(secrets: &SecretsManager) -> Result<Option<Self>, ConfigError> {
        let (Some(project_id), Some(_)) = (
            config::optional("TELERIVET_PROJECT_ID"),
            config::optional("TELERIVET_API_SECRET_ID"),
        ) else {
            return Ok(None);
        };
        Ok(Some(Self {
            base: config::optional("TELERIVET_API_BASE")
                .unwrap_or_else(|| "https://api.telerivet.com/v1".into()),
            project_id,
            api_key: secrets.cached("TELERIVET_API_SECRET_ID").await?,
        }))
    }
}

/// A phone as the REST API lists it (the fields the watchdog reads).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct ApiPhone {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub phone_type: Option<String>,
    #[serde(default)]
    pub send_paused: bool,
    /// Unix seconds: approximately when the phone last connected to Telerivet.
    #[serde(default)]
    pub last_active_time: Option<i64>,
}

/// A message as the REST API lists it (the fields the watchdog reads).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct ApiMessage {
    pub id: String,
    /// Unix seconds: when it was first queued.
    #[serde(default)]
    pub time_created: Option<i64>,
}

#[derive(Deserialize)]
struct Page<T> {
    data: Vec<T>,
    #[serde(default)]
    truncated: bool,
    #[serde(default)]
    next_marker: Option<String>,
}

#[derive(Deserialize)]
struct Count {
    count: u64,
}

pub struct TelerivetClient {
    http: reqwest::Client,
    base: Url,
    project_id: String,
    api_key: Cached<Secret>,
}

impl TelerivetClient {
    pub fn new(api: TelerivetApi) -> Result<Self, RestError> {
        // A trailing slash makes `join` keep the base's path (`/v1/`).
        let base = Url::parse(&format!("{}/", api.base.trim_end_matches('/')))
            .map_err(|e| RestError::Base(e.to_string()))?;
        if !matches!(base.scheme(), "https" | "http") || base.host_str().is_none() {
            return Err(RestError::Base(api.base));
        }
        let http = crate::tls::https_client()
            .timeout(Duration::from_secs(10))
            // A redirect could carry the key elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| RestError::Transport(e.to_string()))?;
        Ok(Self {
            http,
            base,
            project_id: api.project_id,
            api_key: api.api_key,
        })
    }

    async fn get<T: for<'de> Deserialize<'de>>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, RestError> {
        let mut url = self
            .base
            .join(path)
            .map_err(|e| RestError::Base(e.to_string()))?;
        url.query_pairs_mut().extend_pairs(query);
        let key = self.api_key.get().await.map_err(RestError::Credentials)?;
        let response = self
            .http
            .get(url)
            .basic_auth(key.expose(), Some(""))
            .send()
            .await
            .map_err(|e| RestError::Transport(e.without_url().to_string()))?;
        let status = response.status();
        if !status.is_success() {
            return Err(RestError::Status {
                status: status.as_u16(),
            });
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| RestError::Transport(e.without_url().to_string()))?;
        serde_json::from_slice(&body).map_err(|e| RestError::Page(e.to_string()))
    }

    /// Every phone of the project.
    pub async fn phones(&self) -> Result<Vec<ApiPhone>, RestError> {
        let path = format!("projects/{}/phones", self.project_id);
        let mut phones = Vec::new();
        let mut marker: Option<String> = None;
        for _ in 0..MAX_PHONE_PAGES {
            let mut query = vec![("page_size", "200")];
            if let Some(m) = marker.as_deref() {
                query.push(("marker", m));
            }
            let page: Page<ApiPhone> = self.get(&path, &query).await?;
            phones.extend(page.data);
            match page.next_marker.filter(|_| page.truncated) {
                Some(next) => marker = Some(next),
                None => break,
            }
        }
        Ok(phones)
    }

    /// A phone's outgoing messages still queued: how many, and the oldest.
    pub async fn queued(&self, phone_id: &str) -> Result<(u64, Option<ApiMessage>), RestError> {
        let path = format!("projects/{}/phones/{phone_id}/messages", self.project_id);
        let filter = [("direction", "outgoing"), ("status", "queued")];
        let oldest: Page<ApiMessage> = self
            .get(
                &path,
                &[&filter[..], &[("sort_dir", "asc"), ("page_size", "1")]].concat(),
            )
            .await?;
        let Some(oldest) = oldest.data.into_iter().next() else {
            return Ok((0, None));
        };
        let count: Count = self
            .get(&path, &[&filter[..], &[("count", "1")]].concat())
            .await?;
        Ok((count.count, Some(oldest)))
    }
}

/// A phone worth asking about its queue: it may send, and has not connected for the
/// threshold (a connected phone's queue is the webhooks' to judge).
pub fn silent(phone: &ApiPhone, now: DateTime<Utc>, policy: &StuckPolicy) -> bool {
    let last = phone
        .last_active_time
        .and_then(|t| DateTime::from_timestamp(t, 0));
    !phone.send_paused && last.is_none_or(|t| t < now - policy.after)
}

/// The stuck phones the REST API shows: silent for the threshold, with at least the
/// minimum of messages queued and the oldest queued before the threshold. Asks about each
/// silent phone's queue only (two requests each), so a run costs one request when all
/// phones are connected.
pub async fn stuck_phones(
    client: &TelerivetClient,
    now: DateTime<Utc>,
    policy: &StuckPolicy,
) -> Result<Vec<Stuck>, RestError> {
    let mut stuck = Vec::new();
    for phone in client.phones().await? {
        if !silent(&phone, now, policy) {
            continue;
        }
        let (count, Some(oldest)) = client.queued(&phone.id).await? else {
            continue;
        };
        let Some(queued_at) = oldest
            .time_created
            .and_then(|t| DateTime::from_timestamp(t, 0))
        else {
            continue;
        };
        let messages = usize::try_from(count).unwrap_or(usize::MAX);
        if queued_at >= now - policy.after || messages < policy.at_least {
            continue;
        }
        stuck.push(Stuck {
            phone_id: phone.id,
            project_id: Some(client.project_id.clone()),
            messages,
            oldest_message: oldest.id,
            oldest_queued_at: queued_at,
            last_active: phone
                .last_active_time
                .and_then(|t| DateTime::from_timestamp(t, 0)),
        });
    }
    Ok(stuck)
}
