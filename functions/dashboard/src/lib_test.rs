use super::*;
use dialtone_shared::calls::CallbackState;
use dialtone_shared::store::Versioned;
use serde::de::DeserializeOwned;

const TOKEN: &str = "local-dashboard-token-0123456789";

/// The dashboard's port with nothing stored: what these tests look at is access, routing
/// and the error answers; the figures are tested against the local stack.
struct NothingStored;

impl DashboardStore for NothingStored {
    async fn load_state<T: DeserializeOwned + Send>(
        &self,
        _key: &str,
    ) -> Result<Option<Versioned<T>>, StoreError> {
        Ok(None)
    }
    async fn day_counters(
        &self,
        _day: &str,
    ) -> Result<BTreeMap<String, BTreeMap<String, i64>>, StoreError> {
        Ok(BTreeMap::new())
    }
    async fn alerts_since(
        &self,
        _since: DateTime<Utc>,
    ) -> Result<Vec<dialtone_shared::alert::Alert>, StoreError> {
        Ok(Vec::new())
    }
    async fn open_callbacks(&self) -> Result<Vec<CallbackState>, StoreError> {
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
async fn the_token_link_sets_a_session_cookie_and_drops_the_token_from_the_url() {
    let (status, response) =
        answer(include_str!("../../../events/dashboard-token-link.json")).await;
    assert_eq!(status, 303);
    assert_eq!(response.headers()[LOCATION], "./");
    let cookie = response.headers()[SET_COOKIE].to_str().unwrap();
    assert!(cookie.starts_with("dialtone_session="));
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Secure")
    );
    assert!(
        !cookie.contains(TOKEN),
        "the cookie never carries the token"
    );
    let session = cookie
        .trim_start_matches("dialtone_session=")
        .split(';')
        .next()
        .unwrap();

    let page = include_str!("../../../events/dashboard-page.json").replace("SESSION", session);
    let (status, response) = answer(&page).await;
    assert_eq!(
        status, 503,
        "signed in: the page is read, and the store's failure shows"
    );
    assert!(
        !text(&response).contains("ProvisionedThroughput"),
        "no internal error text"
    );
    let forged = include_str!("../../../events/dashboard-page.json");
    assert_eq!(answer(forged).await.0, 401);
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
    assert_eq!(range["metrics"]["totalCalls"], 0);
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
