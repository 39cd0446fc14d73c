//! The common crate of dialtone: provider payload models, the pure decisions that turn
//! events into state and alerts, the one ingestion pipeline every webhook receiver runs,
//! and the DynamoDB and SNS adapters behind narrow port traits.
//!
//! # Layers
//!
//! Lowest first. A module imports from the layers below its own, or from its own layer
//! where no loop results; never from a layer above. `scripts/check_layers.py` reads this
//! list and checks every module but the unit tests (which may build their inputs with a
//! higher layer: the store's tests use a real fleet's state), and runs in `scripts/test`.
//!
//! 1. ground: `phone`, `exophone`, `time_text`, `secret`, `config`, `telemetry`, `tls`
//! 2. what is raised and read: `alert`, `secrets`
//! 3. what is kept: `store`
//! 4. a webhook's answer and its metric line: `http`, `metrics`
//! 5. the one ingestion pipeline: `pipeline`
//! 6. Exotel's call log and its HTTP API: `call_log`, `exotel`
//! 7. the providers, each owning its model, decisions, receiver and alert text: `heartbeat`,
//!    `telerivet`, `calls`
//! 8. what a person reads of an alert, asking the provider that raised it, and where it is
//!    sent: `notice`, `publish`
//!
//! The functions (`functions/*`) sit above all of them; test and benchmark scaffolding is
//! in the `dialtone-testkit` crate, never here.

pub mod alert;
pub mod call_log;
pub mod calls;
pub mod config;
pub mod exophone;
pub mod exotel;
pub mod heartbeat;
pub mod http;
pub mod metrics;
pub mod notice;
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
