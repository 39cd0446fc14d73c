//! Exotel's HTTP API: the client that pages through Bulk Call Details and reads ExoPhone
//! details without letting the credentials leave Exotel's host, and the details' reader.

pub mod client;
pub mod details;
