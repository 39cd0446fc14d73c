use super::*;

#[test]
fn internal_detail_never_reaches_the_caller() {
    let err = WebhookError::Storage(StoreError::Request(
        "dispatch failure: connection refused 127.0.0.1".into(),
    ));
    let response = err.into_response();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let Body::Text(text) = response.body() else {
        panic!("text body")
    };
    assert!(!text.contains("127.0.0.1"), "{text}");
}

#[test]
fn statuses() {
    assert_eq!(WebhookError::UnknownPath.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        WebhookError::InvalidPayload("x".into()).status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        WebhookError::Contention.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
}
