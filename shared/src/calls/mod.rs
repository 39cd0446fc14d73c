//! One model of a phone call, fed by VoIPstudio webhooks and Exotel call notifications:
//! the providers' events, normalised; the call's state whatever order they arrive in; the
//! daily counters; and the list of missed callers still owed a call back.

mod booking;
mod callback;
mod decide;
mod details;
mod exotel_webrtc;
mod model;
pub mod receiver;
mod voipstudio;
pub mod wording;

pub use booking::CounterScope;
pub use booking::{Booking, CallCounterKey, CounterMove};
pub use callback::{
    callback_index, callback_overdue, due_callbacks, open_callbacks, overdue, CallbackState,
    MissedCall, CALLBACKS_ALERTED, CALLBACKS_OPEN,
};
pub use decide::{decide, CallDecision, CallState, CallsState, Outcome};
pub use details::{DtmfPress, WrapUp};
pub use model::{
    normalise_phone, CallContext, CallDirection, CallEvent, ParseError, Provider, Step,
};

#[cfg(test)]
#[path = "document_test.rs"]
mod document_tests;
