//! The Exotel API client: HTTP Basic auth, a client-side rate limit, back-off with jitter
//! on 429 and 5xx, a request budget per run, and credentials confined to the configured
//! Exotel host (a `NextPageUri` that leads anywhere else is refused before anything is sent).

use super::details::{read_blocks, ExoPhoneDetails};
use crate::call_log::records::{read_page, CallRecord, RecordError};
use crate::config::{self, ConfigError};
use crate::exophone::ExoPhoneSid;
use crate::secret::Secret;
use crate::secrets::{Cached, SecretsManager};
use backon::{ExponentialBuilder, Retryable};
use chrono::NaiveDateTime;
use reqwest::Url;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// Exotel's page size limit.
const PAGE_SIZE: u32 = 100;
/// Lines per page of the ExoPhone list.
const EXOPHONES_PAGE_SIZE: u32 = 100;

#[derive(Debug, thiserror::Error)]
pub enum ExotelError {
    #[error("refusing NextPageUri {uri:?}: it does not stay on {base} under this account")]
    ForeignPage { uri: String, base: String },
    #[error("the run's budget of {0} requests is spent")]
    BudgetSpent(u32),
    #[error("Exotel answered {status}")]
    Status { status: u16 },
    #[error("Exotel unreachable: {0}")]
    Transport(String),
    #[error("Exotel page unreadable: {0}")]
    Page(String),
    #[error("invalid Exotel base URL: {0}")]
    Base(String),
    #[error("Exotel API credentials unreadable: {0}")]
    Credentials(ConfigError),
}

impl ExotelError {
    fn is_retryable(&self) -> bool {
        match self {
            Self::Status { status } => *status == 429 || *status >= 500,
            Self::Transport(_) => true,
            _ => false,
        }
    }
}

/// Where and as whom to call Exotel.
#[derive(Debug)]
pub struct ExotelApi {
    /// `https://api.exotel.com` (Singapore) or `https://api.in.exotel.com` (Mumbai).
    pub base: String,
    pub account_sid: String,
    /// Read again every `SECRET_CACHE_SECONDS`: a rotated API token is used within minutes.
    pub credentials: Cached<ApiCredentials>,
    /// At least this long between two requests (Exotel allows ≈ 200 a minute).
    pub spacing: Duration,
    /// Requests a run may make (retries included); see `ExotelClient::begin_run`.
    pub budget: u32,
    pub retry_base: Duration,
    pub max_attempts: usize,
}

/// The variable naming the secret with the API key and token, as Exotel's API settings
/// page shows them: `{"api_key": "...", "api_token": "..."}`.
const API_SECRET_VAR: &str = "EXOTEL_API_SECRET_ID";

/// The API key and token requests are sent with (HTTP Basic).
#[derive(Debug)]
pub struct ApiCredentials {
    pub api_key: String,
    pub api_token: Secret,
}

impl ApiCredentials {
    /// The secret's JSON value; its messages name the field, never a value.
    fn parse(secret: Secret) -> Result<Self, ConfigError> {
        #[derive(serde::Deserialize)]
        struct Stored {
            api_key: String,
            api_token: String,
        }
        // serde_json's message can quote a value (`invalid type: integer 123…`): only
        // where and what kind of fault, never the text.
        let stored: Stored =
            serde_json::from_str(secret.expose()).map_err(|e| ConfigError::SecretUnreadable {
                name: API_SECRET_VAR,
                reason: format!(
                    "its value is not the expected JSON ({:?} error at line {}, column {}; \
                     expected {{\"api_key\": \"…\", \"api_token\": \"…\"}})",
                    e.classify(),
                    e.line(),
                    e.column()
                ),
            })?;
        let api_token =
            Secret::new(stored.api_token).map_err(|reason| ConfigError::SecretUnreadable {
                name: API_SECRET_VAR,
                reason: format!("its api_token {reason}"),
            })?;
        Ok(Self {
            api_key: stored.api_key,
            api_token,
        })
    }
}

impl ExotelApi {
    /// Exotel's API settings (`EXOTEL_*`; the key and token from the secret
    /// `EXOTEL_API_SECRET_ID` names), with `budget` requests a run unless
    /// `EXOTEL_REQUEST_BUDGET` says otherwise.
    pub async fn load(secrets: &SecretsManager, budget: u32) -> Result<Self, ConfigError> {
        let base = match (
            config::optional("EXOTEL_API_BASE"),
            config::optional("EXOTEL_REGION").as_deref(),
        ) {
            (Some(base), _) => base,
            (None, None | Some("singapore")) => "https://api.exotel.com".into(),
            (None, Some("mumbai")) => "https://api.in.exotel.com".into(),
            (None, Some(other)) => {
                return Err(ConfigError::Invalid {
                    name: "EXOTEL_REGION",
                    reason: format!("{other:?} is neither singapore nor mumbai"),
                })
            }
        };
        let per_minute: u64 = config::number_or("EXOTEL_REQUESTS_PER_MINUTE", 180)?;
        let account_sid = config::required("EXOTEL_ACCOUNT_SID")?;
        let credentials = secrets
            .cached_as(API_SECRET_VAR, ApiCredentials::parse)
            .await?;
        Ok(Self {
            base,
            account_sid,
            credentials,
            spacing: Duration::from_millis(60_000 / per_minute.max(1)),
            budget: config::number_or("EXOTEL_REQUEST_BUDGET", budget)?,
            retry_base: Duration::from_millis(500),
            max_attempts: 4,
        })
    }

    /// The same, or `None` when no Exotel account is configured (`EXOTEL_ACCOUNT_SID` unset).
    pub async fn load_if_configured(
        secrets: &SecretsManager,
        budget: u32,
    ) -> Result<Option<Self>, ConfigError> {
        match config::optional("EXOTEL_ACCOUNT_SID") {
            None => Ok(None),
            Some(_) => Self::load(secrets, budget).await.map(Some),
        }
    }
}

/// A Bulk Call Details page as Exotel sent it, to be read by [`ExotelClient::read_calls`].
#[derive(Debug)]
pub struct CallsBody(String);

/// One page of calls: each record parsed or the reason it could not be, and the next page.
/// The records borrow their text from the page's body: nothing is copied per record.
#[derive(Debug)]
pub struct CallsPage<'a> {
    pub calls: Vec<Result<CallRecord<'a>, RecordError>>,
    pub next: Option<Url>,
}

/// One page of the ExoPhone list: the lines read, how many blocks were not, and the next page.
#[derive(Debug)]
pub struct ExoPhonesPage {
    pub lines: Vec<ExoPhoneDetails>,
    pub unreadable: u32,
    pub next: Option<Url>,
}

pub struct ExotelClient {
    http: reqwest::Client,
    base: Url,
    account_sid: String,
    credentials: Cached<ApiCredentials>,
    spacing: Duration,
    last_request: Mutex<Option<Instant>>,
    budget: u32,
    spent: AtomicU32,
    retry: ExponentialBuilder,
}

impl ExotelClient {
    pub fn new(api: ExotelApi) -> Result<Self, ExotelError> {
        let base = Url::parse(&api.base).map_err(|e| ExotelError::Base(e.to_string()))?;
        if !matches!(base.scheme(), "https" | "http") || base.host_str().is_none() {
            return Err(ExotelError::Base(api.base));
        }
        let http = crate::tls::https_client()
            .timeout(Duration::from_secs(15))
            // A redirect could carry the credentials elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ExotelError::Transport(e.to_string()))?;
        Ok(Self {
            http,
            base,
            account_sid: api.account_sid,
            credentials: api.credentials,
            spacing: api.spacing,
            last_request: Mutex::new(None),
            budget: api.budget,
            spent: AtomicU32::new(0),
            retry: ExponentialBuilder::default()
                .with_min_delay(api.retry_base)
                .with_max_delay(api.retry_base * 32)
                .with_max_times(api.max_attempts.saturating_sub(1))
                .with_jitter(),
        })
    }

    /// Starts a run with the whole budget again. The client outlives a run (it is built
    /// once per Lambda container, which serves one invocation at a time), the budget not.
    pub fn begin_run(&self) {
        self.spent.store(0, Ordering::SeqCst);
    }

    /// Requests made so far in this run (retries included).
    pub fn requests_made(&self) -> u32 {
        self.spent.load(Ordering::SeqCst)
    }

    fn account_path(&self) -> String {
        format!("/v1/Accounts/{}/", self.account_sid)
    }

    fn exophones_path(&self) -> String {
        format!("/v2/accounts/{}/incoming-phone-numbers", self.account_sid)
    }

    /// The first page of calls created in `[from, to]` (the account's local time), oldest
    /// first. The caller keeps each range within a month (see `records::split_range`).
    pub fn calls_url(&self, from: NaiveDateTime, to: NaiveDateTime) -> Result<Url, ExotelError> {
        let mut url = self
            .base
            .join(&format!("{}Calls.json", self.account_path()))
            .map_err(|e| ExotelError::Base(e.to_string()))?;
        url.query_pairs_mut()
            .append_pair(
                "DateCreated",
                &format!(
                    "gte:{};lte:{}",
                    from.format("%Y-%m-%d %H:%M:%S"),
                    to.format("%Y-%m-%d %H:%M:%S")
                ),
            )
            .append_pair("PageSize", &PAGE_SIZE.to_string())
            .append_pair("SortBy", "DateCreated:asc");
        Ok(url)
    }

    /// Resolves a Bulk Call Details `NextPageUri` against the base, and refuses it unless it
    /// stays on the same scheme, host and port, under this account, with no credentials of
    /// its own.
    pub fn follow(&self, next_page_uri: &str) -> Result<Url, ExotelError> {
        self.confine(next_page_uri, &self.account_path())
    }

    fn confine(&self, next_page_uri: &str, prefix: &str) -> Result<Url, ExotelError> {
        let foreign = || ExotelError::ForeignPage {
            uri: next_page_uri.to_owned(),
            base: self.base.origin().ascii_serialization(),
        };
        let url = self
            .base
            .join(next_page_uri.trim())
            .map_err(|_| foreign())?;
        let same_origin = url.origin() == self.base.origin();
        let no_userinfo = url.username().is_empty() && url.password().is_none();
        if same_origin && no_userinfo && url.path().starts_with(prefix) {
            Ok(url)
        } else {
            Err(foreign())
        }
    }

    pub async fn calls_page(&self, url: &Url) -> Result<CallsBody, ExotelError> {
        self.get(url).await.map(CallsBody)
    }

    /// Reads a page `calls_page` fetched; its `NextPageUri` is followed only if it stays on
    /// this account (see [`Self::follow`]).
    pub fn read_calls<'a>(&self, body: &'a CallsBody) -> Result<CallsPage<'a>, ExotelError> {
        let page = read_page(body.0.as_bytes()).map_err(|e| ExotelError::Page(e.to_string()))?;
        let next = match page.next_page_uri {
            Some(uri) => Some(self.follow(&uri)?),
            None => None,
        };
        Ok(CallsPage {
            calls: page.calls,
            next,
        })
    }

    /// The first page of the account's ExoPhones with their connectivity.
    pub fn exophones_url(&self) -> Result<Url, ExotelError> {
        let mut url = self
            .base
            .join(&self.exophones_path())
            .map_err(|e| ExotelError::Base(e.to_string()))?;
        url.query_pairs_mut()
            .append_pair("page_size", &EXOPHONES_PAGE_SIZE.to_string())
            .append_pair("page", "0");
        Ok(url)
    }

    /// One page of ExoPhones. The next page is the `metadata.next_page_uri` Exotel gives
    /// (confined like `NextPageUri`), or else the following page number while pages are full.
    pub async fn exophones_page(&self, url: &Url) -> Result<ExoPhonesPage, ExotelError> {
        let body = self.get_json(url).await?;
        let read =
            read_blocks(&body).ok_or_else(|| ExotelError::Page("no response array".into()))?;
        let given = body
            .pointer("/metadata/next_page_uri")
            .and_then(|n| n.as_str())
            .filter(|n| !n.trim().is_empty());
        let full = read.lines.len() + read.unreadable as usize >= EXOPHONES_PAGE_SIZE as usize;
        let next = match given {
            Some(uri) => Some(self.confine(uri, &self.exophones_path())?),
            None if full => Some(following_page(url)),
            None => None,
        };
        Ok(ExoPhonesPage {
            lines: read.lines,
            unreadable: read.unreadable,
            next,
        })
    }

    /// One ExoPhone's details; `None` when Exotel does not know it.
    pub async fn exophone(
        &self,
        sid: &ExoPhoneSid,
    ) -> Result<Option<ExoPhoneDetails>, ExotelError> {
        let url = self
            .base
            .join(&format!("{}/{}", self.exophones_path(), sid.as_str()))
            .map_err(|e| ExotelError::Base(e.to_string()))?;
        let body = match self.get_json(&url).await {
            Err(ExotelError::Status { status: 404 }) => return Ok(None),
            other => other?,
        };
        let read =
            read_blocks(&body).ok_or_else(|| ExotelError::Page("no response array".into()))?;
        Ok(read.lines.into_iter().find(|line| &line.sid == sid))
    }

    async fn get_json(&self, url: &Url) -> Result<serde_json::Value, ExotelError> {
        let body = self.get(url).await?;
        serde_json::from_str(&body).map_err(|e| ExotelError::Page(e.to_string()))
    }

    async fn get(&self, url: &Url) -> Result<String, ExotelError> {
        (|| self.attempt(url))
            .retry(self.retry)
            .when(ExotelError::is_retryable)
            .notify(|err, wait| tracing::warn!(error = %err, wait_ms = wait.as_millis() as u64, "Exotel request retried"))
            .await
    }

    async fn attempt(&self, url: &Url) -> Result<String, ExotelError> {
        let spent = self
            .spent
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < self.budget).then_some(n + 1)
            });
        if spent.is_err() {
            return Err(ExotelError::BudgetSpent(self.budget));
        }
        {
            let mut last = self.last_request.lock().await;
            if let Some(previous) = *last {
                tokio::time::sleep_until(previous + self.spacing).await;
            }
            *last = Some(Instant::now());
        }
        let credentials = self
            .credentials
            .get()
            .await
            .map_err(ExotelError::Credentials)?;
        let response = self
            .http
            .get(url.clone())
            .basic_auth(&credentials.api_key, Some(credentials.api_token.expose()))
            .send()
            .await
            .map_err(|e| ExotelError::Transport(e.without_url().to_string()))?;
        let status = response.status();
        if !status.is_success() {
            return Err(ExotelError::Status {
                status: status.as_u16(),
            });
        }
        response
            .text()
            .await
            .map_err(|e| ExotelError::Transport(e.without_url().to_string()))
    }
}

/// The same URL with its `page` number one higher.
fn following_page(url: &Url) -> Url {
    let page: u32 = url
        .query_pairs()
        .find(|(k, _)| k == "page")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != "page")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut next = url.clone();
    next.query_pairs_mut()
        .clear()
        .extend_pairs(kept)
        .append_pair("page", &(page + 1).to_string());
    next
}

#[cfg(test)]
#[path = "client_test.rs"]
pub(crate) mod tests;
