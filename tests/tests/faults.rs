//! DynamoDB pushing back, end to end: every receiver's store talks to moto through a
//! fault-injecting proxy, with the SDK's own retry configuration (the one the functions
//! load). A refusal the SDK's retries absorb is invisible to the provider; one they do not
//! absorb is a 503 with nothing stored, so nothing is acknowledged, and the provider's
//! retry then stores the event exactly once.

mod common;

use common::*;
use dialtone_local::faults::Fault;
use dialtone_local::stack::Stack;
use dialtone_shared::calls::receiver::{ExotelCalls, Voipstudio};
use dialtone_shared::pipeline::{handler, Deps, Receiver};
use dialtone_shared::store::DynamoStore;
use serde_json::json;

const HEARTBEAT: &str = include_str!("../../events/heartbeat-warning.json");
const TELERIVET: &str = include_str!("../../events/telerivet-incoming-message.json");
const VOIPSTUDIO: &str = include_str!("../../events/voipstudio-call-initial.json");
const EXOTEL_CALL: &str = include_str!("../../events/exotel-call-incoming-call.json");

/// More refusals in a row than the SDK makes attempts.
const OUTAGE: usize = 50;

async fn deliver<R: Receiver>(deps: &Deps<R, DynamoStore>, envelope: &str) -> u16 {
    answer(
        handler(deps, request(envelope))
            .await
            .expect("handler answers"),
    )
    .0
}

/// The whole story for one receiver and one of its sample events.
async fn survives_dynamodb_faults<R: Receiver>(
    name: &str,
    deps: Deps<R, DynamoStore>,
    stack: &Stack,
    envelope: &str,
) {
    let (deps, proxy) = behind_proxy(deps, stack).await;

    for fault in [Fault::Throttled, Fault::InternalError] {
        proxy.fail_next(OUTAGE, fault);
        let response = handler(&deps, request(envelope))
            .await
            .expect("handler answers");
        assert_eq!(
            answer(response),
            (
                503,
                json!({"error": "temporarily unable to store the event; retry later"})
            ),
            "{name}: {fault:?} throughout"
        );
        assert!(
            proxy.refused() >= 3,
            "{name}: the SDK retried before giving up ({} refused)",
            proxy.refused()
        );
        assert!(
            scan(stack).await.is_empty(),
            "{name}: {fault:?}: nothing stored, so nothing acknowledged"
        );
    }

    // The provider retries once DynamoDB is back: the event is stored.
    proxy.heal();
    assert_eq!(deliver(&deps, envelope).await, 200, "{name}: the retry");
    let stored = scan(stack).await;
    assert!(
        stored
            .iter()
            .any(|i| s(i, "pk").starts_with(&format!("DEDUP#{}#", R::SOURCE))),
        "{name}: the event's idempotency row"
    );

    // A redelivery meeting one refusal of each kind: the SDK absorbs both, the provider
    // sees a 200, and the table is exactly as one delivery left it.
    for fault in [Fault::Throttled, Fault::InternalError] {
        let refused = proxy.refused();
        proxy.fail_next(1, fault);
        assert_eq!(
            deliver(&deps, envelope).await,
            200,
            "{name}: one {fault:?}, retried by the SDK"
        );
        assert_eq!(proxy.refused(), refused + 1, "{name}: {fault:?} was met");
        assert_eq!(
            scan(stack).await,
            stored,
            "{name}: a redelivery after {fault:?} changed nothing"
        );
    }
}

#[tokio::test]
async fn the_heartbeat_receiver_survives_throttling_and_errors() {
    let stack = stack("faults-heartbeat").await;
    survives_dynamodb_faults("heartbeat", heartbeat_deps(&stack), &stack, HEARTBEAT).await;
    // The stored transition is alerted once, for all the deliveries.
    let alerts = publish_pending(&stack).await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
}

#[tokio::test]
async fn the_telerivet_receiver_survives_throttling_and_errors() {
    let stack = stack("faults-telerivet").await;
    let deps = telerivet_deps(&stack, None);
    survives_dynamodb_faults("telerivet", deps, &stack, TELERIVET).await;
    assert_no_telerivet_secret(&stack).await;
}

#[tokio::test]
async fn the_call_receivers_survive_throttling_and_errors() {
    let voipstudio = stack("faults-voipstudio").await;
    let deps = call_deps::<Voipstudio>(&voipstudio, VOIPSTUDIO_TOKEN);
    survives_dynamodb_faults("voipstudio", deps, &voipstudio, VOIPSTUDIO).await;

    let exotel = stack("faults-exotel-calls").await;
    let deps = call_deps::<ExotelCalls>(&exotel, EXOTEL_CALLS_TOKEN);
    survives_dynamodb_faults("exotel calls", deps, &exotel, EXOTEL_CALL).await;
}
