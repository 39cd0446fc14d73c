//! What is kept of a request that is not applied: a refused body (400, 413, 415), or an
//! event no retry could store (answered 200 and alerted), redacted, with the reason.

use super::*;

/// An event that no retry could store: its body is kept in quarantine with the cause, a
/// person is told, and the provider is answered 200 so that it stops retrying.
pub(super) async fn unstorable<R: Receiver, S: EventStore>(
    receiver: &R,
    store: &S,
    request: &Request,
    received_at: DateTime<Utc>,
    error: StoreError,
) -> Result<Answer, WebhookError> {
    let cause = error.to_string();
    tracing::error!(error = %cause, "event cannot be stored; quarantined and alerted");
    keep(receiver, store, request, received_at, &cause).await?;
    let alert = alerts::unstorable(R::ALERT_SOURCE, R::SOURCE, &cause, received_at);
    store.put_alert_once(&alert).await?;
    Ok(Answer::Unstorable)
}

/// Keeps a refused body, with why, and turns the rejection into the caller's error.
pub(super) async fn quarantine<R: Receiver, S: EventStore>(
    receiver: &R,
    store: &S,
    request: &Request,
    received_at: DateTime<Utc>,
    rejection: Rejection,
) -> Result<WebhookError, WebhookError> {
    let (reason, error) = match rejection {
        Rejection::Invalid(reason) => (reason.clone(), WebhookError::InvalidPayload(reason)),
        Rejection::UnsupportedMediaType(reason) => {
            (reason.clone(), WebhookError::UnsupportedMediaType(reason))
        }
        Rejection::TooLarge { size, limit } => (
            format!("body of {size} bytes is over the limit of {limit}"),
            WebhookError::PayloadTooLarge { limit },
        ),
    };
    keep(receiver, store, request, received_at, &reason).await?;
    Ok(error)
}

/// Stores a request's body, redacted, in quarantine with the reason it was not applied.
async fn keep<R: Receiver, S: EventStore>(
    receiver: &R,
    store: &S,
    request: &Request,
    received_at: DateTime<Utc>,
    reason: &str,
) -> Result<(), WebhookError> {
    let body = receiver.redact(request.body().as_ref());
    store
        .quarantine(Quarantine {
            source: R::SOURCE,
            request_id: request_id(request, received_at),
            received_at,
            reason: reason.to_owned(),
            content_type: request
                .headers()
                .get(lambda_http::http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            body: body.to_vec(),
        })
        .await?;
    tracing::warn!(reason = %reason, bytes = body.len(), "payload quarantined");
    Ok(())
}
