//! The dashboard (HTTP API, GET): the JSON API of the Exotel tutorial and a page a person
//! opens, both read from stored data only — it never calls Exotel while a person waits.
//!
//! Access takes the dashboard token: in an `X-Dashboard-Token` (or `Authorization: Bearer`)
//! header, or in a session cookie that a one-time `/?token=` link sets.

mod page;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use dialtone_shared::config::{self, ConfigError};
use dialtone_shared::dashboard::{
    self, callbacks_owed, day_figures, open_alerts, parse_range, sum_metrics, Dashboard, Health,
    RangeError, RangeMetrics, TutorialMetrics, OPEN_ALERT_HORIZON_DAYS,
};
use dialtone_shared::exotel::metrics::Metrics;
use dialtone_shared::heartbeat::{HeartbeatRow, MONITOR_KEY, WATCHDOG_KEY};
use dialtone_shared::http::json_response;
use dialtone_shared::secret::Secret;
use dialtone_shared::secrets::SecretsManager;
use dialtone_shared::store::{DashboardStore, DynamoStore, StoreError};
use lambda_http::http::header::{
    HeaderName, HeaderValue, AUTHORIZATION, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE,
    COOKIE, LOCATION, REFERRER_POLICY, SET_COOKIE, X_CONTENT_TYPE_OPTIONS,
};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Error, Request, RequestExt, Response};
use std::collections::BTreeMap;

const SESSION_COOKIE: &str = "dialtone_session";
/// How long the cookie set by a token link lasts.
const SESSION_DAYS: i64 = 30;
const TOKEN_HEADER: &str = "x-dashboard-token";

#[derive(Debug)]
pub struct Config {
    pub table_name: String,
    pub token: Secret,
    pub tz: Tz,
}

impl Config {
    /// The environment, and the token from the secret `DASHBOARD_TOKEN_SECRET_ID` names.
    pub async fn load(secrets: &SecretsManager) -> Result<Self, ConfigError> {
        let token = secrets.current("DASHBOARD_TOKEN_SECRET_ID").await?;
        Ok(Self {
            table_name: config::required("TABLE_NAME")?,
            token,
            tz: config::account_timezone()?,
        })
    }
}

pub struct Deps<S> {
    pub store: S,
    pub token: Secret,
    /// What the session cookie holds: derived from the token, so the cookie never carries
    /// the token itself, and changing the token ends every session.
    pub session: Secret,
    pub tz: Tz,
}

impl<S> Deps<S> {
    pub fn with_store(store: S, token: Secret, tz: Tz) -> Self {
        Self {
            store,
            session: token.derive("dialtone-dashboard-session"),
            token,
            tz,
        }
    }
}

impl Deps<DynamoStore> {
    pub fn new(config: Config, dynamodb: aws_sdk_dynamodb::Client) -> Self {
        Self::with_store(
            DynamoStore::new(dynamodb, config.table_name),
            config.token,
            config.tz,
        )
    }
}

/// Why a request got no dashboard; mapped to a status and a public message in
/// `DashboardError::into_response` only.
#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    #[error("a dashboard token is required")]
    Unauthorized,
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error(transparent)]
    Range(#[from] RangeError),
    #[error("storage unavailable: {0}")]
    Storage(#[from] StoreError),
}

impl DashboardError {
    fn status(&self) -> StatusCode {
        match self {
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Range(_) => StatusCode::BAD_REQUEST,
            Self::Storage(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn public_message(&self) -> String {
        match self {
            Self::Storage(_) => "the dashboard's data is unavailable; try again shortly".into(),
            other => other.to_string(),
        }
    }

    /// The API answers JSON; the page answers a page.
    fn into_response(self, api: bool) -> Response<Body> {
        if let Self::Storage(err) = &self {
            tracing::error!(error = %err, "dashboard read failed");
        }
        let status = self.status();
        let message = self.public_message();
        let mut response = if api {
            json_response(status, &serde_json::json!({ "error": message }))
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

/// How a request proves it may see the dashboard.
#[derive(Debug, PartialEq, Eq)]
enum Access {
    /// A token header or the session cookie.
    Granted,
    /// The one-time link: the page sets the cookie and sends the browser on without it.
    TokenLink,
    Denied,
}

fn access<S>(deps: &Deps<S>, request: &Request) -> Access {
    let header = |name| {
        request
            .headers()
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let bearer = header(AUTHORIZATION).and_then(|v| v.strip_prefix("Bearer "));
    if header(HeaderName::from_static(TOKEN_HEADER))
        .into_iter()
        .chain(bearer)
        .any(|t| deps.token.matches(t.trim()))
    {
        return Access::Granted;
    }
    let cookie = request
        .headers()
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE);
    if cookie.is_some_and(|(_, value)| deps.session.matches(value)) {
        return Access::Granted;
    }
    let link = request
        .query_string_parameters_ref()
        .and_then(|q| q.first("token"));
    if link.is_some_and(|t| deps.token.matches(t)) {
        return Access::TokenLink;
    }
    Access::Denied
}

/// Sets the session cookie and sends the browser to the page without the token in its URL.
fn token_link<S>(deps: &Deps<S>, request: &Request) -> Response<Body> {
    let https = request
        .headers()
        .get("x-forwarded-proto")
        .is_some_and(|p| p == "https");
    // Lax, not Strict: the link is usually opened from an email or chat, a cross-site
    // navigation whose redirect must still carry the cookie.
    let cookie = format!(
        "{SESSION_COOKIE}={}; Path=/; Max-Age={}; HttpOnly; SameSite=Lax{}",
        deps.session.expose(),
        SESSION_DAYS * 86_400,
        if https { "; Secure" } else { "" }
    );
    let mut response = html_response(StatusCode::SEE_OTHER, String::new());
    let headers = response.headers_mut();
    headers.insert(LOCATION, HeaderValue::from_static("./"));
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        headers.insert(SET_COOKIE, value);
    }
    response
}

pub async fn handler<S: DashboardStore>(
    deps: &Deps<S>,
    request: Request,
) -> Result<Response<Body>, Error> {
    let api = request.uri().path().starts_with("/api/");
    let mut response = match route(deps, &request, Utc::now()).await {
        Ok(response) => response,
        Err(err) => err.into_response(api),
    };
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'",
        ),
    );
    Ok(response)
}

async fn route<S: DashboardStore>(
    deps: &Deps<S>,
    request: &Request,
    now: DateTime<Utc>,
) -> Result<Response<Body>, DashboardError> {
    let path = request.uri().path();
    let known = matches!(
        path,
        "/" | "/api/dashboard" | "/api/dashboard/range" | "/api/health"
    );
    if !known {
        return Err(DashboardError::NotFound);
    }
    if request.method() != Method::GET {
        return Err(DashboardError::MethodNotAllowed);
    }
    match (access(deps, request), path) {
        (Access::Denied, _)
        | (Access::TokenLink, "/api/dashboard" | "/api/dashboard/range" | "/api/health") => {
            Err(DashboardError::Unauthorized)
        }
        (Access::TokenLink, _) => Ok(token_link(deps, request)),
        (Access::Granted, "/api/dashboard") => {
            let view = snapshot(deps, now).await?;
            Ok(json_response(StatusCode::OK, &to_json(&view)))
        }
        (Access::Granted, "/api/health") => {
            let health = health(deps, now).await?;
            Ok(json_response(StatusCode::OK, &to_json(&health)))
        }
        (Access::Granted, "/api/dashboard/range") => {
            let query = request.query_string_parameters();
            let view = range(deps, query.first("start"), query.first("end"), now).await?;
            Ok(json_response(StatusCode::OK, &to_json(&view)))
        }
        (Access::Granted, _) => {
            let view = snapshot(deps, now).await?;
            Ok(html_response(
                StatusCode::OK,
                page::dashboard(&view).into_string(),
            ))
        }
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or_default()
}

async fn health<S: DashboardStore>(
    deps: &Deps<S>,
    now: DateTime<Utc>,
) -> Result<Health, DashboardError> {
    let monitor = match deps.store.load_state::<HeartbeatRow>(MONITOR_KEY).await? {
        Some(row) => match row.value {
            HeartbeatRow::Monitor(m) => Some(m),
            HeartbeatRow::Watchdog(_) => None,
        },
        None => None,
    };
    let watchdog = match deps.store.load_state::<HeartbeatRow>(WATCHDOG_KEY).await? {
        Some(row) => match row.value {
            HeartbeatRow::Watchdog(w) => Some(w),
            HeartbeatRow::Monitor(_) => None,
        },
        None => None,
    };
    Ok(dashboard::health(monitor.as_ref(), watchdog.as_ref(), now))
}

async fn snapshot<S: DashboardStore>(
    deps: &Deps<S>,
    now: DateTime<Utc>,
) -> Result<Dashboard, DashboardError> {
    let today = now.with_timezone(&deps.tz).date_naive();
    // SMS counters follow the UTC day.
    let sms_day = now.date_naive();
    let counters = deps.store.day_counters(&today.to_string()).await?;
    let sms_counters = if sms_day == today {
        counters.clone()
    } else {
        deps.store.day_counters(&sms_day.to_string()).await?
    };
    let alerts = deps
        .store
        .alerts_since(now - Duration::days(OPEN_ALERT_HORIZON_DAYS))
        .await?;
    let callbacks = deps.store.open_callbacks().await?;
    Ok(Dashboard::new(
        health(deps, now).await?,
        today,
        deps.tz.name().to_owned(),
        day_figures(today, &counters, sms_day, &sms_counters),
        callbacks_owed(&callbacks, now),
        open_alerts(&alerts, now),
        now,
    ))
}

async fn range<S: DashboardStore>(
    deps: &Deps<S>,
    start: Option<&str>,
    end: Option<&str>,
    now: DateTime<Utc>,
) -> Result<RangeMetrics, DashboardError> {
    let today = now.with_timezone(&deps.tz).date_naive();
    let (start, end) = parse_range(start, end, today)?;
    let mut all = Metrics::default();
    let mut by_direction: BTreeMap<String, Metrics> = BTreeMap::new();
    for day in start.iter_days().take_while(|d| *d <= end) {
        let counters = deps.store.day_counters(&day.to_string()).await?;
        let figures = day_figures(day, &counters, day, &BTreeMap::new());
        sum_metrics(&mut all, &figures.all);
        for (direction, metrics) in &figures.by_direction {
            sum_metrics(by_direction.entry(direction.clone()).or_default(), metrics);
        }
    }
    Ok(RangeMetrics {
        start,
        end,
        metrics: TutorialMetrics::from(&all),
        by_direction: by_direction
            .iter()
            .map(|(k, m)| (k.clone(), TutorialMetrics::from(m)))
            .collect(),
        generated_at: now,
    })
}

#[cfg(test)]
#[path = "lib_test.rs"]
mod tests;
