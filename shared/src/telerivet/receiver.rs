//! The Telerivet Webhook API receiver: `POST /telerivet/webhook`, URL-encoded.

use super::alerts::{self, ERROR_FIELD_PREFIX};
use super::{
    decide, failure_window_start, form_field, redact_secret, AutoReplies, EventKind,
    TelerivetEvent, TelerivetState, FAILED_STATUSES,
};
use crate::alert::Source;
use crate::config::{self, ConfigError};
use crate::http::WebhookError;
use crate::pipeline::{
    history_with_fields, Deps, Ratio, Receiver, Rejection, Threshold, ThresholdContext, Verdict,
    Verification,
};
use crate::secrets::{Cached, Rotating, SecretsManager};
use crate::store::{CounterBump, CounterKey, DynamoStore, StateKey};
use chrono::{DateTime, Duration, Utc};
use lambda_http::http::header::CONTENT_TYPE;
use lambda_http::Request;
use serde_json::json;

/// Daily SMS figures are kept this long (the dashboard's horizon).
const DAILY_COUNTER_DAYS: i64 = 400;
/// Window counters only matter while their window is open (a sends row, while its
/// messages may still fail: delivery reports come within a day or two).
const WINDOW_COUNTER_DAYS: i64 = 2;
/// The field of a sends row counting its messages that failed.
const SENDS_FAILED: &str = "failed";

/// When a burst of failures or of bad secrets becomes one alert.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Burst {
    pub at_least: i64,
    pub window: Duration,
}

/// When failures are too large a share of a window's sends: at least `at_least` of them,
/// and more than `above_percent` of the messages first heard of in the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FailureRatio {
    pub at_least: i64,
    pub above_percent: i64,
}

impl FailureRatio {
    /// `SMS_FAILURE_RATIO_MIN` (default 5; 0 turns the ratio off) and
    /// `SMS_FAILURE_RATIO_PERCENT` (default 20, 1 to 99).
    pub fn from_env() -> Result<Option<Self>, ConfigError> {
        let at_least = whole("SMS_FAILURE_RATIO_MIN", 5, 0..=i64::MAX)?;
        let above_percent = whole("SMS_FAILURE_RATIO_PERCENT", 20, 1..=99)?;
        Ok((at_least > 0).then_some(Self {
            at_least,
            above_percent,
        }))
    }
}

fn whole(
    name: &'static str,
    default: i64,
    range: std::ops::RangeInclusive<i64>,
) -> Result<i64, ConfigError> {
    match config::optional(name) {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or(ConfigError::Invalid {
                name,
                reason: format!(
                    "expected a whole number from {} to {}",
                    range.start(),
                    range.end()
                ),
            }),
    }
}

/// Settings, read once at cold start.
#[derive(Debug)]
pub struct Config {
    pub table_name: String,
    /// The webhook secret, and the one it replaces while a rotation is under way.
    pub secrets: Cached<Rotating>,
    pub auto_replies: AutoReplies,
    pub sms_failures: Burst,
    pub sms_failure_ratio: Option<FailureRatio>,
    pub auth_failures: Burst,
}

fn burst(
    count: &'static str,
    default_count: i64,
    window: &'static str,
    default_window: u64,
) -> Result<Burst, ConfigError> {
    let at_least = whole(count, default_count, 1..=i64::MAX)?;
    let seconds = config::seconds_or(window, std::time::Duration::from_secs(default_window))?;
    let window_duration = Duration::from_std(seconds)
        .ok()
        .filter(|w| w.num_seconds() >= 60)
        .ok_or(ConfigError::Invalid {
            name: window,
            reason: "expected at least 60 seconds".into(),
        })?;
    Ok(Burst {
        at_least,
        window: window_duration,
    })
}

impl Config {
    /// The environment, and the webhook secret from the secret `TELERIVET_WEBHOOK_SECRET_ID`
    /// names: its previous value too for `TELERIVET_PREVIOUS_SECRET_SECONDS` (default a day,
    /// as long as Telerivet retries) after a rotation; read again every few minutes.
    pub async fn load(secrets: &SecretsManager) -> Result<Self, ConfigError> {
        let overlap = config::seconds_or(
            "TELERIVET_PREVIOUS_SECRET_SECONDS",
            std::time::Duration::from_secs(24 * 3600),
        )?;
        let secrets = secrets
            .cached_rotating("TELERIVET_WEBHOOK_SECRET_ID", overlap)
            .await?;
        let auto_replies = match config::optional("TELERIVET_AUTO_REPLIES") {
            None => AutoReplies::default(),
            Some(json) => AutoReplies::from_json(&json).map_err(|reason| ConfigError::Invalid {
                name: "TELERIVET_AUTO_REPLIES",
                reason,
            })?,
        };
        Ok(Self {
            table_name: config::required("TABLE_NAME")?,
            secrets,
            auto_replies,
            sms_failures: burst(
                "SMS_FAILURE_THRESHOLD",
                10,
                "SMS_FAILURE_WINDOW_SECONDS",
                900,
            )?,
            sms_failure_ratio: FailureRatio::from_env()?,
            auth_failures: burst(
                "AUTH_FAILURE_THRESHOLD",
                5,
                "AUTH_FAILURE_WINDOW_SECONDS",
                3600,
            )?,
        })
    }
}

/// Telerivet's part of the shared pipeline.
#[derive(Debug)]
pub struct TelerivetReceiver {
    pub secrets: Cached<Rotating>,
    pub auto_replies: AutoReplies,
    pub sms_failures: Burst,
    pub sms_failure_ratio: Option<FailureRatio>,
    pub auth_failures: Burst,
}

impl TelerivetReceiver {
    fn auth_failure(&self, field: &str, now: DateTime<Utc>) -> Threshold {
        let window_start = failure_window_start(now, self.auth_failures.window);
        Threshold {
            bump: CounterBump::new(
                CounterKey::AuthFailures {
                    window: window_start,
                },
                WINDOW_COUNTER_DAYS,
            )
            .add(field, 1),
            at_least: self.auth_failures.at_least,
            ratio: None,
            alert: alerts::webhook_misconfigured,
            context: ThresholdContext {
                scope: "webhook".into(),
                window_start,
                window_minutes: self.auth_failures.window.num_minutes(),
                of: None,
            },
        }
    }

    fn failure_window(&self, project: &str, now: DateTime<Utc>) -> (CounterKey, ThresholdContext) {
        let window_start = failure_window_start(now, self.sms_failures.window);
        (
            CounterKey::SmsFailures {
                project: project.to_owned(),
                window: window_start,
            },
            ThresholdContext {
                scope: project.to_owned(),
                window_start,
                window_minutes: self.sms_failures.window.num_minutes(),
                of: None,
            },
        )
    }

    /// The sends counter of the window a message was queued in: every outgoing message is
    /// counted once in its total, and again in its `failed` field when it fails, however
    /// late, so a ratio judges failures against the very sends they are among. Sharded
    /// like every event counter, so a broadcast's statuses do not all conflict on one item.
    fn sends_window(&self, project: &str, queued_at: DateTime<Utc>) -> CounterKey {
        CounterKey::SmsSends {
            project: project.to_owned(),
            window: failure_window_start(queued_at, self.sms_failures.window),
        }
    }
}

fn project(event: &TelerivetEvent) -> &str {
    event.project_id().unwrap_or("unknown-project")
}

/// The day's field counting one direction's messages of one type: `incoming:sms`,
/// `outgoing:call`, … (`unknown` when the event does not say).
fn type_field(direction: &str, message_type: Option<&str>) -> String {
    // A field per type Telerivet names; anything else one `other`, so a body cannot make
    // the day's row grow without end.
    let message_type = match message_type.map(str::trim) {
        None | Some("") => "unknown".to_owned(),
        Some(t) if t.len() <= 16 && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') => {
            t.to_ascii_lowercase()
        }
        Some(_) => "other".to_owned(),
    };
    format!("{direction}:{message_type}")
}

/// When the message's failure was first received (its state keeps it), or `now` for a
/// message whose state does not say (stored before it was kept).
fn failed_at(states: &[Option<TelerivetState>], now: DateTime<Utc>) -> DateTime<Utc> {
    match states.first() {
        Some(Some(TelerivetState::Message(m))) => m.failed_at.unwrap_or(now),
        _ => now,
    }
}

/// When the message was queued (its state keeps it), or `now` for one stored before.
fn queued_at(states: &[Option<TelerivetState>], now: DateTime<Utc>) -> DateTime<Utc> {
    match states.first() {
        Some(Some(TelerivetState::Message(m))) => m.queued_at.unwrap_or(now),
        _ => now,
    }
}

impl Receiver for TelerivetReceiver {
    type Event = TelerivetEvent;
    type State = TelerivetState;
    const SOURCE: &'static str = "telerivet";
    const ALERT_SOURCE: Source = Source::Telerivet;

    async fn verify(&self, request: &Request, now: DateTime<Utc>) -> Verification {
        let secrets = match self.secrets.get().await {
            Ok(secrets) => secrets,
            Err(e) => {
                return Verification::Refused {
                    error: WebhookError::SecretUnavailable(e),
                    counted: None,
                }
            }
        };
        let body = request.body().as_ref();
        let secret = form_field(body, "secret").unwrap_or_default();
        // A mismatch may be a secret rotated since the value in hand was read.
        let matches = secrets.matches(&secret, now)
            || match self.secrets.reread().await {
                Ok(fresh) => fresh.matches(&secret, now),
                Err(_) => false,
            };
        if matches {
            return Verification::Genuine;
        }
        let event = form_field(body, "event");
        let is_status = event.as_deref() == Some("send_status");
        if secret.is_empty() && is_status {
            // Sent with a status_url but no status_secret: a 403 would only buy a day of
            // retries and failure emails. It changes nothing, and it is counted.
            return Verification::Ignored {
                reason: "status notification without a secret",
                counted: Some(self.auth_failure("empty_secret", now)),
            };
        }
        // Only what looks like Telerivet (a form with an event) counts towards the
        // misconfiguration alert: a scanner posting junk is refused without noise.
        Verification::Refused {
            error: WebhookError::Forbidden,
            counted: event.map(|_| self.auth_failure("wrong_secret", now)),
        }
    }

    /// Telerivet puts its secret in the body: a refused body is kept without it.
    fn redact<'b>(&self, body: &'b [u8]) -> std::borrow::Cow<'b, [u8]> {
        redact_secret(body)
    }

    fn parse(&self, request: &Request, _now: DateTime<Utc>) -> Result<TelerivetEvent, Rejection> {
        let content_type = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let media_type = content_type.split(';').next().unwrap_or_default().trim();
        if !media_type.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return Err(Rejection::UnsupportedMediaType(format!(
                "expected application/x-www-form-urlencoded, got {:?}",
                content_type
            )));
        }
        TelerivetEvent::parse(request.body().as_ref())
            .map_err(|e| Rejection::Invalid(e.to_string()))
    }

    fn dedup_key(&self, event: &TelerivetEvent) -> String {
        event.dedup_key()
    }

    /// A reply's status secrets are never stored: each answer, first or retried, gets them
    /// from the rules, and dialtone's own webhook secret as it is now (after a rotation
    /// too).
    async fn reply_to_send(&self, kept: serde_json::Value) -> serde_json::Value {
        if !self.auto_replies.needs_webhook_secret() {
            return self.auto_replies.with_secrets(kept, None);
        }
        match self.secrets.get().await {
            Ok(rotating) => self
                .auto_replies
                .with_secrets(kept, Some(rotating.current.expose())),
            Err(err) => {
                tracing::warn!(error = %err, "webhook secret unreadable: the reply goes without its status secret");
                self.auto_replies.with_secrets(kept, None)
            }
        }
    }

    /// Telerivet may post one incoming message from several services (webhook services,
    /// a Custom Actions "notify webhook URL"): `service_id` is the one posting it. The
    /// message is counted once; its reply goes to the service that got it first, and its
    /// retries, never to a second service.
    fn reply_audience(&self, event: &TelerivetEvent) -> Option<String> {
        match &event.kind {
            EventKind::IncomingMessage(message) => message.service_id.clone(),
            _ => None,
        }
    }

    /// Outgoing messages are indexed while they wait, and under their phone once it
    /// moved them: what the SMS watchdog reads.
    fn state_index(&self, state: &TelerivetState) -> Option<(String, String)> {
        super::gateway::message_index(state)
    }

    fn next_state_key(
        &self,
        event: &TelerivetEvent,
        loaded: &[Option<TelerivetState>],
    ) -> Option<StateKey> {
        if loaded.is_empty() {
            event.state_key()
        } else {
            None
        }
    }

    fn decide(
        &self,
        prev: &[Option<TelerivetState>],
        event: &TelerivetEvent,
        now: DateTime<Utc>,
    ) -> Verdict<TelerivetState> {
        let decision = decide(prev.first().and_then(Option::as_ref), event, now);
        let mut verdict = Verdict::new(
            history_with_fields(
                [
                    ("event", json!(event.kind.name())),
                    ("outcome", json!(decision.outcome)),
                ],
                &event.raw,
            ),
            now,
        );
        verdict.outcome = decision.outcome;
        verdict.states = vec![decision.state];

        let day = CounterKey::Sms {
            project: project(event).to_owned(),
            day: now.date_naive(),
        };
        if let EventKind::IncomingMessage(message) = &event.kind {
            // Calls and USSD sessions arrive as messages too: each type is counted apart.
            verdict.counters.push(
                CounterBump::new(day.clone(), DAILY_COUNTER_DAYS)
                    .add("incoming", 1)
                    .add(type_field("incoming", message.message_type.as_deref()), 1),
            );
            verdict.reply = self.auto_replies.reply_for(message);
        }
        if decision.settled_status.is_some() || decision.first_click {
            // One bump of the day's row: a transaction may move an item once.
            let mut bump = CounterBump::new(day, DAILY_COUNTER_DAYS);
            if let Some(status) = &decision.settled_status {
                bump = bump.add(status.as_str(), 1);
            }
            if decision.first_heard {
                // The day's outgoing messages, each once whatever statuses it goes through.
                let message_type = match &event.kind {
                    EventKind::SendStatus(s) => s.message_type.as_deref(),
                    _ => None,
                };
                bump = bump
                    .add("outgoing", 1)
                    .add(type_field("outgoing", message_type), 1);
            }
            if decision.first_click {
                // Messages whose short links were clicked, on the day the click was told.
                bump = bump.add("clicked", 1);
            }
            verdict.counters.push(bump);
        }
        if self.sms_failure_ratio.is_some() && (decision.first_heard || decision.newly_failed) {
            // One bump of the sends row: a transaction may move an item once.
            let key = self.sends_window(project(event), queued_at(&verdict.states, now));
            let mut bump = CounterBump::new(key, WINDOW_COUNTER_DAYS);
            if !decision.first_heard {
                bump = bump.without_total();
            }
            if decision.newly_failed {
                bump = bump.add(SENDS_FAILED, 1);
            }
            verdict.counters.push(bump);
        }
        if let (true, EventKind::SendStatus(s)) = (decision.newly_failed, &event.kind) {
            let (key, _) = self.failure_window(project(event), failed_at(&verdict.states, now));
            let error = s
                .error_message
                .as_deref()
                .map(str::trim)
                .filter(|e| !e.is_empty())
                .unwrap_or("(no error message)");
            verdict.counters.push(
                CounterBump::new(key, WINDOW_COUNTER_DAYS)
                    .add(format!("{ERROR_FIELD_PREFIX}{error}"), 1),
            );
        }
        verdict
    }

    /// The window the message's failure was counted in at its first delivery: a retry
    /// landing in a later window judges the same count.
    fn thresholds(
        &self,
        event: &TelerivetEvent,
        states: &[Option<TelerivetState>],
        now: DateTime<Utc>,
    ) -> Vec<Threshold> {
        let EventKind::SendStatus(s) = &event.kind else {
            return Vec::new();
        };
        if !FAILED_STATUSES.contains(&s.status.as_str()) {
            return Vec::new();
        }
        let failed_at = failed_at(states, now);
        let (key, context) = self.failure_window(project(event), failed_at);
        vec![Threshold {
            bump: CounterBump::new(key, WINDOW_COUNTER_DAYS),
            at_least: self.sms_failures.at_least,
            ratio: self.sms_failure_ratio.map(|r| {
                let queued_at = queued_at(states, now);
                Ratio {
                    of: self.sends_window(project(event), queued_at),
                    part: SENDS_FAILED,
                    window_start: failure_window_start(queued_at, self.sms_failures.window),
                    at_least: r.at_least,
                    above_percent: r.above_percent,
                }
            }),
            alert: alerts::sms_failures,
            context,
        }]
    }

    fn unrecognised<'e>(&self, event: &'e TelerivetEvent) -> Option<&'e str> {
        match &event.kind {
            EventKind::Unknown { event } => Some(event),
            _ => None,
        }
    }
}

/// The receiver and store, built once at cold start.
pub fn deps(
    config: Config,
    dynamodb: aws_sdk_dynamodb::Client,
) -> Deps<TelerivetReceiver, DynamoStore> {
    Deps {
        receiver: TelerivetReceiver {
            secrets: config.secrets,
            auto_replies: config.auto_replies,
            sms_failures: config.sms_failures,
            sms_failure_ratio: config.sms_failure_ratio,
            auth_failures: config.auth_failures,
        },
        store: DynamoStore::new(dynamodb, config.table_name),
    }
}
