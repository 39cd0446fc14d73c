use super::*;
use lambda_runtime::Diagnostic;

const URL: &str = "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX";

#[test]
fn config_defaults_to_four_attempts_and_production_timings() {
    let config = Config::new(URL, None).unwrap();
    assert_eq!(config.retry.max_attempts, 4);
    assert_eq!(config.retry.base, Duration::from_millis(500));
    assert_eq!(config.request_timeout, Duration::from_secs(5));
    assert_eq!(Config::new(URL, Some(" 7 ")).unwrap().retry.max_attempts, 7);
}

#[test]
fn config_names_the_bad_variable_without_echoing_the_secret() {
    let err = Config::new("http://hooks.slack.com/services/T/B/XYZZYPRIVATE", None).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("SLACK_WEBHOOK_SECRET_ID"), "{text}");
    assert!(!text.contains("XYZZYPRIVATE"), "{text}");
    assert!(!format!("{err:?}").contains("XYZZYPRIVATE"));

    for bad in ["0", "11", "four", "-1"] {
        let err = Config::new(URL, Some(bad)).unwrap_err();
        assert!(
            err.to_string().contains("SLACK_MAX_ATTEMPTS"),
            "{bad}: {err}"
        );
    }
}

#[test]
fn missing_webhook_variable_is_named() {
    // Read through the same helper as `Config::load`, with a name surely unset.
    let err = NotifierError::from(config::required("DIALTONE_SLACK_TEST_UNSET").unwrap_err());
    assert_eq!(
        err.to_string(),
        "environment variable DIALTONE_SLACK_TEST_UNSET is not set"
    );
}

#[test]
fn debug_of_config_and_deps_hides_the_webhook() {
    let config = Config::new(URL, None).unwrap();
    assert!(!format!("{config:?}").contains("XXXX"));
    let deps = Deps::new(config).unwrap();
    assert!(!format!("{deps:?}").contains("XXXX"));
}

#[test]
fn diagnostics_classify_errors() {
    let rejected = NotifierError::Rejected {
        status: 404,
        body: "no_service".into(),
    };
    let d = Diagnostic::from(rejected);
    assert_eq!(d.error_type, "SlackRejected");
    assert_eq!(
        d.error_message,
        "Slack rejected the message with HTTP 404 (no_service); check the webhook URL in the secret SLACK_WEBHOOK_SECRET_ID names, and the message payload"
    );
    let gave_up = NotifierError::GaveUp {
        attempts: 4,
        last: Box::new(NotifierError::Unavailable {
            status: 503,
            body: "service_unavailable".into(),
            retry_after: None,
        }),
    };
    let d = Diagnostic::from(gave_up);
    assert_eq!(d.error_type, "SlackUnavailable");
    assert_eq!(
        d.error_message,
        "Slack delivery failed after 4 attempt(s): Slack answered HTTP 503: service_unavailable"
    );
}
