//! Exotel's HTTP API: the Bulk Call Details records and their streaming aggregation, and
//! the client that pages through them without letting the credentials leave Exotel's host.

pub mod client;
pub mod details;
pub mod metrics;
pub mod records;
