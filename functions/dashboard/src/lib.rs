//! The dashboard: the JSON API of the Exotel tutorial and a page a person opens, both read
//! from stored data only — it never calls Exotel while a person waits.
//!
//! Machines send the dashboard token in an `X-Dashboard-Token` (or `Authorization: Bearer`)
//! header. People sign in through a form (`POST /signin`) and get a signed session cookie
//! that expires on the server (`session`, `signin`); a signed-in person can mint a share
//! link that lets one more browser in, as a view, for a day at most.

mod calls;
mod health;
mod page;
mod range;
pub mod session;
mod signin;
mod view;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use dialtone_shared::call_log::cursor::Cursor;
use dialtone_shared::call_log::missing_webhooks::DayComparison;
use dialtone_shared::calls::{open_callbacks, CallsState};
use dialtone_shared::config::{self, ConfigError};
use dialtone_shared::heartbeat::HeartbeatRow;
use dialtone_shared::http::json_response;
use dialtone_shared::secret::Secret;
use dialtone_shared::secrets::{Cached, SecretsManager};
use dialtone_shared::store::{DashboardStore, DynamoStore, StateKey, StoreError, Versioned};
use dialtone_shared::telerivet::{gateway, TelerivetState};
use lambda_http::http::header::{
    HeaderName, HeaderValue, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY,
    X_CONTENT_TYPE_OPTIONS,
};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Error, Request, RequestExt, Response};
use range::{RangeMetrics, RangeSum};
use session::{CredentialError, Grant, SigningKey};
use signin::Caller;
use std::collections::BTreeMap;
use std::future::Future;
use view::{
    callbacks_owed, day_figures, open_alerts, parse_range, Dashboard, Health, RangeError,
    OPEN_ALERT_HORIZON_DAYS,
};

pub use signin::COOKIE_NAME;

/// How long a signed-in browser stays signed in unless `DASHBOARD_SESSION_HOURS` says.
const SESSION_HOURS: i64 = 12;
/// Longer would make a stolen cookie worth more than the sign-in it saves.
const MAX_SESSION_HOURS: i64 = 7 * 24;

/// Where the dashboard token comes from, asked on every request: the signing key is
/// derived from the answer, so a new token (once the source sees it) ends every session
/// and share link without anything else to change.
pub trait TokenSource: Send + Sync {
    fn token(&self) -> impl Future<Output = Result<Secret, ConfigError>> + Send;
}

/// A token fixed for the life of the process (tests, local tools).
impl TokenSource for Secret {
    async fn token(&self) -> Result<Secret, ConfigError> {
        Ok(self.clone())
    }
}

/// The deployed source: Secrets Manager's value, read again every `SECRET_CACHE_SECONDS`,
/// so a rotated token ends every session within that time.
impl TokenSource for Cached<Secret> {
    async fn token(&self) -> Result<Secret, ConfigError> {
        Ok(Secret::clone(&*self.get().await?))
    }
}

#[derive(Debug)]
pub struct Config {
    pub table_name: String,
    pub token: Cached<Secret>,
    pub tz: Tz,
    pub session_lifetime: Duration,
    /// How long an outgoing SMS may wait before it counts as stuck (the SMS watchdog's).
    pub sms_stuck_after: Duration,
}

impl Config {
    /// The environment, and the token from the secret `DASHBOARD_TOKEN_SECRET_ID` names.
    pub async fn load(secrets: &SecretsManager) -> Result<Self, ConfigError> {
        let token = secrets.cached("DASHBOARD_TOKEN_SECRET_ID").await?;
        let hours = config::number_or("DASHBOARD_SESSION_HOURS", SESSION_HOURS)?;
        if !(1..=MAX_SESSION_HOURS).contains(&hours) {
            return Err(ConfigError::Invalid {
                name: "DASHBOARD_SESSION_HOURS",
                reason: format!("{hours} is not between 1 and {MAX_SESSION_HOURS}"),
            });
        }
        Ok(Self {
            table_name: config::required("TABLE_NAME")?,
            token,
            tz: config::account_timezone()?,
            session_lifetime: Duration::hours(hours),
            sms_stuck_after: Duration::seconds(config::number_or(
                "SMS_STUCK_SECONDS",
                SMS_STUCK_SECONDS,
            )?),
        })
    }
}

pub struct Deps<S, T = Secret> {
    pub store: S,
    pub tokens: T,
    pub tz: Tz,
    pub session_lifetime: Duration,
    pub sms_stuck_after: Duration,
}

/// The template's default of `SmsStuckSeconds`.
const SMS_STUCK_SECONDS: i64 = 300;

impl<S> Deps<S, Secret> {
    /// A fixed token and the default session lifetime.
    pub fn with_store(store: S, token: Secret, tz: Tz) -> Self {
        Self {
            store,
            tokens: token,
            tz,
            session_lifetime: Duration::hours(SESSION_HOURS),
            sms_stuck_after: Duration::seconds(SMS_STUCK_SECONDS),
        }
    }
}

impl Deps<DynamoStore, Cached<Secret>> {
    pub fn new(config: Config, dynamodb: aws_sdk_dynamodb::Client) -> Self {
        Self {
            store: DynamoStore::new(dynamodb, config.table_name),
            tokens: config.token,
            tz: config.tz,
            session_lifetime: config.session_lifetime,
            sms_stuck_after: config.sms_stuck_after,
        }
    }
}

/// Why a request got no dashboard; mapped to a status and an answer in
/// `DashboardError::into_response` only.
#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    #[error("a dashboard token is required")]
    Unauthorized,
    #[error("that is not the dashboard token")]
    WrongToken,
    #[error("the share link was refused: {0}")]
    LinkRefused(CredentialError),
    #[error("a shared view cannot share the dashboard further")]
    ViewOnly,
    #[error("refused: the request came from another site")]
    CrossSite,
    #[error("{0}")]
    BadForm(&'static str),
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error(transparent)]
    Range(#[from] RangeError),
    #[error("storage unavailable: {0}")]
    Storage(#[from] StoreError),
    #[error("the dashboard token is unavailable: {0}")]
    TokenUnavailable(ConfigError),
    #[error("no randomness for a nonce: {0}")]
    Random(String),
}

impl DashboardError {
    fn status(&self) -> StatusCode {
        match self {
            Self::Unauthorized | Self::WrongToken | Self::LinkRefused(_) => {
                StatusCode::UNAUTHORIZED
            }
            Self::ViewOnly | Self::CrossSite => StatusCode::FORBIDDEN,
            Self::BadForm(_) | Self::Range(_) => StatusCode::BAD_REQUEST,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Storage(_) | Self::TokenUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Random(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn public_message(&self) -> String {
        match self {
            Self::Storage(_) => "the dashboard's data is unavailable; try again shortly".into(),
            Self::TokenUnavailable(_) | Self::Random(_) => {
                "the dashboard is unavailable; try again shortly".into()
            }
            Self::LinkRefused(_) => "This share link has expired or is not valid. Ask for a new \
                one, or sign in with the dashboard token."
                .into(),
            other => other.to_string(),
        }
    }

    /// The API answers JSON; the page answers a page, and the sign-in form wherever a
    /// person has to sign in.
    fn into_response(self, api: bool) -> Response<Body> {
        match &self {
            Self::Storage(err) => tracing::error!(error = %err, "dashboard read failed"),
            Self::TokenUnavailable(err) => {
                tracing::error!(error = %err, "dashboard token unreadable")
            }
            Self::Random(err) => tracing::error!(error = %err, "no randomness"),
            Self::CrossSite => tracing::warn!("cross-site POST refused"),
            _ => {}
        }
        let status = self.status();
        let message = self.public_message();
        let mut response = if api {
            json_response(status, &serde_json::json!({ "error": message }))
        } else if status == StatusCode::UNAUTHORIZED {
            let notice = match self {
                Self::Unauthorized => None,
                _ => Some(message.as_str()),
            };
            html_response(status, page::sign_in(notice).into_string())
        } else {
            html_response(status, page::error(status, &message).into_string())
        };
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                HeaderName::from_static("www-authenticate"),
                HeaderValue::from_static("Bearer realm=\"dialtone dashboard\""),
            );
        }
        response
    }
}

fn html_response(status: StatusCode, html: String) -> Response<Body> {
    let mut response = Response::new(Body::Text(html));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

pub async fn handler<S: DashboardStore, T: TokenSource>(
    deps: &Deps<S, T>,
    request: Request,
) -> Result<Response<Body>, Error> {
    Ok(answer(deps, request, Utc::now()).await)
}

/// `handler` at a given time: what the tests of expiry call.
pub async fn answer<S: DashboardStore, T: TokenSource>(
    deps: &Deps<S, T>,
    request: Request,
    now: DateTime<Utc>,
) -> Response<Body> {
    let api = request.uri().path().starts_with("/api/");
    let mut response = match route(deps, &request, now).await {
        Ok(response) => response,
        Err(err) => err.into_response(api),
    };
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // same-origin, not no-referrer: with no-referrer a browser sends `Origin: null` on the
    // page's own form posts, which the cross-site check must refuse. Nothing on the page
    // leads elsewhere, so no address (a share link's) leaves the site either way.
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    response
}

/// The routes, and the method each answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Endpoint {
    SignIn,
    SignOut,
    /// Only for a caller with the token or a session.
    Guarded(Guarded),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Guarded {
    Page,
    Snapshot,
    Range,
    Health,
    /// `/api/calls/<provider>/<call id>`.
    Call,
    Share,
}

impl Endpoint {
    fn of(path: &str) -> Option<(Self, Method)> {
        use Guarded::*;
        Some(match path {
            "/" => (Self::Guarded(Page), Method::GET),
            "/api/dashboard" => (Self::Guarded(Snapshot), Method::GET),
            "/api/dashboard/range" => (Self::Guarded(Range), Method::GET),
            "/api/health" => (Self::Guarded(Health), Method::GET),
            "/share" => (Self::Guarded(Share), Method::POST),
            "/signin" => (Self::SignIn, Method::POST),
            "/signout" => (Self::SignOut, Method::POST),
            call if call.starts_with("/api/calls/") => (Self::Guarded(Call), Method::GET),
            _ => return None,
        })
    }
}

async fn route<S: DashboardStore, T: TokenSource>(
    deps: &Deps<S, T>,
    request: &Request,
    now: DateTime<Utc>,
) -> Result<Response<Body>, DashboardError> {
    let (endpoint, method) = Endpoint::of(request.uri().path()).ok_or(DashboardError::NotFound)?;
    if request.method() != method {
        return Err(DashboardError::MethodNotAllowed);
    }
    let query = request.query_string_parameters();
    // Sign-out and the old token link need no token: they work while it is unreadable.
    match endpoint {
        Endpoint::SignOut => return signin::sign_out(request),
        Endpoint::Guarded(Guarded::Page) if query.first("token").is_some() => {
            return Ok(signin::drop_token_from_url())
        }
        _ => {}
    }
    let token = deps
        .tokens
        .token()
        .await
        .map_err(DashboardError::TokenUnavailable)?;
    let key = SigningKey::from_token(&token).map_err(|reason| {
        DashboardError::TokenUnavailable(ConfigError::Invalid {
            name: "DASHBOARD_TOKEN_SECRET_ID",
            reason,
        })
    })?;
    let lifetime = deps.session_lifetime;
    let guarded = match (endpoint, query.first("share")) {
        (Endpoint::SignIn, _) => return signin::sign_in(request, &token, &key, now, lifetime),
        (Endpoint::SignOut, _) => return signin::sign_out(request),
        (Endpoint::Guarded(Guarded::Page), Some(link)) => {
            return signin::open_share_link(link, &key, now, lifetime)
        }
        (Endpoint::Guarded(guarded), _) => guarded,
    };
    let caller = Caller::identify(request, &token, &key, now, lifetime);
    let can_share = match caller {
        Caller::Nobody => return Err(DashboardError::Unauthorized),
        Caller::Machine => true,
        Caller::Browser(session) => session.grant == Grant::Full,
    };
    match guarded {
        Guarded::Snapshot => {
            let view = snapshot(deps, now).await?;
            Ok(json_response(StatusCode::OK, &to_json(&view)))
        }
        Guarded::Health => {
            let mut health = health(deps, now).await?;
            // Only affected lines carry details: the alerts are read only when there are.
            if !health.details.is_empty() {
                let alerts = deps
                    .store
                    .alerts_since(now - Duration::days(OPEN_ALERT_HORIZON_DAYS))
                    .await?;
                health = health.with_line_details(&alerts);
            }
            Ok(json_response(StatusCode::OK, &to_json(&health)))
        }
        Guarded::Call => {
            let key = calls::call_key(request.uri().path()).ok_or(DashboardError::NotFound)?;
            let call = match deps.store.load_state::<CallsState>(&key).await? {
                Some(Versioned {
                    value: CallsState::Call(call),
                    ..
                }) => calls::CallView::from(call.as_ref()),
                _ => return Err(DashboardError::NotFound),
            };
            Ok(json_response(StatusCode::OK, &to_json(&call)))
        }
        Guarded::Range => {
            let view = range(deps, query.first("start"), query.first("end"), now).await?;
            Ok(json_response(StatusCode::OK, &to_json(&view)))
        }
        Guarded::Share if !can_share => Err(DashboardError::ViewOnly),
        Guarded::Share => {
            let minted = signin::mint_share_link(request, &key, now)?;
            Ok(match caller {
                Caller::Machine => json_response(StatusCode::OK, &to_json(&minted)),
                _ => html_response(StatusCode::OK, page::shared(&minted).into_string()),
            })
        }
        Guarded::Page => {
            let view = snapshot(deps, now).await?;
            let controls = page::Controls {
                signed_in: matches!(caller, Caller::Browser(_)),
                can_share,
            };
            Ok(html_response(
                StatusCode::OK,
                page::dashboard(&view, controls).into_string(),
            ))
        }
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or_default()
}

async fn health<S: DashboardStore, T>(
    deps: &Deps<S, T>,
    now: DateTime<Utc>,
) -> Result<Health, DashboardError> {
    let monitor = match deps
        .store
        .load_state::<HeartbeatRow>(&StateKey::HeartbeatMonitor)
        .await?
    {
        Some(row) => match row.value {
            HeartbeatRow::Monitor(m) => Some(m),
            HeartbeatRow::Watchdog(_) => None,
        },
        None => None,
    };
    let watchdog = match deps
        .store
        .load_state::<HeartbeatRow>(&StateKey::HeartbeatWatchdog)
        .await?
    {
        Some(row) => match row.value {
            HeartbeatRow::Watchdog(w) => Some(w),
            HeartbeatRow::Monitor(_) => None,
        },
        None => None,
    };
    Ok(view::health(monitor.as_ref(), watchdog.as_ref(), now))
}

async fn snapshot<S: DashboardStore, T>(
    deps: &Deps<S, T>,
    now: DateTime<Utc>,
) -> Result<Dashboard, DashboardError> {
    let today = now.with_timezone(&deps.tz).date_naive();
    // SMS counters follow the UTC day.
    let sms_day = now.date_naive();
    let counters = deps.store.day_counters(today).await?;
    let sms_counters = if sms_day == today {
        counters.clone()
    } else {
        deps.store.day_counters(sms_day).await?
    };
    let alerts = deps
        .store
        .alerts_since(now - Duration::days(OPEN_ALERT_HORIZON_DAYS))
        .await?;
    let callbacks = open_callbacks(&deps.store).await?;
    let mut figures = day_figures(today, &counters, sms_day, &sms_counters);
    figures.sms.gateways = sms_gateways(deps, now).await?;
    let compared = deps
        .store
        .load_state::<DayComparison>(&StateKey::MissingWebhooks)
        .await?;
    Ok(Dashboard::new(
        health(deps, now).await?.with_line_details(&alerts),
        today,
        deps.tz.name().to_owned(),
        figures,
        callbacks_owed(&callbacks, now),
        open_alerts(&alerts, now),
        now,
    )
    .with_missing_webhooks(compared.as_ref().map(|c| &c.value))
    .with_data_as_of(data_as_of(deps).await?))
}

/// The outgoing SMS waiting past the stuck threshold now, and the phones whose "not
/// sending" alert stands (both from the index the SMS watchdog reads).
async fn sms_gateways<S: DashboardStore, T>(
    deps: &Deps<S, T>,
    now: DateTime<Utc>,
) -> Result<view::SmsGateways, DashboardError> {
    let waiting = deps
        .store
        .indexed_states::<TelerivetState>(gateway::SMS_WAITING)
        .await?;
    let phones = deps
        .store
        .indexed_states::<gateway::PhoneState>(gateway::PHONES_NOT_SENDING)
        .await?;
    Ok(view::sms_gateways(
        &waiting,
        &phones,
        now,
        deps.sms_stuck_after,
    ))
}

async fn range<S: DashboardStore, T>(
    deps: &Deps<S, T>,
    start: Option<&str>,
    end: Option<&str>,
    now: DateTime<Utc>,
) -> Result<RangeMetrics, DashboardError> {
    let today = now.with_timezone(&deps.tz).date_naive();
    let (start, end) = parse_range(start, end, today)?;
    let mut sum = RangeSum::default();
    for day in start.iter_days().take_while(|d| *d <= end) {
        let counters = deps.store.day_counters(day).await?;
        sum.add(&day_figures(day, &counters, day, &BTreeMap::new()));
    }
    Ok(sum.answer((start, end), now, data_as_of(deps).await?))
}

/// The end of the newest call-log range the aggregator read whole, in UTC (its cursor
/// keeps the account's local time); `None` before its first run or without Exotel.
async fn data_as_of<S: DashboardStore, T>(
    deps: &Deps<S, T>,
) -> Result<Option<DateTime<Utc>>, DashboardError> {
    let cursor = deps
        .store
        .load_state::<Cursor>(&StateKey::CallLogCursor)
        .await?;
    Ok(cursor
        .and_then(|c| c.value.read_through)
        .and_then(|local| local.and_local_timezone(deps.tz).earliest())
        .map(|t| t.with_timezone(&Utc)))
}

#[cfg(test)]
#[path = "lib_test.rs"]
mod tests;
