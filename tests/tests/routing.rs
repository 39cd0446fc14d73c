//! Alert routing as deployed: the subscription filter policies of template.yaml, with the
//! parameters a deployer gives, on the local SNS topic; alerts published by the real
//! publisher, and a CloudWatch alarm notification (which carries no attributes).

mod common;

use chrono::Utc;
use dialtone_shared::alert::{Alert, AlertKind, DedupKey, Severity, Source};
use dialtone_shared::publish::{AlertPublisher, SnsPublisher};
use serde_norway::Value;
use std::collections::BTreeSet;

const TEMPLATE: &str = include_str!("../../template.yaml");
const ALL_SEVERITIES: [&str; 3] = ["critical", "warning", "info"];
const ALL_SOURCES: [&str; 4] = ["exotel-heartbeat", "telerivet", "calls", "call-log"];

/// The filter policy at `path` in the template, its `!Ref`s to list parameters given.
fn policy(path: &[&str], parameters: &[(&str, &[&str])]) -> serde_json::Value {
    let template: Value = serde_norway::from_str(TEMPLATE).expect("template.yaml parses");
    let node = path.iter().fold(&template, |node, key| &node[*key]);
    assert!(!node.is_null(), "no filter policy at {path:?}");
    resolve(node, parameters)
}

fn resolve(node: &Value, parameters: &[(&str, &[&str])]) -> serde_json::Value {
    match node {
        Value::Tagged(tagged) if tagged.tag == "Ref" => {
            let name = tagged.value.as_str().expect("!Ref names a parameter");
            let (_, values) = parameters
                .iter()
                .find(|(p, _)| *p == name)
                .unwrap_or_else(|| panic!("the test gives no value for {name}"));
            serde_json::json!(values)
        }
        Value::Mapping(map) => serde_json::Value::Object(
            map.iter()
                .map(|(k, v)| (k.as_str().expect("key").to_owned(), resolve(v, parameters)))
                .collect(),
        ),
        Value::Sequence(items) => items.iter().map(|v| resolve(v, parameters)).collect(),
        other => serde_json::to_value(other).expect("plain YAML value"),
    }
}

fn alert(source: Source, severity: Severity) -> Alert {
    Alert {
        dedup_key: DedupKey::scoped(source, &format!("routing:{}", severity.as_str())),
        source,
        kind: AlertKind::FleetStatus,
        severity,
        status: format!("{}-{}", source.as_str(), severity.as_str()),
        occurred_at: Utc::now(),
        lines: Vec::new(),
        lines_omitted: 0,
        lines_affected: 0,
        outage_seconds: None,
        notes: Vec::new(),
    }
}

/// A queue subscribed to the topic through `policy`; returns its URL.
async fn subscriber(
    stack: &dialtone_local::stack::Stack,
    name: &str,
    policy: &serde_json::Value,
) -> String {
    let url = stack
        .sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let arn = stack
        .sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .and_then(|mut a| a.remove(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
        .unwrap();
    stack
        .sns
        .subscribe()
        .topic_arn(&stack.topic_arn)
        .protocol("sqs")
        .endpoint(arn)
        .attributes("FilterPolicyScope", "MessageAttributes")
        .attributes("FilterPolicy", policy.to_string())
        .send()
        .await
        .expect("SNS takes the template's filter policy");
    url
}

/// The subjects of what reached the queue.
async fn subjects(stack: &dialtone_local::stack::Stack, url: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    loop {
        let out = stack
            .sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        let messages = out.messages.unwrap_or_default();
        if messages.is_empty() {
            return seen;
        }
        for message in messages {
            let envelope: serde_json::Value =
                serde_json::from_str(message.body().unwrap_or_default()).unwrap();
            seen.insert(envelope["Subject"].as_str().unwrap_or_default().to_owned());
        }
    }
}

#[tokio::test]
async fn each_subscriber_gets_its_severities_and_sources_and_every_alarm() {
    let stack = common::stack("routing").await;
    let prefix = stack.topic_arn.rsplit(':').next().unwrap().to_owned();
    // Email for critical only; Slack for everything; a third subscriber for the calls
    // sources only, as the README's example adds one.
    let email = policy(
        &[
            "Resources",
            "AlertEmailSubscription",
            "Properties",
            "FilterPolicy",
        ],
        &[
            ("EmailSeverities", &["critical"]),
            ("EmailSources", &ALL_SOURCES),
        ],
    );
    let slack = policy(
        &[
            "Resources",
            "SlackNotifierFunction",
            "Properties",
            "Events",
            "Alerts",
            "Properties",
            "FilterPolicy",
        ],
        &[
            ("SlackSeverities", &ALL_SEVERITIES),
            ("SlackSources", &ALL_SOURCES),
        ],
    );
    let calls = policy(
        &[
            "Resources",
            "AlertEmailSubscription",
            "Properties",
            "FilterPolicy",
        ],
        &[
            ("EmailSeverities", &ALL_SEVERITIES),
            ("EmailSources", &["calls", "call-log"]),
        ],
    );
    let email_queue = subscriber(&stack, &format!("{prefix}-email"), &email).await;
    let slack_queue = subscriber(&stack, &format!("{prefix}-slack"), &slack).await;
    let calls_queue = subscriber(&stack, &format!("{prefix}-calls"), &calls).await;

    let publisher = SnsPublisher::new(stack.sns.clone(), &stack.topic_arn);
    let alerts = [
        alert(Source::ExotelHeartbeat, Severity::Critical),
        alert(Source::ExotelHeartbeat, Severity::Warning),
        alert(Source::Telerivet, Severity::Warning),
        alert(Source::Calls, Severity::Info),
        alert(Source::CallLog, Severity::Critical),
    ];
    for alert in &alerts {
        publisher.publish(alert).await.expect("published");
    }
    // What CloudWatch publishes for an alarm: a subject, JSON, no message attributes.
    stack
        .sns
        .publish()
        .topic_arn(&stack.topic_arn)
        .subject("ALARM: \"dialtone-exotel-heartbeat-errors\" in Asia Pacific (Mumbai)")
        .message(include_str!("../../events/sns-cloudwatch-alarm.json"))
        .send()
        .await
        .unwrap();

    let subject = |i: usize| dialtone_shared::notice::subject(&alerts[i]);
    assert_eq!(
        (0..alerts.len())
            .map(subject)
            .collect::<BTreeSet<_>>()
            .len(),
        alerts.len(),
        "each alert is told apart by its subject"
    );
    let alarm = "ALARM: \"dialtone-exotel-heartbeat-errors\" in Asia Pacific (Mumbai)".to_owned();
    assert_eq!(
        subjects(&stack, &email_queue).await,
        BTreeSet::from([subject(0), subject(4), alarm.clone()]),
        "email: critical alerts and alarms"
    );
    assert_eq!(
        subjects(&stack, &slack_queue).await,
        (0..alerts.len())
            .map(subject)
            .chain([alarm.clone()])
            .collect::<BTreeSet<_>>(),
        "slack: everything"
    );
    assert_eq!(
        subjects(&stack, &calls_queue).await,
        BTreeSet::from([subject(3), subject(4), alarm]),
        "calls sources only, and alarms"
    );
}
