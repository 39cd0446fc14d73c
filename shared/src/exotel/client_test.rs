use super::*;
use serde_json::json;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn client(server: &MockServer, budget: u32) -> ExotelClient {
    client_with(server, budget, 3)
}

/// A client of the account `acme1` at `server`, with this budget and attempts per request.
pub(crate) fn client_with(server: &MockServer, budget: u32, max_attempts: usize) -> ExotelClient {
    ExotelClient::new(ExotelApi {
        base: server.uri(),
        account_sid: "acme1".into(),
        credentials: crate::secrets::Cached::fixed(ApiCredentials {
            api_key: "key".into(),
            api_token: Secret::new("token-0123456789abcdef".into()).unwrap(),
        }),
        spacing: Duration::from_millis(5),
        budget,
        retry_base: Duration::from_millis(5),
        max_attempts,
    })
    .unwrap()
}

fn page(sids: &[&str], next: Option<&str>) -> serde_json::Value {
    json!({
        "Metadata": {"PageSize": 100, "NextPageUri": next},
        "Calls": sids.iter().map(|s| json!({"Sid": s, "DateCreated": "2026-11-01 10:00:00", "Status": "completed",
            "Direction": "inbound", "Duration": "30", "Price": null})).collect::<Vec<_>>()
    })
}

fn t(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
}

/// Fetches and reads one page of calls: how many records it held.
async fn calls_read(client: &ExotelClient, url: &Url) -> Result<usize, ExotelError> {
    let body = client.calls_page(url).await?;
    Ok(client.read_calls(&body)?.calls.len())
}

#[tokio::test]
async fn pages_are_followed_with_basic_auth_and_the_documented_query() {
    let server = MockServer::start().await;
    let calls = "/v1/Accounts/acme1/Calls.json";
    Mock::given(method("GET"))
        .and(path(calls))
        .and(query_param("PageSize", "100"))
        .and(query_param("SortBy", "DateCreated:asc"))
        .and(query_param(
            "DateCreated",
            "gte:2026-11-01 00:00:00;lte:2026-11-01 23:59:59",
        ))
        // "key:token-0123456789abcdef" in base64
        .and(header(
            "authorization",
            "Basic a2V5OnRva2VuLTAxMjM0NTY3ODlhYmNkZWY=",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(
            &["c1", "c2"],
            Some("/v1/Accounts/acme1/Calls.json?Page=1&After=c2"),
        )))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(calls))
        .and(query_param("After", "c2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(&["c3"], None)))
        .mount(&server)
        .await;
    let client = client(&server, 10);
    let first_body = client
        .calls_page(
            &client
                .calls_url(t("2026-11-01 00:00:00"), t("2026-11-01 23:59:59"))
                .unwrap(),
        )
        .await
        .unwrap();
    let first = client.read_calls(&first_body).unwrap();
    assert_eq!(first.calls.len(), 2);
    let second_body = client
        .calls_page(first.next.as_ref().unwrap())
        .await
        .unwrap();
    let second = client.read_calls(&second_body).unwrap();
    assert_eq!(second.calls[0].as_ref().unwrap().sid, "c3");
    assert!(second.next.is_none());
    assert_eq!(client.requests_made(), 2);
}

#[tokio::test]
async fn a_next_page_elsewhere_is_refused_and_nothing_is_sent() {
    let server = MockServer::start().await;
    let client = client(&server, 10);
    let other_port = format!(
        "http://127.0.0.1:{}/v1/Accounts/acme1/Calls.json",
        server.address().port() + 1
    );
    let https = server.uri().replace("http://", "https://") + "/v1/Accounts/acme1/Calls.json";
    let with_user =
        server.uri().replace("http://", "http://user:pw@") + "/v1/Accounts/acme1/Calls.json";
    for hostile in [
        "https://evil.example/v1/Accounts/acme1/Calls.json",
        "//evil.example/v1/Accounts/acme1/Calls.json",
        other_port.as_str(),
        https.as_str(),
        with_user.as_str(),
        "/v1/Accounts/someone-else/Calls.json",
        "/v2/accounts/acme1/incoming-phone-numbers",
    ] {
        assert!(
            matches!(client.follow(hostile), Err(ExotelError::ForeignPage { .. })),
            "{hostile}"
        );
    }
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(
            &["c1"],
            Some("https://evil.example/v1/Accounts/acme1/Calls.json?Page=1"),
        )))
        .mount(&server)
        .await;
    let url = client
        .calls_url(t("2026-11-01 00:00:00"), t("2026-11-01 23:59:59"))
        .unwrap();
    assert!(matches!(
        calls_read(&client, &url).await,
        Err(ExotelError::ForeignPage { .. })
    ));
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "only the first page was asked for"
    );
}

#[tokio::test]
async fn throttling_and_server_errors_are_retried_then_given_up() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(&["c1"], None)))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let client = client(&server, 10);
    let url = client
        .calls_url(t("2026-11-01 00:00:00"), t("2026-11-01 23:59:59"))
        .unwrap();
    assert_eq!(calls_read(&client, &url).await.unwrap(), 1, "429 then 200");
    assert!(matches!(
        calls_read(&client, &url).await,
        Err(ExotelError::Status { status: 503 })
    ));
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        2 + 3,
        "three attempts at the 503"
    );
}

#[tokio::test]
async fn the_request_budget_is_never_exceeded() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let client = client(&server, 2);
    let url = client
        .calls_url(t("2026-11-01 00:00:00"), t("2026-11-01 23:59:59"))
        .unwrap();
    assert!(matches!(
        calls_read(&client, &url).await,
        Err(ExotelError::BudgetSpent(2))
    ));
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
    client.begin_run();
    assert!(matches!(
        calls_read(&client, &url).await,
        Err(ExotelError::BudgetSpent(2))
    ));
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        4,
        "the next run has its budget again (a warm Lambda keeps the client)"
    );
}

fn exophone_block(sid: &str, incoming: &str) -> serde_json::Value {
    json!({"code": 200, "status": "success", "error_data": null, "data": {
    "sid": sid, "phone_number": format!("+91{sid}"),
    "connectivity": {
        "incoming_call": {"status": incoming, "last_check_time": "2026-11-20T10:00:00Z", "alternate_exophone": null},
        "outgoing_call": {"status": "active", "last_check_time": "2026-11-20T10:00:00Z", "alternate_exophone": null}
    }}})
}

#[tokio::test]
async fn the_exophone_list_is_paged_while_pages_are_full() {
    let server = MockServer::start().await;
    let list = "/v2/accounts/acme1/incoming-phone-numbers";
    let full: Vec<_> = (0..100)
        .map(|i| exophone_block(&format!("80307{i:05}"), "active"))
        .collect();
    Mock::given(method("GET"))
        .and(path(list))
        .and(query_param("page", "0"))
        .and(query_param("page_size", "100"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"http_code": 200, "metadata": {"page_size": 100, "page": 0}, "response": full}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(list))
        .and(query_param("page", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "http_code": 200, "metadata": {"page_size": 100, "page": 1},
            "response": [exophone_block("7930061010", "major_outage")]})))
        .mount(&server)
        .await;
    let client = client(&server, 10);
    let first = client
        .exophones_page(&client.exophones_url().unwrap())
        .await
        .unwrap();
    assert_eq!(first.lines.len(), 100);
    let second = client
        .exophones_page(first.next.as_ref().unwrap())
        .await
        .unwrap();
    assert_eq!(second.lines[0].sid.as_str(), "7930061010");
    assert!(second.next.is_none(), "a short page is the last");
}

#[tokio::test]
async fn one_exophone_is_asked_for_by_sid_and_an_unknown_one_is_none() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/accounts/acme1/incoming-phone-numbers/7930061010"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"http_code": 200, "response": [exophone_block("7930061010", "major_outage")]}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let client = client(&server, 10);
    let sid = |s: &str| crate::exophone::ExoPhoneSid::parse(s).unwrap();
    let line = client.exophone(&sid("7930061010")).await.unwrap().unwrap();
    assert_eq!(
        line.health(crate::exophone::Direction::Incoming),
        super::super::details::LineHealth::Affected
    );
    assert!(client.exophone(&sid("0000000000")).await.unwrap().is_none());
}

#[tokio::test]
async fn an_exophone_next_page_elsewhere_is_refused() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "metadata": {"page": 0, "next_page_uri": "https://evil.example/v2/accounts/acme1/incoming-phone-numbers?page=1"},
            "response": [exophone_block("7930061010", "active")]})))
        .mount(&server)
        .await;
    let client = client(&server, 10);
    let url = client.exophones_url().unwrap();
    assert!(matches!(
        client.exophones_page(&url).await,
        Err(ExotelError::ForeignPage { .. })
    ));
    assert!(
        matches!(
            client.follow("/v2/accounts/acme1/incoming-phone-numbers?page=1"),
            Err(ExotelError::ForeignPage { .. })
        ),
        "a calls cursor never leads to the ExoPhone list"
    );
}

#[test]
fn credentials_that_are_not_the_expected_json_are_refused_without_quoting_them() {
    let secret = |text: &str| Secret::new(text.into()).unwrap();
    let parsed = ApiCredentials::parse(secret(
        r#"{"api_key":"key-1","api_token":"token-0123456789abcdef"}"#,
    ))
    .unwrap();
    assert_eq!(parsed.api_key, "key-1");
    for bad in [
        r#"{"api_key":"key-1","api_token":9876543210123456}"#,
        "not-json-SECRET-VALUE-0123",
    ] {
        let text = ApiCredentials::parse(secret(bad)).unwrap_err().to_string();
        assert!(text.contains("not the expected JSON"), "{text}");
        assert!(!text.contains("9876543210123456"), "{text}");
        assert!(!text.contains("SECRET-VALUE"), "{text}");
    }
}
