//! The common crate of dialtone: provider payload models, the pure decisions that turn
//! events into state and alerts, the one ingestion pipeline every webhook receiver runs,
//! and the DynamoDB and SNS adapters behind narrow port traits.

pub mod alert;
pub mod call_log;
pub mod calls;
pub mod config;
pub mod exophone;
pub mod exotel;
pub mod heartbeat;
pub mod http;
pub mod metrics;
pub mod phone;
pub mod pipeline;
pub mod publish;
pub mod secret;
pub mod secrets;
pub mod store;
pub mod telemetry;
pub mod telerivet;
pub mod time_text;
pub mod tls;
