//! One CloudWatch metric line per webhook request, in the Embedded Metric Format (EMF).
//!
//! Lambda ships stdout to CloudWatch Logs, and CloudWatch extracts metrics from any log line
//! that is a top-level JSON object with an `_aws` directive: no `PutMetricData` call, so no
//! extra latency and nothing that can fail on a request's path. The pipeline builds a
//! [`Metric`]; [`emit`] (the production sink) writes it.

use crate::http::WebhookError;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::io::{self, Write};
use std::time::Duration;

/// The CloudWatch namespace every dialtone metric is filed under.
pub const NAMESPACE: &str = "dialtone";

/// The `Event` of a request answered before its body was parsed.
pub const UNKNOWN_EVENT: &str = "unknown";

/// Event names come from the provider's body (Telerivet's and the call providers' unknown
/// events are kept as sent): capped so that an odd one cannot bloat the line.
const MAX_EVENT_CHARS: usize = 64;

/// Per provider and outcome (refusals, 503s), and per provider alone: CloudWatch does not
/// add up dimension values by itself, so an alarm on "no heartbeat requests at all" needs
/// the provider-only set.
const DIMENSIONS: &[&[&str]] = &[&["Provider", "Outcome"], &["Provider"]];

const METRICS: &[MetricDefinition] = &[
    MetricDefinition {
        name: "Latency",
        unit: "Milliseconds",
    },
    MetricDefinition {
        name: "Requests",
        unit: "Count",
    },
];

/// The parsed event's name in the metric line (its `Event` property).
///
/// Each provider implements it for the event type its receiver parses.
pub trait EventName {
    fn event_name(&self) -> &str;
}

/// What became of one webhook request (the `Outcome` dimension).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// New: its decision was committed.
    Stored,
    /// A retry or a redelivery of an event already stored: acknowledged, nothing written.
    Duplicate,
    /// Carries no authority but is acknowledged, so that the provider stops retrying.
    Ignored,
    /// A wrong URL token or shared secret.
    RejectedAuth,
    MethodNotAllowed,
    UnsupportedMediaType,
    /// Not a readable event: quarantined, answered 400.
    BadRequest,
    TooLarge,
    /// The store failed: answered 503, the provider retries.
    Unavailable,
    /// Concurrent deliveries kept moving the state: answered 503, the provider retries.
    Contention,
    /// Well formed but impossible to store (too large, refused by DynamoDB): answered 200
    /// so that it is not retried for nothing, quarantined and alerted.
    Unstorable,
}

impl From<&WebhookError> for Outcome {
    fn from(error: &WebhookError) -> Self {
        match error {
            WebhookError::UnknownPath | WebhookError::Forbidden => Self::RejectedAuth,
            WebhookError::MethodNotAllowed => Self::MethodNotAllowed,
            WebhookError::UnsupportedMediaType(_) => Self::UnsupportedMediaType,
            WebhookError::InvalidPayload(_) => Self::BadRequest,
            WebhookError::PayloadTooLarge { .. } => Self::TooLarge,
            WebhookError::Storage(_) | WebhookError::SecretUnavailable(_) => Self::Unavailable,
            WebhookError::Contention => Self::Contention,
        }
    }
}

/// One webhook request, counted.
#[derive(Clone, Debug, PartialEq)]
pub struct Metric {
    /// The receiver's source, e.g. `exotel-heartbeat`.
    pub provider: &'static str,
    pub event: String,
    pub outcome: Outcome,
    /// From the start of the handler to its answer.
    pub latency: Duration,
    /// When the request was received.
    pub at: DateTime<Utc>,
}

impl Metric {
    /// `event` is `None` when the request was answered before its body was parsed.
    pub fn new(
        provider: &'static str,
        event: Option<&str>,
        outcome: Outcome,
        latency: Duration,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            provider,
            event: event
                .unwrap_or(UNKNOWN_EVENT)
                .chars()
                .take(MAX_EVENT_CHARS)
                .collect(),
            outcome,
            latency,
            at,
        }
    }

    /// Writes the metric as one EMF line.
    pub fn write_to(&self, out: &mut impl Write) -> io::Result<()> {
        let line = serde_json::to_string(&self.emf()).map_err(io::Error::other)?;
        writeln!(out, "{line}")
    }

    fn emf(&self) -> Emf<'_> {
        Emf {
            aws: Directive {
                timestamp: self.at.timestamp_millis(),
                cloud_watch_metrics: [MetricDirective {
                    namespace: NAMESPACE,
                    dimensions: DIMENSIONS,
                    metrics: METRICS,
                }],
            },
            provider: self.provider,
            event: &self.event,
            outcome: self.outcome,
            // Whole microseconds, so that the milliseconds print without float noise.
            latency: self.latency.as_micros() as f64 / 1000.0,
            requests: 1,
        }
    }
}

/// The production sink: the metric as one line on stdout.
///
/// Not through `tracing`: its JSON formatter nests an event's fields under `fields` and
/// adds its own keys, while EMF must be a top-level JSON object of its own. The line is
/// written with one `writeln!` on the locked stdout so that no other output can split it.
pub fn emit(metric: &Metric) {
    if let Err(e) = metric.write_to(&mut io::stdout().lock()) {
        tracing::warn!(error = %e, "metric line not written");
    }
}

/// The EMF document. The names of the dimensions in [`DIMENSIONS`] and of the metrics in
/// [`METRICS`] must be property names here (the unit tests check it).
#[derive(Serialize)]
struct Emf<'a> {
    #[serde(rename = "_aws")]
    aws: Directive,
    #[serde(rename = "Provider")]
    provider: &'a str,
    #[serde(rename = "Event")]
    event: &'a str,
    #[serde(rename = "Outcome")]
    outcome: Outcome,
    #[serde(rename = "Latency")]
    latency: f64,
    #[serde(rename = "Requests")]
    requests: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Directive {
    /// Milliseconds since the epoch.
    timestamp: i64,
    cloud_watch_metrics: [MetricDirective; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct MetricDirective {
    namespace: &'static str,
    dimensions: &'static [&'static [&'static str]],
    metrics: &'static [MetricDefinition],
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct MetricDefinition {
    name: &'static str,
    unit: &'static str,
}

#[cfg(test)]
#[path = "metrics_test.rs"]
mod tests;
