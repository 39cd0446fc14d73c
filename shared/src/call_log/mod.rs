//! Exotel's call log (Bulk Call Details): its records as the API pages them, and the call
//! metrics folded from them page by page (answer rate, durations, peak hour, per line and
//! direction), and the comparison of the calls it lists with the call notifications
//! received (`missing_webhooks`). The client that reads the pages is `exotel::client`.

pub mod alerts;
pub mod cursor;
pub mod metrics;
pub mod missing_webhooks;
pub mod records;
pub mod tally;
pub mod wording;
