//! The receivers' 503 alarms read the metric lines the pipeline writes: namespace, metric,
//! dimensions and values exactly as a request answered 503 writes them, for every
//! receiver's source. (A 503 is a successful invocation: Lambda's Errors never see it.)

use chrono::Utc;
use dialtone_shared::calls::receiver::{CallReceiver, ExotelCalls, Voipstudio};
use dialtone_shared::heartbeat::receiver::HeartbeatReceiver;
use dialtone_shared::metrics::{Metric, Outcome};
use dialtone_shared::pipeline::Receiver;
use dialtone_shared::telerivet::receiver::TelerivetReceiver;
use serde_norway::Value;

const TEMPLATE: &str = include_str!("../../template.yaml");

/// The metric line a request of `provider` answered with `outcome` writes.
fn line(provider: &'static str, outcome: Outcome) -> serde_json::Value {
    let metric = Metric::new(
        provider,
        Some("event"),
        outcome,
        std::time::Duration::from_millis(3),
        Utc::now(),
    );
    let mut out = Vec::new();
    metric.write_to(&mut out).expect("written");
    serde_json::from_slice(&out).expect("one JSON line")
}

/// The alarm metrics (`Metrics[*].MetricStat.Metric`) of every alarm, with the alarm's
/// returned expression.
fn alarm_metrics(template: &Value) -> Vec<(String, Value, String)> {
    let mut out = Vec::new();
    for (name, resource) in template["Resources"].as_mapping().expect("Resources") {
        if resource["Type"].as_str() != Some("AWS::CloudWatch::Alarm") {
            continue;
        }
        let metrics = resource["Properties"]["Metrics"]
            .as_sequence()
            .cloned()
            .unwrap_or_default();
        let returned = metrics
            .iter()
            .filter(|m| m["ReturnData"].as_bool() != Some(false))
            .map(|m| m["Expression"].as_str().unwrap_or_default().to_owned())
            .collect::<Vec<_>>()
            .join(" ");
        for m in metrics {
            if !m["MetricStat"].is_null() {
                out.push((
                    name.as_str().unwrap_or_default().to_owned(),
                    m,
                    returned.clone(),
                ));
            }
        }
    }
    out
}

#[test]
fn every_receiver_has_an_alarm_on_the_requests_it_answers_503() {
    let template: Value = serde_norway::from_str(TEMPLATE).expect("template.yaml");
    let alarms = alarm_metrics(&template);
    for provider in [
        HeartbeatReceiver::SOURCE,
        TelerivetReceiver::SOURCE,
        CallReceiver::<Voipstudio>::SOURCE,
        CallReceiver::<ExotelCalls>::SOURCE,
    ] {
        let mut alarm_names = Vec::new();
        for outcome in [Outcome::Unavailable, Outcome::Contention] {
            let written = line(provider, outcome);
            let namespace = written["_aws"]["CloudWatchMetrics"][0]["Namespace"].clone();
            let read = alarms.iter().find(|(_, m, returned)| {
                let metric = &m["MetricStat"]["Metric"];
                let dims: Vec<(&str, &str)> = metric["Dimensions"]
                    .as_sequence()
                    .map(|d| {
                        d.iter()
                            .map(|d| {
                                (
                                    d["Name"].as_str().unwrap_or_default(),
                                    d["Value"].as_str().unwrap_or_default(),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let metric_name = metric["MetricName"].as_str().unwrap_or_default();
                metric["Namespace"].as_str() == namespace.as_str()
                    && written[metric_name] == 1
                    && dims.len() == 2
                    && dims.iter().all(|(k, v)| written[*k] == *v)
                    && returned.contains(m["Id"].as_str().unwrap_or("-"))
            });
            let Some((alarm, _, _)) = read else {
                panic!("no alarm reads {provider}'s requests answered {outcome:?}: {written}");
            };
            alarm_names.push(alarm.clone());
        }
        assert_eq!(
            alarm_names[0], alarm_names[1],
            "{provider}: one alarm sums both outcomes"
        );
    }
}
