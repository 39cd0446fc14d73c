use super::*;
use crate::store::StoreError;
use serde_json::{json, Value};

fn sample() -> Metric {
    Metric::new(
        "telerivet",
        Some("incoming_message"),
        Outcome::Stored,
        Duration::from_micros(12_345),
        "2026-11-22T10:02:00.123Z".parse().expect("time"),
    )
}

fn line(metric: &Metric) -> String {
    let mut out = Vec::new();
    metric.write_to(&mut out).expect("written to a Vec");
    String::from_utf8(out).expect("UTF-8")
}

#[test]
fn the_line_is_exactly_the_emf_document() {
    let parsed: Value = serde_json::from_str(&line(&sample())).expect("one JSON object");
    assert_eq!(
        parsed,
        json!({
            "_aws": {
                "Timestamp": 1_795_341_720_123_i64,
                "CloudWatchMetrics": [{
                    "Namespace": "dialtone",
                    "Dimensions": [["Provider", "Outcome"], ["Provider"]],
                    "Metrics": [
                        { "Name": "Latency", "Unit": "Milliseconds" },
                        { "Name": "Requests", "Unit": "Count" },
                    ],
                }],
            },
            "Provider": "telerivet",
            "Event": "incoming_message",
            "Outcome": "stored",
            "Latency": 12.345,
            "Requests": 1,
        })
    );
}

#[test]
fn it_is_one_line_ending_in_a_newline() {
    let text = line(&sample());
    assert!(text.ends_with('\n'), "{text:?}");
    assert_eq!(text.lines().count(), 1, "{text:?}");
    assert!(
        text.starts_with('{'),
        "EMF must be a top-level object: {text:?}"
    );
}

#[test]
fn every_dimension_and_metric_names_a_property_of_the_line() {
    let parsed: Value = serde_json::from_str(&line(&sample())).expect("JSON");
    let directive = &parsed["_aws"]["CloudWatchMetrics"][0];
    let dimensions = directive["Dimensions"].as_array().expect("dimension sets");
    assert!(!dimensions.is_empty());
    for set in dimensions {
        for name in set.as_array().expect("a dimension set") {
            let name = name.as_str().expect("a name");
            // CloudWatch drops a line whose dimension value is missing or not a string.
            assert!(parsed[name].is_string(), "dimension {name} in {parsed}");
        }
    }
    for metric in directive["Metrics"].as_array().expect("metrics") {
        let name = metric["Name"].as_str().expect("a name");
        assert!(parsed[name].is_number(), "metric {name} in {parsed}");
    }
}

#[test]
fn an_event_not_parsed_is_unknown_and_a_long_name_is_capped() {
    let at = "2026-11-22T10:02:00Z".parse().expect("time");
    let refused = Metric::new(
        "voipstudio",
        None,
        Outcome::RejectedAuth,
        Duration::ZERO,
        at,
    );
    assert_eq!(refused.event, "unknown");
    let parsed: Value = serde_json::from_str(&line(&refused)).expect("JSON");
    assert_eq!(parsed["Outcome"], "rejected_auth");
    assert_eq!(parsed["Event"], "unknown");

    let long = "x".repeat(500);
    let capped = Metric::new(
        "telerivet",
        Some(&long),
        Outcome::Stored,
        Duration::ZERO,
        at,
    );
    assert_eq!(capped.event.chars().count(), MAX_EVENT_CHARS);
}

#[test]
fn outcomes_follow_the_webhook_errors() {
    let cases = [
        (WebhookError::UnknownPath, "rejected_auth"),
        (WebhookError::Forbidden, "rejected_auth"),
        (WebhookError::MethodNotAllowed, "method_not_allowed"),
        (
            WebhookError::UnsupportedMediaType("text/plain".into()),
            "unsupported_media_type",
        ),
        (WebhookError::InvalidPayload("no".into()), "bad_request"),
        (WebhookError::PayloadTooLarge { limit: 1 }, "too_large"),
        (
            WebhookError::Storage(StoreError::Request("down".into())),
            "unavailable",
        ),
        (WebhookError::Contention, "contention"),
    ];
    for (error, expected) in cases {
        assert_eq!(
            serde_json::to_value(Outcome::from(&error)).expect("a name"),
            expected,
            "{error:?}"
        );
    }
}
