use super::*;

const URL: &str = "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX";

#[test]
fn webhook_url_is_redacted_in_debug() {
    let url = WebhookUrl::parse(URL).unwrap();
    let shown = format!("{url:?}");
    assert_eq!(shown, "WebhookUrl(<redacted>)");
    assert!(!shown.contains("XXXX"));
}

#[test]
fn webhook_url_must_be_https_except_to_loopback() {
    assert!(WebhookUrl::parse("http://hooks.slack.com/services/T/B/X").is_err());
    assert!(WebhookUrl::parse("ftp://hooks.slack.com/x").is_err());
    assert!(WebhookUrl::parse("hooks.slack.com/services/T/B/X").is_err());
    assert!(WebhookUrl::parse("http://127.0.0.1:9999/services/T/B/X").is_ok());
    assert!(WebhookUrl::parse(URL).is_ok());
    let reason = WebhookUrl::parse("http://hooks.slack.com/services/T/B/SECRET").unwrap_err();
    assert!(!reason.contains("SECRET"), "{reason}");
}

#[test]
fn scrub_removes_the_url_and_its_path() {
    let url = WebhookUrl::parse(URL).unwrap();
    let text = format!("failed for {URL} and /services/T000/B000/XXXXXXXXXXXXXXXX");
    assert_eq!(url.scrub(&text), "failed for <redacted> and <redacted>");
}

#[test]
fn retry_after_is_honoured_up_to_the_cap() {
    let cap = Duration::from_secs(10);
    let backoff = Duration::from_millis(500);
    let slow_down = |secs| NotifierError::Unavailable {
        status: 429,
        body: String::new(),
        retry_after: Some(Duration::from_secs(secs)),
    };
    assert_eq!(
        retry_delay(&slow_down(3), backoff, cap),
        Duration::from_secs(3)
    );
    assert_eq!(retry_delay(&slow_down(120), backoff, cap), cap);
    let server_error = NotifierError::Unavailable {
        status: 503,
        body: String::new(),
        retry_after: None,
    };
    assert_eq!(retry_delay(&server_error, backoff, cap), backoff);
    let transport = NotifierError::Transport("connection refused".into());
    assert_eq!(retry_delay(&transport, backoff, cap), backoff);
}

#[test]
fn retry_after_header_is_read_in_seconds_only() {
    let mut headers = HeaderMap::new();
    assert_eq!(retry_after(&headers), None);
    headers.insert(RETRY_AFTER, "7".parse().unwrap());
    assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
    headers.insert(
        RETRY_AFTER,
        "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
    );
    assert_eq!(retry_after(&headers), None);
}

#[test]
fn backoff_allows_one_fewer_retry_than_attempts() {
    use backon::BackoffBuilder;
    let policy = RetryPolicy {
        max_attempts: 4,
        base: Duration::from_millis(100),
        max_delay: Duration::from_secs(8),
        retry_after_cap: Duration::from_secs(10),
    };
    let delays: Vec<Duration> = policy.backoff().build().collect();
    assert_eq!(delays.len(), 3);
    for (delay, nominal) in delays.iter().zip([100u64, 200, 400]) {
        let nominal = Duration::from_millis(nominal);
        assert!(
            *delay >= nominal && *delay <= nominal * 2,
            "{delay:?} vs {nominal:?}"
        );
    }
    let single = RetryPolicy {
        max_attempts: 1,
        ..policy
    };
    assert_eq!(single.backoff().build().count(), 0);
}
