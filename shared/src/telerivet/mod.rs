//! Telerivet's Webhook API: URL-encoded events with bracketed keys, their parser, and the
//! pure decisions about message statuses, contacts, metadata and auto-replies.

pub mod alerts;
mod autoreply;
mod decide;
pub mod gateway;
mod model;
pub mod receiver;
pub mod rest;
pub mod wording;

pub use autoreply::{AutoReplies, AutoReplyRule};
pub use decide::{
    decide, failure_window_start, is_waiting, phone_moved, status_rank, BroadcastState,
    ContactState, Decision, MessageState, MetadataState, TelerivetState, FAILED_STATUSES,
};
pub use model::{
    form_field, redact_secret, Contact, ContactUpdate, EventKind, IncomingMessage, Media,
    MessageMetadata, ParseError, Phone, Recipient, SendBroadcast, SendStatus, State,
    TelerivetEvent, MAX_DEPTH,
};
