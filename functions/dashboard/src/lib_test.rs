use super::*;
use dialtone_shared::store::Versioned;
use lambda_http::http::header::{LOCATION, SET_COOKIE};
use serde::de::DeserializeOwned;

const TOKEN: &str = "local-dashboard-token-0123456789";

/// The dashboard's port with nothing stored: what these tests look at is access, routing
/// and the error answers; the figures are tested against the local stack.
struct NothingStored;

impl DashboardStore for NothingStored {
    async fn load_state<T: DeserializeOwned + Send>(
        &self,
        _key: &StateKey,
    ) -> Result<Option<Versioned<T>>, StoreError> {
        Ok(None)
    }
    async fn day_counters(
        &self,
        _day: chrono::NaiveDate,
    ) -> Result<BTreeMap<dialtone_shared::store::CounterKey, BTreeMap<String, i64>>, StoreError>
    {
        Ok(BTreeMap::new())
    }
    async fn alerts_since(
        &self,
        _since: DateTime<Utc>,
    ) -> Result<Vec<dialtone_shared::alert::Alert>, StoreError> {
        Ok(Vec::new())
    }
    async fn indexed_states<T: DeserializeOwned + Send>(
        &self,
        _partition: &str,
    ) -> Result<Vec<T>, StoreError> {
        Err(StoreError::Request(
            "throttled: ProvisionedThroughputExceeded".into(),
        ))
    }
}

fn deps() -> Deps<NothingStored> {
    Deps::with_store(
        NothingStored,
        Secret::new(TOKEN.into()).unwrap(),
        chrono_tz::Asia::Kolkata,
    )
}

/// A sign-in, share or sign-out envelope: the sign-in event with another path and body.
fn post(path: &str, body: &str) -> serde_json::Value {
    let mut envelope: serde_json::Value =
        serde_json::from_str(include_str!("../../../events/dashboard-signin.json")).unwrap();
    envelope["rawPath"] = path.into();
    envelope["requestContext"]["http"]["path"] = path.into();
    envelope["body"] = body.into();
    envelope
}

fn page_at(query: &str) -> serde_json::Value {
    let mut envelope: serde_json::Value =
        serde_json::from_str(include_str!("../../../events/dashboard-page.json")).unwrap();
    envelope["cookies"] = serde_json::json!([]);
    envelope["rawQueryString"] = query.into();
    let params: serde_json::Map<String, serde_json::Value> =
        form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned().into()))
            .collect();
    envelope["queryStringParameters"] = params.into();
    envelope
}

fn with_cookie(mut envelope: serde_json::Value, value: &str) -> serde_json::Value {
    envelope["cookies"] = serde_json::json!([format!("{COOKIE_NAME}={value}")]);
    envelope
}

fn noon() -> DateTime<Utc> {
    use chrono::TimeZone;
    Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap()
}

async fn at<T: TokenSource>(
    deps: &Deps<NothingStored, T>,
    envelope: &serde_json::Value,
    now: DateTime<Utc>,
) -> Response<Body> {
    super::answer(deps, request(&envelope.to_string()), now).await
}

fn set_cookies(response: &Response<Body>) -> Vec<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// The session cookie's value a response sets.
fn session_set(response: &Response<Body>) -> Option<String> {
    set_cookies(response).iter().find_map(|c| {
        c.strip_prefix(&format!("{COOKIE_NAME}="))
            .and_then(|rest| rest.split(';').next())
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    })
}

/// Signs in through the form at `now`; the session cookie's value.
async fn sign_in<T: TokenSource>(deps: &Deps<NothingStored, T>, now: DateTime<Utc>) -> String {
    let response = at(deps, &post("/signin", &format!("token={TOKEN}")), now).await;
    assert_eq!(response.status(), 303);
    session_set(&response).unwrap()
}

fn request(envelope: &str) -> Request {
    lambda_http::request::from_str(envelope).unwrap()
}

async fn answer(envelope: &str) -> (u16, Response<Body>) {
    let response = handler(&deps(), request(envelope)).await.unwrap();
    (response.status().as_u16(), response)
}

fn text(response: &Response<Body>) -> String {
    match response.body() {
        Body::Text(t) => t.clone(),
        other => panic!("unexpected body {other:?}"),
    }
}

#[tokio::test]
async fn the_old_token_link_sets_nothing_and_drops_the_token_from_the_url() {
    let (status, response) =
        answer(include_str!("../../../events/dashboard-token-link.json")).await;
    assert_eq!(status, 303);
    assert_eq!(response.headers()[LOCATION], "./");
    assert!(
        response.headers().get(SET_COOKIE).is_none(),
        "a token in a URL never signs anyone in"
    );
    // Even a signed-in browser is sent on without it.
    let cookie = sign_in(&deps(), noon()).await;
    let link = with_cookie(
        serde_json::from_str(include_str!("../../../events/dashboard-token-link.json")).unwrap(),
        &cookie,
    );
    let response = at(&deps(), &link, noon()).await;
    assert_eq!(response.status(), 303);
    assert!(response.headers().get(SET_COOKIE).is_none());

    let forged = include_str!("../../../events/dashboard-page.json");
    let (status, response) = answer(forged).await;
    assert_eq!(status, 401);
    assert!(
        text(&response).contains("action=\"signin\""),
        "the page without a session is the sign-in form"
    );
}

#[tokio::test]
async fn without_a_token_nothing_is_shown() {
    let (status, response) = answer(include_str!("../../../events/dashboard-no-token.json")).await;
    assert_eq!(status, 401);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&text(&response)).unwrap(),
        serde_json::json!({"error": "a dashboard token is required"})
    );
    assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    let wrong = include_str!("../../../events/dashboard-api.json")
        .replace(TOKEN, "local-dashboard-token-0123456780");
    assert_eq!(answer(&wrong).await.0, 401);
    let link_on_api = include_str!("../../../events/dashboard-token-link.json")
        .replace("\"/\"", "\"/api/health\"");
    assert_eq!(
        answer(&link_on_api).await.0,
        401,
        "the link signs a browser in; it is no API key"
    );
}

#[tokio::test]
async fn the_api_answers_with_a_header_token() {
    let (status, response) = answer(include_str!("../../../events/dashboard-health.json")).await;
    assert_eq!(status, 200);
    let health: serde_json::Value = serde_json::from_str(&text(&response)).unwrap();
    assert_eq!(health["status"], "UNKNOWN");
    assert_eq!(health["details"], serde_json::json!([]));
    let (status, response) = answer(include_str!("../../../events/dashboard-range.json")).await;
    assert_eq!(status, 200);
    let range: serde_json::Value = serde_json::from_str(&text(&response)).unwrap();
    assert_eq!(range["metrics"]["total"], 0);
    assert_eq!(range["metrics"]["answerRate"], "0.0");
    assert_eq!(range["metrics"]["peakHour"], 0);
    assert_eq!(range["dataAsOf"], serde_json::Value::Null);
    assert_eq!(
        range["metrics"]["hourlyDistribution"]
            .as_array()
            .unwrap()
            .len(),
        24
    );
}

#[tokio::test]
async fn a_reversed_range_is_a_400_that_says_why() {
    let (status, response) = answer(include_str!(
        "../../../events/dashboard-range-reversed.json"
    ))
    .await;
    assert_eq!(status, 400);
    assert!(text(&response).contains("start 2026-11-21 is after end 2026-11-01"));
}

#[tokio::test]
async fn unknown_paths_and_other_methods_are_refused() {
    let unknown = include_str!("../../../events/dashboard-api.json")
        .replace("/api/dashboard", "/api/secrets");
    assert_eq!(answer(&unknown).await.0, 404);
    let post = include_str!("../../../events/dashboard-api.json").replace("\"GET\"", "\"POST\"");
    assert_eq!(answer(&post).await.0, 405);
}

#[tokio::test]
async fn a_call_not_stored_or_of_no_provider_is_a_404_and_needs_the_token() {
    let api = include_str!("../../../events/dashboard-api.json");
    for path in ["/api/calls/exotel-webrtc/c1", "/api/calls/nobody/c1"] {
        let (status, response) = answer(&api.replace("/api/dashboard", path)).await;
        assert_eq!(status, 404, "{path}");
        let body: serde_json::Value = serde_json::from_str(&text(&response)).unwrap();
        assert_eq!(body["error"], "not found");
    }
    let mut anonymous: serde_json::Value =
        serde_json::from_str(&api.replace("/api/dashboard", "/api/calls/voipstudio/1")).unwrap();
    anonymous["headers"]
        .as_object_mut()
        .unwrap()
        .retain(|name, _| !name.eq_ignore_ascii_case("x-dashboard-token"));
    assert_eq!(answer(&anonymous.to_string()).await.0, 401);
}

#[tokio::test]
async fn signing_in_sets_a_host_only_signed_cookie_that_the_server_expires() {
    let deps = deps();
    let response = at(&deps, &post("/signin", &format!("token={TOKEN}")), noon()).await;
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()[LOCATION], "./");
    let value = session_set(&response).unwrap();
    assert!(!value.contains(TOKEN), "the cookie never carries the token");
    assert_eq!(
        set_cookies(&response),
        [
            format!(
                "__Host-dialtone_session={value}; Path=/; Max-Age=43200; Secure; HttpOnly; SameSite=Lax"
            ),
            "dialtone_session=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax".to_owned(),
        ]
    );
    let page = with_cookie(page_at(""), &value);
    assert_eq!(
        at(&deps, &page, noon()).await.status(),
        503,
        "signed in: the page is read, and the store's failure shows"
    );
    let last_second = noon() + Duration::hours(12) - Duration::seconds(1);
    assert_eq!(at(&deps, &page, last_second).await.status(), 503);
    // The browser was told to drop it after 12 h; one that keeps it gains nothing.
    let expired = at(&deps, &page, noon() + Duration::hours(12)).await;
    assert_eq!(expired.status(), 401);
    assert!(text(&expired).contains("action=\"signin\""));
    // A cookie is no API key in a header, either.
    let mut api = page_at("");
    api["rawPath"] = "/api/health".into();
    api["headers"]["x-dashboard-token"] = value.as_str().into();
    assert_eq!(at(&deps, &api, noon()).await.status(), 401);
}

#[tokio::test]
async fn a_wrong_token_gets_the_form_again_and_nothing_set() {
    for body in [
        "token=local-dashboard-token-0123456780".to_owned(),
        "token=".to_owned(),
        String::new(),
        format!("other={TOKEN}"),
    ] {
        let response = at(&deps(), &post("/signin", &body), noon()).await;
        assert_eq!(response.status(), 401, "{body}");
        assert!(set_cookies(&response).is_empty(), "{body}");
        let page = text(&response);
        assert!(page.contains("action=\"signin\"") && page.contains("not the dashboard token"));
        assert!(!page.contains(TOKEN));
    }
    let mut json = post("/signin", &format!("{{\"token\":\"{TOKEN}\"}}"));
    json["headers"]["content-type"] = "application/json".into();
    assert_eq!(at(&deps(), &json, noon()).await.status(), 400);
}

#[tokio::test]
async fn a_tampered_cookie_is_refused() {
    let deps = deps();
    let value = sign_in(&deps, noon()).await;
    let (signed, mac) = value.rsplit_once('.').unwrap();
    let later_expiry = {
        let fields: Vec<&str> = signed.split('.').collect();
        let later = fields[2].parse::<i64>().unwrap() + 86_400;
        format!("{}.{}.{later}.{}.{mac}", fields[0], fields[1], fields[3])
    };
    let view = value.replacen("v1.full.", "v1.view.", 1);
    let flipped = format!("{signed}.{}", mac.chars().rev().collect::<String>());
    let legacy = Secret::new(TOKEN.into())
        .unwrap()
        .derive("dialtone-dashboard-session")
        .expose()
        .to_owned();
    for forged in [later_expiry, view, flipped, legacy, TOKEN.to_owned()] {
        let response = at(&deps, &with_cookie(page_at(""), &forged), noon()).await;
        assert_eq!(response.status(), 401, "{forged}");
    }
    // The old cookie's name with the new value: not the `__Host-` cookie.
    let mut renamed = page_at("");
    renamed["cookies"] = serde_json::json!([format!("dialtone_session={value}")]);
    assert_eq!(at(&deps, &renamed, noon()).await.status(), 401);
}

#[tokio::test]
async fn signing_out_clears_the_cookie() {
    let response = at(&deps(), &post("/signout", ""), noon()).await;
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()[LOCATION], "./");
    assert_eq!(
        set_cookies(&response),
        [
            "__Host-dialtone_session=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax",
            "dialtone_session=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax",
        ]
    );
}

#[tokio::test]
async fn posts_from_another_site_are_refused() {
    let good = post("/signin", &format!("token={TOKEN}"));
    let mut cross = good.clone();
    cross["headers"]["sec-fetch-site"] = "cross-site".into();
    let mut old_browser = good.clone();
    old_browser["headers"]
        .as_object_mut()
        .unwrap()
        .remove("sec-fetch-site");
    old_browser["headers"]["origin"] = "https://evil.example".into();
    let mut opaque = old_browser.clone();
    opaque["headers"]["origin"] = "null".into();
    for envelope in [cross, old_browser, opaque] {
        let response = at(&deps(), &envelope, noon()).await;
        assert_eq!(response.status(), 403);
        assert!(set_cookies(&response).is_empty());
    }
    let mut signout = post("/signout", "");
    signout["headers"]["sec-fetch-site"] = "same-site".into();
    assert_eq!(at(&deps(), &signout, noon()).await.status(), 403);
    // A script: no Origin, no fetch metadata.
    let mut script = good.clone();
    for header in ["sec-fetch-site", "origin"] {
        script["headers"].as_object_mut().unwrap().remove(header);
    }
    assert_eq!(at(&deps(), &script, noon()).await.status(), 303);
}

/// Mints a share link from a signed-in page; its value and the page's answer.
async fn mint(deps: &Deps<NothingStored>, hours: &str) -> (String, String) {
    let cookie = sign_in(deps, noon()).await;
    let mut share = with_cookie(post("/share", &format!("hours={hours}")), &cookie);
    share["headers"]["referer"] =
        "https://abc123.execute-api.ap-south-1.amazonaws.com/prefix/?x=1".into();
    let response = at(deps, &share, noon()).await;
    assert_eq!(response.status(), 200);
    let page = text(&response);
    let url_start = page.find("data-share-url=\"").unwrap() + "data-share-url=\"".len();
    let url = &page[url_start..][..page[url_start..].find('"').unwrap()];
    let value = url
        .strip_prefix("https://abc123.execute-api.ap-south-1.amazonaws.com/prefix/?share=")
        .unwrap_or_else(|| panic!("{url}"))
        .to_owned();
    (value, page)
}

#[tokio::test]
async fn a_share_link_signs_one_browser_in_as_a_view_until_the_link_expires() {
    let deps = deps();
    let (link, page) = mint(&deps, "1").await;
    assert!(page.contains("2026-11-01 13:00 UTC"), "expiry shown");
    let open = at(&deps, &page_at(&format!("share={link}")), noon()).await;
    assert_eq!(open.status(), 303);
    assert_eq!(
        open.headers()[LOCATION],
        "./",
        "the link leaves the address"
    );
    let value = session_set(&open).unwrap();
    assert!(
        set_cookies(&open)[0].contains("; Max-Age=3600; Secure; HttpOnly; SameSite=Lax"),
        "the session ends with the link: {:?}",
        set_cookies(&open)
    );
    let signed_in = with_cookie(page_at(""), &value);
    assert_eq!(at(&deps, &signed_in, noon()).await.status(), 503);
    assert_eq!(
        at(&deps, &signed_in, noon() + Duration::hours(1))
            .await
            .status(),
        401
    );
    // A view cannot mint the next link and so stretch its day.
    let reshare = with_cookie(post("/share", "hours=24"), &value);
    assert_eq!(at(&deps, &reshare, noon()).await.status(), 403);
    // Opened again later in the hour: still a session ending with the link.
    let again = at(
        &deps,
        &page_at(&format!("share={link}")),
        noon() + Duration::minutes(50),
    )
    .await;
    assert!(set_cookies(&again)[0].contains("; Max-Age=600;"));
}

#[tokio::test]
async fn an_expired_or_replayed_share_link_gets_the_sign_in_form() {
    let deps = deps();
    let (link, _) = mint(&deps, "24").await;
    for late in [Duration::hours(24), Duration::days(3)] {
        let response = at(&deps, &page_at(&format!("share={link}")), noon() + late).await;
        assert_eq!(response.status(), 401);
        assert!(set_cookies(&response).is_empty());
        let page = text(&response);
        assert!(page.contains("action=\"signin\"") && page.contains("share link has expired"));
    }
    // A session cookie is not a share link, nor a share link a cookie.
    let cookie = sign_in(&deps, noon()).await;
    let response = at(&deps, &page_at(&format!("share={cookie}")), noon()).await;
    assert_eq!(response.status(), 401);
    let as_cookie = with_cookie(page_at(""), &link);
    assert_eq!(at(&deps, &as_cookie, noon()).await.status(), 401);
    for hours in ["25", "0", "forever"] {
        let share = with_cookie(post("/share", &format!("hours={hours}")), &cookie);
        assert_eq!(at(&deps, &share, noon()).await.status(), 400, "{hours}");
    }
}

/// A token that can change while the function runs, as the secret cache's does.
struct Rotating(std::sync::Mutex<Result<Secret, ()>>);

impl TokenSource for Rotating {
    async fn token(&self) -> Result<Secret, ConfigError> {
        let current = self.0.lock().unwrap().clone();
        current.map_err(|()| ConfigError::SecretUnreadable {
            name: "DASHBOARD_TOKEN_SECRET_ID",
            reason: "ThrottlingException".into(),
        })
    }
}

#[tokio::test]
async fn a_new_token_ends_every_session_and_an_unreadable_one_is_a_503() {
    let tokens = Rotating(std::sync::Mutex::new(
        Ok(Secret::new(TOKEN.into()).unwrap()),
    ));
    let deps = Deps {
        store: NothingStored,
        tokens,
        tz: chrono_tz::Asia::Kolkata,
        session_lifetime: Duration::hours(12),
        sms_stuck_after: Duration::minutes(5),
    };
    let cookie = sign_in(&deps, noon()).await;
    let page = with_cookie(page_at(""), &cookie);
    assert_eq!(at(&deps, &page, noon()).await.status(), 503);
    *deps.tokens.0.lock().unwrap() =
        Ok(Secret::new("local-dashboard-token-rotated".into()).unwrap());
    assert_eq!(at(&deps, &page, noon()).await.status(), 401);
    *deps.tokens.0.lock().unwrap() = Err(());
    let response = at(&deps, &page, noon()).await;
    assert_eq!(response.status(), 503);
    assert!(
        !text(&response).contains("Throttling"),
        "no internal error text"
    );
}
