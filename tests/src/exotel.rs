//! A local Exotel: a real HTTP server on loopback that serves recorded Bulk Call Details
//! and ExoPhone details the way Exotel does (HTTP Basic auth, pages of at most 100 linked by
//! a relative `NextPageUri`, `DateCreated=gte:..;lte:..` ranges) and throttles like it: the
//! first request for the second page of calls is answered 429, the first for the third 503,
//! and the first for the ExoPhone list 429. Used by `scripts/dev` and the end-to-end tests;
//! the same client code talks to the real Exotel when real credentials are configured.
//!
//! The recorded calls are one day's; asked for other days, the server serves the same calls
//! on those days (same times, a Sid of their own per day), so a local run always has calls.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use chrono::{NaiveDate, NaiveDateTime};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::Mutex;
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// The recorded day of calls, as an Exotel export (`Calls` holds the records).
pub const RECORDED_CALLS: &str = include_str!("../../events/exotel/calls-recorded-day.json");
/// The recorded answer of the ExoPhone list.
pub const RECORDED_EXOPHONES: &str =
    include_str!("../../events/exotel/incoming-phone-numbers.json");

/// The account and key the recordings belong to; the token is the local one.
pub const ACCOUNT_SID: &str = "dialtonelocal1";
pub const API_KEY: &str = "dialtone-local-key";
pub const API_TOKEN: &str = "dialtone-local-token-0123456789";

const PAGE_SIZE: usize = 100;
const DATE_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// What the server serves.
#[derive(Clone, Debug)]
pub struct Recordings {
    /// The recorded records (any day; only their time of day is kept).
    pub calls: Vec<Value>,
    /// The blocks of the ExoPhone list's `response` array.
    pub exophones: Vec<Value>,
    /// Whether to throttle and fail the first requests as described above.
    pub faults: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("recording unreadable: {0}")]
pub struct RecordingError(String);

impl Recordings {
    /// The recordings kept in `events/exotel/`.
    pub fn recorded() -> Result<Self, RecordingError> {
        let read = |raw: &str, key: &str| -> Result<Vec<Value>, RecordingError> {
            let value: Value =
                serde_json::from_str(raw).map_err(|e| RecordingError(e.to_string()))?;
            value[key]
                .as_array()
                .cloned()
                .ok_or_else(|| RecordingError(format!("no {key} array")))
        };
        Ok(Self {
            calls: read(RECORDED_CALLS, "Calls")?,
            exophones: read(RECORDED_EXOPHONES, "response")?,
            faults: true,
        })
    }

    /// The records served for `[from, to]`: every recorded call moved to each day of the
    /// range, kept if it falls inside it, oldest first. Unreadable recordings are served
    /// as they are on the range's first day, as real exports carry them.
    pub fn calls_between(&self, from: NaiveDateTime, to: NaiveDateTime) -> Vec<Value> {
        let mut served: Vec<(String, Value)> = Vec::new();
        let mut day = from.date();
        while day <= to.date() {
            for call in &self.calls {
                match redate(call, day) {
                    Some((at, record)) if at >= from && at <= to => {
                        served.push((at.format(DATE_FORMAT).to_string(), record))
                    }
                    None if day == from.date() => served.push((String::new(), call.clone())),
                    _ => {}
                }
            }
            day = match day.succ_opt() {
                Some(next) => next,
                None => break,
            };
        }
        served.sort_by(|a, b| a.0.cmp(&b.0));
        served.into_iter().map(|(_, call)| call).collect()
    }
}

/// The call on `day` at its recorded time of day, with a Sid of that day's own.
fn redate(call: &Value, day: NaiveDate) -> Option<(NaiveDateTime, Value)> {
    let recorded =
        NaiveDateTime::parse_from_str(call["DateCreated"].as_str()?, DATE_FORMAT).ok()?;
    let at = day.and_time(recorded.time());
    let shift = at - recorded;
    let mut moved = call.clone();
    let sid = call["Sid"].as_str()?;
    moved["Sid"] = json!(format!(
        "{}{}",
        &sid[..sid.len().min(24)],
        day.format("%Y%m%d")
    ));
    for field in ["DateCreated", "DateUpdated", "StartTime", "EndTime"] {
        if let Some(t) = call[field]
            .as_str()
            .and_then(|t| NaiveDateTime::parse_from_str(t, DATE_FORMAT).ok())
        {
            moved[field] = json!((t + shift).format(DATE_FORMAT).to_string());
        }
    }
    Some((at, moved))
}

/// Requests already answered with a fault, so each fault happens once.
#[derive(Default)]
struct Faults(Mutex<HashSet<String>>);

impl Faults {
    fn first(&self, what: &str) -> bool {
        self.0
            .lock()
            .map(|mut seen| seen.insert(what.to_owned()))
            .unwrap_or(false)
    }
}

struct Exotel {
    recordings: Recordings,
    authorization: String,
    faults: Faults,
}

fn error(status: u16, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!({"RestException": {"Status": status, "Message": message}}))
}

impl Exotel {
    fn calls(&self, request: &Request) -> ResponseTemplate {
        let query: Vec<(String, String)> = request.url.query_pairs().into_owned().collect();
        let param = |name: &str| {
            query
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let Some((from, to)) = param("DateCreated").as_deref().and_then(parse_range) else {
            return error(
                400,
                "DateCreated must be gte:YYYY-MM-DD HH:MM:SS;lte:YYYY-MM-DD HH:MM:SS",
            );
        };
        let page: usize = param("Page").and_then(|p| p.parse().ok()).unwrap_or(0);
        if self.recordings.faults {
            if page == 1 && self.faults.first(&format!("calls-429-{from}")) {
                return error(429, "Too Many Requests");
            }
            if page == 2 && self.faults.first(&format!("calls-503-{from}")) {
                return error(503, "Service Unavailable");
            }
        }
        let calls = self.recordings.calls_between(from, to);
        let pages = calls.len().div_ceil(PAGE_SIZE).max(1);
        let uri = |n: usize| {
            let mut url = request.url.clone();
            let kept: Vec<(String, String)> =
                query.iter().filter(|(k, _)| k != "Page").cloned().collect();
            url.query_pairs_mut()
                .clear()
                .extend_pairs(kept)
                .append_pair("Page", &n.to_string());
            format!("{}?{}", url.path(), url.query().unwrap_or_default())
        };
        let chunk: Vec<&Value> = calls
            .iter()
            .skip(page * PAGE_SIZE)
            .take(PAGE_SIZE)
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({
            "Metadata": {
                "Total": calls.len(),
                "PageSize": PAGE_SIZE,
                "Page": page,
                "FirstPageUri": uri(0),
                "PrevPageUri": (page > 0).then(|| uri(page - 1)),
                "NextPageUri": (page + 1 < pages).then(|| uri(page + 1)),
            },
            "Calls": chunk,
        }))
    }

    fn exophones(&self, request: &Request, one: Option<&str>) -> ResponseTemplate {
        let blocks = &self.recordings.exophones;
        let envelope = |code: u16, response: Vec<&Value>, page: usize| {
            ResponseTemplate::new(code).set_body_json(json!({
                "request_id": format!("local-{page}"), "method": "GET", "http_code": code,
                "metadata": {"page_size": response.len(), "page": page},
                "response": response,
            }))
        };
        if let Some(sid) = one {
            let found: Vec<&Value> = blocks.iter().filter(|b| b["data"]["sid"] == sid).collect();
            return if found.is_empty() {
                envelope(404, vec![], 0)
            } else {
                envelope(200, found, 0)
            };
        }
        if self.recordings.faults && self.faults.first("exophones-429") {
            return error(429, "Too Many Requests");
        }
        let param = |name: &str| {
            request
                .url
                .query_pairs()
                .find(|(k, _)| k == name)
                .and_then(|(_, v)| v.parse::<usize>().ok())
        };
        let size = param("page_size").unwrap_or(PAGE_SIZE).clamp(1, PAGE_SIZE);
        let page = param("page").unwrap_or(0);
        envelope(
            200,
            blocks.iter().skip(page * size).take(size).collect(),
            page,
        )
    }
}

fn parse_range(raw: &str) -> Option<(NaiveDateTime, NaiveDateTime)> {
    let (gte, lte) = raw.split_once(';')?;
    let at = |s: &str, prefix: &str| {
        NaiveDateTime::parse_from_str(s.strip_prefix(prefix)?, DATE_FORMAT).ok()
    };
    Some((at(gte, "gte:")?, at(lte, "lte:")?))
}

impl Respond for Exotel {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let authorized = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v == self.authorization);
        if !authorized {
            return error(401, "Authentication is required");
        }
        let path = request.url.path();
        let calls = format!("/v1/Accounts/{ACCOUNT_SID}/Calls.json");
        let exophones = format!("/v2/accounts/{ACCOUNT_SID}/incoming-phone-numbers");
        if path == calls {
            self.calls(request)
        } else if path == exophones {
            self.exophones(request, None)
        } else if let Some(sid) = path.strip_prefix(&format!("{exophones}/")) {
            self.exophones(request, Some(sid))
        } else {
            error(404, "Not Found")
        }
    }
}

/// The running server.
pub struct LocalExotel {
    server: MockServer,
}

impl LocalExotel {
    /// Starts on `listener` (a port of the caller's choosing) or on any free port.
    pub async fn start(recordings: Recordings, listener: Option<std::net::TcpListener>) -> Self {
        let builder = MockServer::builder();
        let builder = match listener {
            Some(listener) => builder.listener(listener),
            None => builder,
        };
        let server = builder.start().await;
        let authorization = format!("Basic {}", BASE64.encode(format!("{API_KEY}:{API_TOKEN}")));
        Mock::given(method("GET"))
            .and(path_regex(".*"))
            .respond_with(Exotel {
                recordings,
                authorization,
                faults: Faults::default(),
            })
            .mount(&server)
            .await;
        Self { server }
    }

    /// The base URL to configure as `EXOTEL_API_BASE`.
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// Every request received so far.
    pub async fn requests(&self) -> Vec<Request> {
        self.server.received_requests().await.unwrap_or_default()
    }
}
