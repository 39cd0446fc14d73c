//! What the offline pipeline tests share: the VoIPstudio receiver, a genuine request, and
//! the pipeline run to its end on one thread.

#![allow(dead_code)]

use dialtone_shared::calls::receiver::{CallReceiver, Voipstudio};
use dialtone_shared::pipeline::{handle, Handled};
use dialtone_shared::secret::Secret;
use dialtone_shared::store::EventStore;
use dialtone_testkit::offline::run_to_end;
use lambda_http::Request;

pub const TOKEN: &str = "local-voipstudio-token-0123456789";

pub fn voipstudio() -> CallReceiver<Voipstudio> {
    CallReceiver::new(
        dialtone_shared::secrets::Cached::fixed(Secret::new(TOKEN.into()).expect("token")),
        chrono_tz::Asia::Kolkata,
    )
}

/// `events/voipstudio-call-initial.json`: a genuine `call.initial` from 919812345678.
pub fn initial_call() -> Request {
    lambda_http::request::from_str(include_str!("../../../events/voipstudio-call-initial.json"))
        .expect("envelope")
}

pub fn handled<S: EventStore>(store: &S, request: Request) -> Handled {
    run_to_end(handle(&voipstudio(), store, request))
}
