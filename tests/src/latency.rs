//! Detection latency, end to end through the local run: heartbeats and Telerivet failure
//! bursts posted to the functions behind `cargo lambda watch`, each timed from just before
//! its POST until its alert is read from the topic's SQS subscription.
//!
//! The stream pump runs in this process with the local run's interval
//! ([`FOLLOW_INTERVAL`]) and the same code as `dialtone-local pump --follow`, so that each
//! latency can be cut into: the POST until its answer, the wait for the pump's next poll,
//! the poll's own reading of the stream, and the dispatcher's invocation with its SNS
//! publish until the alert is on the queue. A benchmark for `scripts/perf latency`, not a
//! test: its figures belong to the machine it runs on.
//!
//! Each timed event raises exactly one alert, and the run fails otherwise:
//! - a heartbeat: WARNING with one line more than the last (its own SID), which is one
//!   `line_affected`. Every line has its own dedup key, so no repeat or flapping control
//!   applies to any of them; the fleet stays WARNING, so no `fleet_status` either.
//! - a Telerivet burst: under a project of its own, failed `send_status` events up to the
//!   threshold; the one that reaches it is timed, and raises the one `sms_failures`.

use crate::inbox::{self, Received};
use crate::pump::{EmulatorInvoke, Handover, StreamPump, FOLLOW_INTERVAL};
use crate::stack::Stack;
use crate::LocalError;
use chrono::{DateTime, SubsecRound, Utc};
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The failure that raises a burst's alert at the template's defaults, which the local
/// run leaves in place: every failed message of a burst is also one of the window's sends,
/// so the failure ratio (`SmsFailureRatioMinFailures` 5, over `SmsFailureRatioPercent` 20 %)
/// is crossed at the 5th, before `SmsFailureThreshold` (10). `SmsFailureWindowSeconds`:
const SMS_FAILURE_THRESHOLD: usize = 5;
const SMS_FAILURE_WINDOW_SECONDS: i64 = 900;
/// A burst is not started this close to the end of a failure-counting window: its
/// failures would be counted in two windows and reach the threshold in neither.
const WINDOW_MARGIN_SECONDS: i64 = 5;
/// How long one event's alert may take before the run gives up on it. The first events
/// (the warm-up) may wait for `cargo lambda watch` to start, or build, the functions.
const EVENT_TIMEOUT: Duration = Duration::from_secs(30);
const WARM_UP_TIMEOUT: Duration = Duration::from_secs(600);

pub struct Settings {
    pub emulator: String,
    pub heartbeats: usize,
    pub bursts: usize,
    pub heartbeat_token: String,
    pub telerivet_secret: String,
}

/// One timed event, in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    /// From just before the POST until its answer (the alert row is committed by then).
    pub answer: f64,
    /// From the answer until the start of the pump's poll that read the row: the wait
    /// for the next poll (0 when a poll already under way read it).
    pub poll_wait: f64,
    /// From then until that poll's `GetRecords` answer held the row.
    pub stream_read: f64,
    /// From then until the alert was read from the queue: the dispatcher's invocation
    /// through the emulator, its claim in DynamoDB, the SNS publish, SNS → SQS, and the
    /// long poll's answer.
    pub dispatch: f64,
    pub total: f64,
}

/// The figures of one kind of event.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    pub measure: &'static str,
    pub samples: Vec<Sample>,
}

impl Summary {
    /// The `perf-result` line `scripts/perf_table.py` reads.
    pub fn perf_result(&self) -> String {
        let part = |f: fn(&Sample) -> f64| {
            let values: Vec<f64> = self.samples.iter().map(f).collect();
            serde_json::json!({
                "p50_ms": round(percentile(&values, 50.0)),
                "p99_ms": round(percentile(&values, 99.0)),
                "mean_ms": round(values.iter().sum::<f64>() / values.len().max(1) as f64),
                "max_ms": round(values.iter().copied().fold(0.0, f64::max)),
            })
        };
        let line = serde_json::json!({
            "measure": self.measure,
            "events": self.samples.len(),
            "poll_interval_ms": FOLLOW_INTERVAL.as_millis() as u64,
            "total": part(|s| s.total),
            "parts": {
                "answer": part(|s| s.answer),
                "poll_wait": part(|s| s.poll_wait),
                "stream_read": part(|s| s.stream_read),
                "dispatch": part(|s| s.dispatch),
            },
        });
        format!("perf-result {line}")
    }
}

fn round(ms: f64) -> f64 {
    (ms * 10.0).round() / 10.0
}

/// Nearest rank, as `scripts/perf_runtime.py`.
pub fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((sorted.len() as f64 * p / 100.0).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Cuts one event's journey into its parts. `answered` is when the POST was answered,
/// `received` when its alert came off the queue.
pub fn sample(
    posted: DateTime<Utc>,
    answered: DateTime<Utc>,
    handover: &Handover,
    received: DateTime<Utc>,
) -> Sample {
    let ms = |from: DateTime<Utc>, to: DateTime<Utc>| (to - from).as_seconds_f64() * 1000.0;
    let poll_began = handover.poll_started.max(answered);
    Sample {
        answer: ms(posted, answered),
        poll_wait: ms(answered, poll_began),
        stream_read: ms(poll_began, handover.read_at),
        dispatch: ms(handover.read_at, received),
        total: ms(posted, received),
    }
}

/// The pump of the run, in a task of its own: the handovers it made, by alert id, or why
/// it stopped.
struct Pump {
    handovers: Arc<Mutex<HashMap<String, Handover>>>,
    task: tokio::task::JoinHandle<Result<(), LocalError>>,
}

impl Pump {
    fn start(stack: &Stack, emulator: &str) -> Self {
        let handovers = Arc::new(Mutex::new(HashMap::new()));
        let (stack, dispatcher) = (
            stack.clone(),
            EmulatorInvoke::new(emulator, "alert-dispatcher"),
        );
        let seen = handovers.clone();
        let task = tokio::spawn(async move {
            let mut pump = StreamPump::new(&stack).await?;
            loop {
                let report = pump.drain(&dispatcher).await?;
                if let Ok(mut seen) = seen.lock() {
                    for h in report.handovers {
                        seen.insert(h.alert_id.clone(), h);
                    }
                }
                tokio::time::sleep(FOLLOW_INTERVAL).await;
            }
        });
        Self { handovers, task }
    }

    /// The handover of `alert_id`, waiting for the drain that made it to end (its alert
    /// can reach the queue before the dispatcher's invocation has returned).
    async fn handover(&mut self, alert_id: &str) -> Result<Handover, LocalError> {
        let deadline = tokio::time::Instant::now() + EVENT_TIMEOUT;
        loop {
            if let Some(h) = self
                .handovers
                .lock()
                .ok()
                .and_then(|mut seen| seen.remove(alert_id))
            {
                return Ok(h);
            }
            self.check().await?;
            if tokio::time::Instant::now() > deadline {
                return Err(LocalError::Invoke(format!(
                    "latency: the pump never reported handing over {alert_id}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    fn forget_all(&self) {
        if let Ok(mut seen) = self.handovers.lock() {
            seen.clear();
        }
    }

    /// An error if the pump has stopped (it only stops on an error), saying why.
    async fn check(&mut self) -> Result<(), LocalError> {
        if !self.task.is_finished() {
            return Ok(());
        }
        let why = match (&mut self.task).await {
            Ok(Err(e)) => e.to_string(),
            Ok(Ok(())) => "it returned".into(),
            Err(join) => join.to_string(),
        };
        Err(LocalError::Invoke(format!(
            "latency: the stream pump stopped: {why}"
        )))
    }
}

impl Drop for Pump {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads the queue until an alert whose id contains `tag` arrives; every other alert
/// read on the way is kept in `unexpected`. Returns when it arrived, and the alert.
async fn await_alert(
    stack: &Stack,
    pump: &mut Pump,
    tag: &str,
    timeout: Duration,
    unexpected: &mut Vec<Received>,
) -> Result<(DateTime<Utc>, Received), LocalError> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        // A 1 s long poll: the queue answers as soon as a message arrives.
        let (arrived, batch) =
            inbox::receive(&stack.sqs, &stack.queue_url, Duration::from_secs(1)).await?;
        let mut found = None;
        for received in batch {
            if found.is_none() && received.alert.id().contains(tag) {
                found = Some(received);
            } else {
                unexpected.push(received);
            }
        }
        if let Some(received) = found {
            return Ok((arrived, received));
        }
        pump.check().await?;
        if tokio::time::Instant::now() > deadline {
            return Err(LocalError::Invoke(format!(
                "latency: no alert for {tag} within {} s",
                timeout.as_secs()
            )));
        }
    }
}

struct Poster {
    http: reqwest::Client,
    heartbeat_url: String,
    telerivet_url: String,
}

impl Poster {
    fn new(settings: &Settings) -> Self {
        let base = settings.emulator.trim_end_matches('/');
        Self {
            http: crate::http_client(),
            heartbeat_url: format!(
                "{base}/lambda-url/exotel-heartbeat/exotel/heartbeat/{}",
                settings.heartbeat_token
            ),
            telerivet_url: format!("{base}/lambda-url/telerivet-webhook/telerivet/webhook"),
        }
    }

    /// POSTs and returns when it was sent, when it was answered, and the answer's body;
    /// an answer other than 200 is an error.
    async fn post(
        &self,
        url: &str,
        content_type: &str,
        body: String,
    ) -> Result<(DateTime<Utc>, DateTime<Utc>, String), LocalError> {
        let posted = Utc::now();
        let response = self
            .http
            .post(url)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .map_err(|e| LocalError::Invoke(e.without_url().to_string()))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| LocalError::Invoke(e.to_string()))?;
        let answered = Utc::now();
        if status.as_u16() != 200 {
            return Err(LocalError::Invoke(format!(
                "latency: {url} answered {status}: {text}"
            )));
        }
        Ok((posted, answered, text))
    }
}

/// The heartbeats of one run: WARNING, each affecting every line of the ones before and
/// one line more, a second apart at least and never behind the clock (a heartbeat older
/// than the newest stored would be stale and alert nothing).
struct Heartbeats {
    run: String,
    lines: Vec<String>,
    last: DateTime<Utc>,
}

impl Heartbeats {
    fn new(run: &str) -> Self {
        Self {
            run: run.to_owned(),
            lines: Vec::new(),
            last: DateTime::<Utc>::MIN_UTC,
        }
    }

    /// The next heartbeat's body, the SID of the line it adds, and its instant (which
    /// every alert it raises carries in its id).
    fn next(&mut self) -> (String, String, DateTime<Utc>) {
        let sid = format!("LAT{}{:05}", self.run, self.lines.len());
        self.lines.push(sid.clone());
        let at = Utc::now()
            .trunc_subsecs(0)
            .max(self.last + chrono::Duration::seconds(1));
        self.last = at;
        let data: serde_json::Map<String, serde_json::Value> = self
            .lines
            .iter()
            .enumerate()
            .map(|(i, sid)| {
                (
                    sid.clone(),
                    serde_json::json!({ "phone_number": format!("+9180{:08}", i) }),
                )
            })
            .collect();
        let body = serde_json::json!({
            "timestamp": at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            "status_type": "WARNING",
            "incoming_affected": self.lines,
            "outgoing_affected": null,
            "data": data,
        });
        (body.to_string(), sid, at)
    }
}

fn failed_send_status(secret: &str, project: &str, message: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("secret", secret),
            ("event", "send_status"),
            ("id", message),
            ("status", "failed"),
            ("message_type", "sms"),
            ("error_message", "latency bench failure"),
            ("project_id", project),
        ])
        .finish()
}

/// Waits past the end of the failure-counting window if a burst started now could
/// straddle it.
async fn clear_of_window_end() {
    let into = Utc::now()
        .timestamp()
        .rem_euclid(SMS_FAILURE_WINDOW_SECONDS);
    let left = SMS_FAILURE_WINDOW_SECONDS - into;
    if left <= WINDOW_MARGIN_SECONDS {
        tokio::time::sleep(Duration::from_secs(left as u64 + 1)).await;
    }
}

/// Sends the failed statuses of one burst but the last; returns the last's body.
async fn burst_but_last(
    poster: &Poster,
    secret: &str,
    project: &str,
) -> Result<String, LocalError> {
    let form = "application/x-www-form-urlencoded";
    for k in 1..SMS_FAILURE_THRESHOLD {
        let body = failed_send_status(secret, project, &format!("SM{project}{k:02}"));
        poster.post(&poster.telerivet_url, form, body).await?;
    }
    Ok(failed_send_status(
        secret,
        project,
        &format!("SM{project}{SMS_FAILURE_THRESHOLD:02}"),
    ))
}

fn progress(line: impl std::fmt::Display) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "latency: {line}");
}

/// Runs the benchmark against the local run whose resources `stack` names and whose
/// functions `settings.emulator` serves; nothing else may be pumping its stream.
pub async fn run(stack: &Stack, settings: &Settings) -> Result<Vec<Summary>, LocalError> {
    let seed = Utc::now().timestamp_nanos_opt().unwrap_or_default() as u64;
    let mut rng = SmallRng::seed_from_u64(seed);
    let run = format!("{:08x}", rng.random::<u32>());
    let poster = Poster::new(settings);
    let form = "application/x-www-form-urlencoded";
    let json = "application/json";
    let mut pump = Pump::start(stack, &settings.emulator);
    let mut unexpected = Vec::new();
    let mut heartbeats = Heartbeats::new(&run);

    // Warm-up, untimed: each function's first invocation starts its process (and
    // `cargo lambda watch` may build it first). What the stack held before is read off
    // the queue with it.
    progress("warm-up: a heartbeat and a Telerivet burst (the functions start)");
    // On a fresh stack it raises `fleet_status` (OK → WARNING), not a line's alert.
    let (body, _, at) = heartbeats.next();
    poster.post(&poster.heartbeat_url, json, body).await?;
    let tag = at.to_rfc3339();
    await_alert(stack, &mut pump, &tag, WARM_UP_TIMEOUT, &mut Vec::new()).await?;
    clear_of_window_end().await;
    let project = format!("PJlat{run}warm");
    let last = burst_but_last(&poster, &settings.telerivet_secret, &project).await?;
    poster.post(&poster.telerivet_url, form, last).await?;
    await_alert(stack, &mut pump, &project, WARM_UP_TIMEOUT, &mut Vec::new()).await?;
    inbox::drain(&stack.sqs, &stack.queue_url, Duration::from_secs(1)).await?;
    pump.forget_all();

    // Each event is posted at a random point of the pump's cycle, as real traffic is:
    // posting just after the previous alert would always land at the start of the
    // pump's sleep.
    let mut jitter =
        || Duration::from_secs_f64(rng.random::<f64>() * FOLLOW_INTERVAL.as_secs_f64());

    let mut heartbeat_samples = Vec::with_capacity(settings.heartbeats);
    for i in 0..settings.heartbeats {
        tokio::time::sleep(jitter()).await;
        let (body, sid, _) = heartbeats.next();
        let (posted, answered, text) = poster.post(&poster.heartbeat_url, json, body).await?;
        let raised = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v["alerts"].as_i64());
        if raised != Some(1) {
            return Err(LocalError::Invoke(format!(
                "latency: heartbeat {i} raised {raised:?} alerts, not 1: {text}"
            )));
        }
        let (received, alert) =
            await_alert(stack, &mut pump, &sid, EVENT_TIMEOUT, &mut unexpected).await?;
        let handover = pump.handover(&alert.alert.id()).await?;
        heartbeat_samples.push(sample(posted, answered, &handover, received));
        if (i + 1) % 50 == 0 {
            progress(format!("{}/{} heartbeats", i + 1, settings.heartbeats));
        }
    }

    let mut burst_samples = Vec::with_capacity(settings.bursts);
    for b in 0..settings.bursts {
        clear_of_window_end().await;
        let project = format!("PJlat{run}{b:05}");
        let last = burst_but_last(&poster, &settings.telerivet_secret, &project).await?;
        tokio::time::sleep(jitter()).await;
        let (posted, answered, _) = poster.post(&poster.telerivet_url, form, last).await?;
        let (received, alert) =
            await_alert(stack, &mut pump, &project, EVENT_TIMEOUT, &mut unexpected).await?;
        let handover = pump.handover(&alert.alert.id()).await?;
        burst_samples.push(sample(posted, answered, &handover, received));
        if (b + 1) % 25 == 0 {
            progress(format!("{}/{} Telerivet bursts", b + 1, settings.bursts));
        }
    }

    // Anything later than its event's own alert is an alert too many.
    unexpected.extend(inbox::drain(&stack.sqs, &stack.queue_url, Duration::from_secs(2)).await?);
    if !unexpected.is_empty() {
        let mut ids = String::new();
        for r in unexpected.iter().take(5) {
            let _ = write!(ids, " {}", r.alert.id());
        }
        return Err(LocalError::Invoke(format!(
            "latency: {} alert(s) beyond one per event:{ids}",
            unexpected.len()
        )));
    }
    Ok(vec![
        Summary {
            measure: "heartbeat",
            samples: heartbeat_samples,
        },
        Summary {
            measure: "telerivet burst",
            samples: burst_samples,
        },
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(ms: i64) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(1_800_000_000_000 + ms).unwrap()
    }

    #[test]
    fn a_journey_is_cut_into_parts_that_add_up() {
        let handover = Handover {
            alert_id: "a".into(),
            poll_started: at(400),
            read_at: at(410),
            dispatched_at: at(470),
        };
        let s = sample(at(0), at(30), &handover, at(460));
        assert_eq!(
            (s.answer, s.poll_wait, s.stream_read, s.dispatch, s.total),
            (30.0, 370.0, 10.0, 50.0, 460.0)
        );
    }

    #[test]
    fn a_poll_under_way_at_the_answer_costs_no_wait() {
        let handover = Handover {
            alert_id: "a".into(),
            poll_started: at(20),
            read_at: at(45),
            dispatched_at: at(90),
        };
        let s = sample(at(0), at(30), &handover, at(80));
        assert_eq!((s.poll_wait, s.stream_read), (0.0, 15.0));
        assert_eq!(s.answer + s.poll_wait + s.stream_read + s.dispatch, s.total);
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let values: Vec<f64> = (1..=200).map(f64::from).collect();
        assert_eq!(percentile(&values, 50.0), 100.0);
        assert_eq!(percentile(&values, 99.0), 198.0);
        assert_eq!(percentile(&[7.0], 99.0), 7.0);
    }

    #[test]
    fn each_heartbeat_adds_one_line_and_moves_forward() {
        let mut hb = Heartbeats::new("r");
        let (first, sid0, _) = hb.next();
        let (second, sid1, _) = hb.next();
        let first: serde_json::Value = serde_json::from_str(&first).unwrap();
        let second: serde_json::Value = serde_json::from_str(&second).unwrap();
        assert_eq!(first["incoming_affected"], serde_json::json!([sid0]));
        assert_eq!(second["incoming_affected"], serde_json::json!([sid0, sid1]));
        assert!(second["timestamp"].as_str() > first["timestamp"].as_str());
    }
}
