//! The HTTP envelope: arbitrary bytes read as an API Gateway event
//! (`lambda_http::request::from_str`, as the runtime does), then the whole pipeline
//! (`pipeline::handle`: verify, parse, decide, commit, answer) of each webhook receiver,
//! against an offline store. Whatever arrives must be answered with a definite
//! status: with a store that never fails, never a 5xx.
#![no_main]

use chrono::Duration;
use dialtone_shared::calls::receiver::{CallReceiver, ExotelCalls, Voipstudio};
use dialtone_shared::heartbeat::receiver::HeartbeatReceiver;
use dialtone_shared::heartbeat::AlertPolicy;
use dialtone_shared::pipeline::Receiver;
use dialtone_shared::secret::Secret;
use dialtone_shared::secrets::{Cached, Rotating};
use dialtone_shared::telerivet::receiver::{Burst, FailureRatio, TelerivetReceiver};
use dialtone_shared::telerivet::AutoReplies;
use dialtone_testkit::offline::{ingest, OfflineStore};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn secret(value: &str) -> Secret {
    Secret::new(value.into()).unwrap()
}

/// The receivers as scripts/dev configures them, so the seeds from events/ pass verification.
struct Receivers {
    heartbeat: HeartbeatReceiver,
    telerivet: TelerivetReceiver,
    voipstudio: CallReceiver<Voipstudio>,
    exotel_calls: CallReceiver<ExotelCalls>,
}

fn receivers() -> &'static Receivers {
    static RECEIVERS: OnceLock<Receivers> = OnceLock::new();
    RECEIVERS.get_or_init(|| {
        let burst = Burst {
            at_least: 1,
            window: Duration::minutes(15),
        };
        Receivers {
            heartbeat: HeartbeatReceiver {
                token: Cached::fixed(secret("local-dev-token-0123456789")),
                policy: AlertPolicy::default(),
            },
            telerivet: TelerivetReceiver {
                secrets: Cached::fixed(Rotating {
                    current: secret("local-telerivet-secret-0123456789"),
                    previous: Some((
                        secret("local-telerivet-previous-0123456789"),
                        chrono::DateTime::<chrono::Utc>::MAX_UTC,
                    )),
                }),
                auto_replies: AutoReplies::from_json(
                    r#"{"rules":[{"keyword":"hours","reply":"Open 9-6, Mon-Sat."}],"default":{"reply":"Thanks, we will call you back."}}"#,
                )
                .unwrap(),
                sms_failures: burst,
                sms_failure_ratio: Some(FailureRatio {
                    at_least: 5,
                    above_percent: 20,
                }),
                auth_failures: burst,
            },
            voipstudio: CallReceiver::new(
                Cached::fixed(secret("local-voipstudio-token-0123456789")),
                chrono_tz::Asia::Kolkata,
            ),
            exotel_calls: CallReceiver::new(
                Cached::fixed(secret("local-exotel-calls-token-0123456789")),
                chrono_tz::Asia::Kolkata,
            ),
        }
    })
}

fn answer<R: Receiver>(receiver: &R, request: lambda_http::Request) {
    // Every counter at its maximum, so each threshold's alert is built too; a fresh store
    // each time, so nothing a run does changes the next one.
    let store = OfflineStore::new(Vec::new()).with_counters_at(i64::MAX);
    let status = ingest(receiver, &store, request).status().as_u16();
    assert!(
        matches!(status, 200 | 400 | 403 | 404 | 405 | 415),
        "{} answered {status}",
        R::SOURCE
    );
}

/// The request lambda_http makes of an event, or `None` where it refuses it or panics.
/// lambda_http (1.3.2) panics, before any project code runs, on an event whose host, path
/// and query make no valid URI (`failed to build request: InvalidUriChar`, a space or a `"`
/// in `rawQueryString`, say) or whose base64 body does not decode: its own bugs,
/// not this project's. They are caught here, silently, so the fuzzer goes on to
/// the receivers; a panic anywhere else still stops the run.
fn request(text: &str) -> Option<lambda_http::Request> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let parsed = std::panic::catch_unwind(|| lambda_http::request::from_str(text));
    std::panic::set_hook(hook);
    parsed.ok()?.ok()
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Some(request) = request(text) else {
        return;
    };
    // Every receiver gets every request: the token or secret decides which one goes past
    // verification, and the others must refuse it cleanly.
    let receivers = receivers();
    answer(&receivers.heartbeat, request.clone());
    answer(&receivers.telerivet, request.clone());
    answer(&receivers.voipstudio, request.clone());
    answer(&receivers.exotel_calls, request);
});
