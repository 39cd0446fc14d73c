//! The Exotel API client: HTTP Basic auth, a client-side rate limit, back-off with jitter
//! on 429 and 5xx, a request budget per run, and credentials confined to the configured
//! Exotel host (a `NextPageUri` that leads anywhere else is refused before anything is sent).

use super::records::CallRecord;
use super::records::RecordError;
use crate::secret::Secret;
use backon::{ExponentialBuilder, Retryable};
use chrono::NaiveDateTime;
use reqwest::Url;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// Exotel's page size limit.
const PAGE_SIZE: u32 = 100;

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
    pub api_key: String,
    pub api_token: Secret,
    /// At least this long between two requests (Exotel allows ≈ 200 a minute).
    pub spacing: Duration,
    /// Requests this client may make in all (retries included).
    pub budget: u32,
    pub retry_base: Duration,
    pub max_attempts: usize,
}

/// One page of calls: each record parsed or the reason it could not be, and the next page.
#[derive(Debug)]
pub struct CallsPage {
    pub calls: Vec<Result<CallRecord, RecordError>>,
    pub next: Option<Url>,
}

pub struct ExotelClient {
    http: reqwest::Client,
    base: Url,
    account_sid: String,
    api_key: String,
    api_token: Secret,
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
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            // A redirect could carry the credentials elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ExotelError::Transport(e.to_string()))?;
        Ok(Self {
            http,
            base,
            account_sid: api.account_sid,
            api_key: api.api_key,
            api_token: api.api_token,
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

    /// Requests made so far (retries included).
    pub fn requests_made(&self) -> u32 {
        self.spent.load(Ordering::SeqCst)
    }

    fn account_path(&self) -> String {
        format!("/v1/Accounts/{}/", self.account_sid)
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

    /// Resolves a `NextPageUri` against the base, and refuses it unless it stays on the
    /// same scheme, host and port, under this account, with no credentials of its own.
    pub fn follow(&self, next_page_uri: &str) -> Result<Url, ExotelError> {
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
        if same_origin && no_userinfo && url.path().starts_with(&self.account_path()) {
            Ok(url)
        } else {
            Err(foreign())
        }
    }

    pub async fn calls_page(&self, url: &Url) -> Result<CallsPage, ExotelError> {
        let body = self.get(url).await?;
        let page: serde_json::Value =
            serde_json::from_str(&body).map_err(|e| ExotelError::Page(e.to_string()))?;
        let calls = page
            .get("Calls")
            .and_then(|c| c.as_array())
            .ok_or_else(|| ExotelError::Page("no Calls array".into()))?
            .iter()
            .map(CallRecord::from_value)
            .collect();
        let next = match page
            .pointer("/Metadata/NextPageUri")
            .and_then(|n| n.as_str())
        {
            Some(uri) if !uri.trim().is_empty() => Some(self.follow(uri)?),
            _ => None,
        };
        Ok(CallsPage { calls, next })
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
        let response = self
            .http
            .get(url.clone())
            .basic_auth(&self.api_key, Some(self.api_token.expose()))
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

#[cfg(test)]
#[path = "client_test.rs"]
mod tests;
