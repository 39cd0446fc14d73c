//! A fault-injecting HTTP proxy for the local stack: it forwards every request to moto
//! unchanged, except the next N, which it answers itself the way DynamoDB does when it
//! throttles or fails. Put in front of moto (as the SDK's endpoint), it shows what the
//! functions do when the real service pushes back, with the real SDK and its retries.

use crate::LocalError;
use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// How DynamoDB refuses a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// 400 `ProvisionedThroughputExceededException`: the table's capacity is exhausted.
    Throttled,
    /// 500 `InternalServerError`: the service failed.
    InternalError,
    /// 400 `TransactionCanceledException` with a `TransactionConflict` reason: another
    /// transaction was writing one of its items (what a hot item does under load).
    TransactionConflict,
    /// The request reaches moto and is applied, then its answer is lost: a 500 comes back
    /// instead (DynamoDB documents that a transaction may have succeeded on a 500).
    AppliedThenLost,
    /// The request reaches moto and is applied, then no answer ever comes: the function
    /// is stopped (timed out, killed) right after its commit.
    AppliedThenSilence,
}

impl Fault {
    fn response(self) -> Response {
        let (status, kind, message) = match self {
            Fault::TransactionConflict => {
                let body = serde_json::json!({
                    "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
                    "message": "Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict]",
                    "CancellationReasons": [
                        { "Code": "TransactionConflict", "Message": "Transaction is ongoing for the item" }
                    ],
                });
                return json_error(
                    StatusCode::BAD_REQUEST,
                    "TransactionCanceledException",
                    body,
                );
            }
            Fault::Throttled => (
                StatusCode::BAD_REQUEST,
                "ProvisionedThroughputExceededException",
                "The level of configured provisioned throughput for the table was exceeded.",
            ),
            Fault::InternalError | Fault::AppliedThenLost | Fault::AppliedThenSilence => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalServerError",
                "Internal server error",
            ),
        };
        let body = serde_json::json!({
            "__type": format!("com.amazonaws.dynamodb.v20120810#{kind}"),
            "message": message,
        });
        json_error(status, kind, body)
    }
}

fn json_error(status: StatusCode, kind: &'static str, body: serde_json::Value) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        "content-type",
        HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    headers.insert("x-amzn-errortype", HeaderValue::from_static(kind));
    response
}

#[derive(Default)]
struct Plan {
    fault: Option<Fault>,
    remaining: usize,
    /// Only requests of this operation (`X-Amz-Target`'s last part) are failed.
    operation: Option<&'static str>,
}

struct Shared {
    upstream: String,
    http: reqwest::Client,
    plan: Mutex<Plan>,
    refused: AtomicUsize,
    forwarded: AtomicUsize,
    /// DynamoDB's contention, modelled: while on, a transaction touching an item another
    /// transaction in flight touches is cancelled with `TransactionConflict`.
    contention: std::sync::atomic::AtomicBool,
    in_flight: Mutex<std::collections::HashSet<String>>,
    conflicts: AtomicUsize,
}

/// The proxy, listening on loopback until dropped.
pub struct FaultProxy {
    url: String,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

impl FaultProxy {
    /// Starts a proxy in front of `upstream` (moto's URL) on a free loopback port.
    pub async fn start(upstream: &str) -> Result<Self, LocalError> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| LocalError::Invoke(format!("fault proxy: {e}")))?;
        let address = listener
            .local_addr()
            .map_err(|e| LocalError::Invoke(format!("fault proxy: {e}")))?;
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_owned(),
            http: crate::http_client(),
            plan: Mutex::new(Plan::default()),
            refused: AtomicUsize::new(0),
            forwarded: AtomicUsize::new(0),
            contention: Default::default(),
            in_flight: Mutex::default(),
            conflicts: AtomicUsize::new(0),
        });
        let app = axum::Router::new()
            .fallback(forward)
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            // The server ends with the test's runtime; an accept error ends it early, and
            // the test then sees its requests fail.
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            url: format!("http://{address}"),
            shared,
            server,
        })
    }

    /// The endpoint to give the SDK.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The next `count` requests get `fault`; the ones after go through again.
    pub fn fail_next(&self, count: usize, fault: Fault) {
        let mut plan = self.shared.plan.lock().unwrap_or_else(|p| p.into_inner());
        *plan = Plan {
            fault: Some(fault),
            remaining: count,
            operation: None,
        };
    }

    /// The next `count` `TransactWriteItems` requests get `fault`; every other request,
    /// and the transactions after them, go through.
    pub fn fail_next_transactions(&self, count: usize, fault: Fault) {
        let mut plan = self.shared.plan.lock().unwrap_or_else(|p| p.into_inner());
        *plan = Plan {
            fault: Some(fault),
            remaining: count,
            operation: Some("TransactWriteItems"),
        };
    }

    /// Every request goes through from now on.
    pub fn heal(&self) {
        self.fail_next(0, Fault::Throttled);
    }

    /// From now on, transactions conflict as DynamoDB's do: one that touches an item a
    /// transaction still in flight touches is cancelled with `TransactionConflict`.
    pub fn model_contention(&self) {
        self.shared.contention.store(true, Ordering::SeqCst);
    }

    /// Transactions cancelled by the contention model so far.
    pub fn conflicts(&self) -> usize {
        self.shared.conflicts.load(Ordering::SeqCst)
    }

    /// Requests answered with a fault so far.
    pub fn refused(&self) -> usize {
        self.shared.refused.load(Ordering::SeqCst)
    }

    /// Requests passed to moto so far.
    pub fn forwarded(&self) -> usize {
        self.shared.forwarded.load(Ordering::SeqCst)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn take_fault(shared: &Shared, request: &Request) -> Option<Fault> {
    let mut plan = shared.plan.lock().unwrap_or_else(|p| p.into_inner());
    if plan.remaining == 0 {
        return None;
    }
    if let Some(operation) = plan.operation {
        let target = request
            .headers()
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if target.rsplit('.').next() != Some(operation) {
            return None;
        }
    }
    plan.remaining -= 1;
    plan.fault
}

/// The items a TransactWriteItems body touches, as `table/key` texts.
fn transaction_items(body: &[u8]) -> Vec<String> {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Vec::new();
    };
    let items = body["TransactItems"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    items
        .iter()
        .filter_map(|item| {
            let (_, op) = item.as_object()?.iter().next()?;
            let key = match op.get("Key") {
                Some(key) => key.clone(),
                None => {
                    let item = op.get("Item")?;
                    serde_json::json!({ "pk": item.get("pk"), "sk": item.get("sk") })
                }
            };
            Some(format!(
                "{}/{}",
                op["TableName"],
                serde_json::to_string(&key).ok()?
            ))
        })
        .collect()
}

/// Holds a transaction's items as in flight until dropped.
struct InFlight<'a> {
    shared: &'a Shared,
    items: Vec<String>,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let mut held = self
            .shared
            .in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        for item in &self.items {
            held.remove(item);
        }
    }
}

async fn forward(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let is_transaction = request
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.ends_with("TransactWriteItems"));
    if is_transaction && shared.contention.load(Ordering::SeqCst) {
        let (parts, body) = request.into_parts();
        let Ok(bytes) = to_bytes(body, usize::MAX).await else {
            return Fault::InternalError.response();
        };
        let items = transaction_items(&bytes);
        let claimed = {
            let mut held = shared.in_flight.lock().unwrap_or_else(|p| p.into_inner());
            if items.iter().any(|i| held.contains(i)) {
                None
            } else {
                held.extend(items.iter().cloned());
                Some(InFlight {
                    shared: &shared,
                    items,
                })
            }
        };
        let Some(_claim) = claimed else {
            shared.conflicts.fetch_add(1, Ordering::SeqCst);
            return Fault::TransactionConflict.response();
        };
        shared.forwarded.fetch_add(1, Ordering::SeqCst);
        let request = Request::from_parts(parts, Body::from(bytes));
        return relay(&shared, request).await.unwrap_or_else(|error| {
            let mut response = Response::new(Body::from(format!("fault proxy: {error}")));
            *response.status_mut() = StatusCode::BAD_GATEWAY;
            response
        });
    }
    let fault = take_fault(&shared, &request);
    match fault {
        Some(Fault::AppliedThenLost | Fault::AppliedThenSilence) => {}
        Some(fault) => {
            shared.refused.fetch_add(1, Ordering::SeqCst);
            return fault.response();
        }
        None => {}
    }
    shared.forwarded.fetch_add(1, Ordering::SeqCst);
    let relayed = relay(&shared, request).await;
    match fault {
        Some(Fault::AppliedThenLost) => {
            shared.refused.fetch_add(1, Ordering::SeqCst);
            return Fault::AppliedThenLost.response();
        }
        Some(Fault::AppliedThenSilence) => {
            shared.refused.fetch_add(1, Ordering::SeqCst);
            // Longer than any test waits: the caller is stopped before an answer comes.
            tokio::time::sleep(std::time::Duration::from_secs(600)).await;
            return Fault::AppliedThenSilence.response();
        }
        _ => {}
    }
    match relayed {
        Ok(response) => response,
        Err(error) => {
            let mut response = Response::new(Body::from(format!("fault proxy: {error}")));
            *response.status_mut() = StatusCode::BAD_GATEWAY;
            response
        }
    }
}

/// Sends the request to moto as it came (moto does not check signatures, so the changed
/// host does not matter) and returns moto's answer as it came.
async fn relay(shared: &Shared, request: Request) -> Result<Response, String> {
    let (parts, body) = request.into_parts();
    let body = to_bytes(body, usize::MAX)
        .await
        .map_err(|e| e.to_string())?;
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut outgoing = shared
        .http
        .request(parts.method, format!("{}{path}", shared.upstream))
        .body(body);
    for (name, value) in &parts.headers {
        if name != "host" && name != "content-length" {
            outgoing = outgoing.header(name, value);
        }
    }
    let answer = outgoing.send().await.map_err(|e| e.to_string())?;
    let status = answer.status();
    let headers = answer.headers().clone();
    let bytes = answer.bytes().await.map_err(|e| e.to_string())?;
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    for (name, value) in &headers {
        if name != "content-length" && name != "transfer-encoding" {
            response.headers_mut().insert(name, value.clone());
        }
    }
    Ok(response)
}
