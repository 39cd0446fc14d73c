//! How a browser signs in, out, and shares the dashboard: the HTTP side of `session`.
//!
//! A person types the dashboard token into a form (POST, never in a URL) and gets a signed
//! session cookie; a signed-in person can mint a share link that lets one more browser in,
//! as a view, for a day at most. Machines keep sending the token in a header.

use crate::session::{Grant, SessionCookie, ShareLink, SigningKey, NONCE_BYTES};
use crate::DashboardError;
use chrono::{DateTime, Duration, Utc};
use dialtone_shared::secret::Secret;
use lambda_http::http::header::{
    HeaderValue, AUTHORIZATION, CONTENT_TYPE, COOKIE, HOST, LOCATION, ORIGIN, REFERER, SET_COOKIE,
};
use lambda_http::http::{HeaderMap, StatusCode};
use lambda_http::{Body, Request, Response};

/// `__Host-`: the browser accepts it only with `Secure`, `Path=/` and no `Domain`, so no
/// other host or path can plant or shadow it.
pub const COOKIE_NAME: &str = "__Host-dialtone_session";
/// The cookie of the old token links (a fixed hash of the token): no longer honoured, and
/// removed whenever a browser signs in or out.
const LEGACY_COOKIE: &str = "dialtone_session";
const TOKEN_HEADER: &str = "x-dashboard-token";
/// A sign-in or share form is a few dozen bytes.
const MAX_FORM_BYTES: usize = 4096;
/// The lifetimes a share link may be minted with, in hours; the form offers these.
pub const SHARE_HOURS: [i64; 4] = [1, 4, 8, 24];

/// Who is asking.
#[derive(Debug, PartialEq, Eq)]
pub enum Caller {
    /// The token in a header: a script or monitor.
    Machine,
    Browser(SessionCookie),
    Nobody,
}

impl Caller {
    pub fn identify(
        request: &Request,
        token: &Secret,
        key: &SigningKey,
        now: DateTime<Utc>,
        lifetime: Duration,
    ) -> Self {
        let headers = request.headers();
        let text = |name| {
            headers
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
        };
        let bearer = text(AUTHORIZATION.as_str()).and_then(|v| v.strip_prefix("Bearer "));
        if text(TOKEN_HEADER)
            .into_iter()
            .chain(bearer)
            .any(|t| token.matches(t.trim()))
        {
            return Self::Machine;
        }
        // Several cookies of the name (an old one beside a new one): any valid one will do.
        let mut refused = None;
        for value in cookie_values(headers, COOKIE_NAME) {
            match SessionCookie::parse(key, value, now, lifetime) {
                Ok(session) => return Self::Browser(session),
                Err(reason) => refused = Some(reason),
            }
        }
        if let Some(reason) = refused {
            tracing::info!(reason = %reason, "session cookie refused");
        }
        Self::Nobody
    }
}

fn cookie_values<'a>(headers: &'a HeaderMap, name: &'a str) -> impl Iterator<Item = &'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(move |(n, _)| *n == name)
        .map(|(_, value)| value)
}

/// Refuses a state-changing POST that another site made the browser send. `SameSite=Lax`
/// already keeps the cookie off cross-site POSTs in current browsers; this also covers
/// sign-in and sign-out, which need no cookie, and browsers without SameSite.
pub fn check_same_origin(request: &Request) -> Result<(), DashboardError> {
    let headers = request.headers();
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    // Fetch metadata, sent by every current browser: the most direct answer.
    if let Some(site) = text("sec-fetch-site") {
        return if site == "same-origin" {
            Ok(())
        } else {
            Err(DashboardError::CrossSite)
        };
    }
    // Older browsers send Origin on POST; "null" (an opaque origin) is refused. The page's
    // Referrer-Policy is same-origin, so a same-origin form still names its origin.
    match (text(ORIGIN.as_str()), text(HOST.as_str())) {
        (Some(origin), Some(host)) => {
            let authority = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"));
            if authority.is_some_and(|a| a.eq_ignore_ascii_case(host)) {
                Ok(())
            } else {
                Err(DashboardError::CrossSite)
            }
        }
        (Some(_), None) => Err(DashboardError::CrossSite),
        // No browser: a script, which carries no ambient cookie to abuse.
        (None, _) => Ok(()),
    }
}

/// One field of an `application/x-www-form-urlencoded` body.
pub fn form_field(request: &Request, name: &str) -> Result<Option<String>, DashboardError> {
    let body: &[u8] = match request.body() {
        Body::Empty => &[],
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    };
    if body.is_empty() {
        return Ok(None);
    }
    let is_form = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(DashboardError::BadForm(
            "expected a form (application/x-www-form-urlencoded)",
        ));
    }
    if body.len() > MAX_FORM_BYTES {
        return Err(DashboardError::BadForm("the form is too large"));
    }
    Ok(form_urlencoded::parse(body)
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned()))
}

fn nonce() -> Result<[u8; NONCE_BYTES], DashboardError> {
    let mut nonce = [0; NONCE_BYTES];
    getrandom::fill(&mut nonce).map_err(|e| DashboardError::Random(e.to_string()))?;
    Ok(nonce)
}

/// `Set-Cookie` for a session until `expires_at`.
pub fn session_cookie(value: &str, now: DateTime<Utc>, expires_at: DateTime<Utc>) -> String {
    let max_age = (expires_at - now).num_seconds().max(0);
    // Lax, not Strict: a shared link is opened from a chat or an email, a cross-site
    // navigation whose redirect must still carry the cookie.
    format!("{COOKIE_NAME}={value}; Path=/; Max-Age={max_age}; Secure; HttpOnly; SameSite=Lax")
}

fn cleared(name: &str) -> String {
    format!("{name}=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax")
}

/// A 303 to the page (a relative `./`: the function does not know the prefix the browser
/// sees, such as the emulator's `/lambda-url/dashboard`), setting these cookies.
fn see_page(cookies: &[String]) -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::SEE_OTHER;
    let headers = response.headers_mut();
    headers.insert(LOCATION, HeaderValue::from_static("./"));
    for cookie in cookies {
        if let Ok(value) = HeaderValue::from_str(cookie) {
            headers.append(SET_COOKIE, value);
        }
    }
    response
}

/// `/?token=…`, the old link: the token is in a URL (history, logs, chats) and this never
/// signs anyone in; the browser is sent to the form without it.
pub fn drop_token_from_url() -> Response<Body> {
    tracing::warn!("dashboard token offered in a URL: refused; redirected to the sign-in form");
    see_page(&[])
}

/// POST /signin with the field `token`.
pub fn sign_in(
    request: &Request,
    token: &Secret,
    key: &SigningKey,
    now: DateTime<Utc>,
    lifetime: Duration,
) -> Result<Response<Body>, DashboardError> {
    check_same_origin(request)?;
    let offered = form_field(request, "token")?.unwrap_or_default();
    if !token.matches(offered.trim()) {
        tracing::warn!("sign-in refused: wrong token");
        return Err(DashboardError::WrongToken);
    }
    let expires_at = now + lifetime;
    let value = SessionCookie::issue(key, Grant::Full, expires_at, &nonce()?);
    tracing::info!(grant = "full", expires_at = %expires_at, "signed in");
    Ok(see_page(&[
        session_cookie(&value, now, expires_at),
        cleared(LEGACY_COOKIE),
    ]))
}

/// POST /signout: the cookie is removed. (It stays valid until its expiry if someone
/// copied it; a new token ends every session at once.)
pub fn sign_out(request: &Request) -> Result<Response<Body>, DashboardError> {
    check_same_origin(request)?;
    tracing::info!("signed out");
    Ok(see_page(&[cleared(COOKIE_NAME), cleared(LEGACY_COOKIE)]))
}

/// GET /?share=…: a valid link sets a view session ending no later than the link, and
/// sends the browser on without it in its address.
pub fn open_share_link(
    value: &str,
    key: &SigningKey,
    now: DateTime<Utc>,
    lifetime: Duration,
) -> Result<Response<Body>, DashboardError> {
    let link = ShareLink::parse(key, value, now).map_err(|reason| {
        tracing::info!(reason = %reason, "share link refused");
        DashboardError::LinkRefused(reason)
    })?;
    let (grant, expires_at) = link.session_until(now, lifetime);
    let cookie = SessionCookie::issue(key, grant, expires_at, &nonce()?);
    tracing::info!(grant = "view", expires_at = %expires_at, "signed in by a share link");
    Ok(see_page(&[session_cookie(&cookie, now, expires_at)]))
}

/// A freshly minted share link.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Minted {
    /// Relative to the page, as the page links it.
    pub path: String,
    /// The address to hand out.
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// POST /share (field `hours`, one of `SHARE_HOURS`; a day if absent).
pub fn mint_share_link(
    request: &Request,
    key: &SigningKey,
    now: DateTime<Utc>,
) -> Result<Minted, DashboardError> {
    check_same_origin(request)?;
    let hours = match form_field(request, "hours")? {
        None => 24,
        Some(text) => text
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|h| SHARE_HOURS.contains(h))
            .ok_or(DashboardError::BadForm("hours must be 1, 4, 8 or 24"))?,
    };
    let (link, value) = ShareLink::issue(key, now, now + Duration::hours(hours), &nonce()?);
    tracing::info!(expires_at = %link.expires_at, hours, "share link minted");
    let path = format!("./?share={value}");
    Ok(Minted {
        url: page_url(request.headers())
            .map_or_else(|| path.clone(), |base| format!("{base}?share={value}")),
        path,
        expires_at: link.expires_at,
    })
}

/// The page's address as the browser knows it. The function cannot tell (a custom domain's
/// base path, the emulator's `/lambda-url/dashboard` prefix); the page that posted the
/// form can, and names itself in `Referer` (same-origin only: see the Referrer-Policy).
/// Without one, the host's root, which is where API Gateway serves the page.
fn page_url(headers: &HeaderMap) -> Option<String> {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let host = text(HOST.as_str())?;
    let from_referer = text(REFERER.as_str()).and_then(|referer| {
        let authority = referer
            .strip_prefix("https://")
            .or_else(|| referer.strip_prefix("http://"))?;
        let (_, path) = authority
            .split_once('/')
            .filter(|(a, _)| a.eq_ignore_ascii_case(host))?;
        let path = path.split(['?', '#']).next().unwrap_or_default();
        let dir = path.rsplit_once('/').map_or("", |(dir, _)| dir);
        let scheme_len = referer.len() - authority.len();
        let origin = &referer[..scheme_len + host.len()];
        Some(if dir.is_empty() {
            format!("{origin}/")
        } else {
            format!("{origin}/{dir}/")
        })
    });
    from_referer.or_else(|| {
        let scheme = text("x-forwarded-proto").unwrap_or("https");
        Some(format!("{scheme}://{host}/"))
    })
}
