//! One model of a phone call, fed by VoIPstudio webhooks and Exotel call notifications:
//! the providers' events, normalised; the call's state whatever order they arrive in; the
//! daily counters; and the list of missed callers still owed a call back.

mod booking;
mod decide;
mod model;
pub mod receiver;

pub use booking::{Booking, CallCounterKey, CounterLine, CounterMove};
pub use decide::{
    callback_index, callback_overdue, decide, CallDecision, CallState, CallbackState, CallsState,
    MissedCall, Outcome, CALLBACKS_OPEN,
};
pub use model::{normalise_phone, CallDirection, CallEvent, ParseError, Provider, Step};
