//! What the tests, benchmarks and fuzz targets share, kept out of the functions: a store
//! without a network that runs the real pipeline ([`offline`]), the alert dispatcher's
//! ports in memory ([`alerts`]), a subscriber's output kept for reading ([`logs`]), a
//! large fleet's heartbeat built rather than recorded ([`sample`]), the tutorial's figures
//! folded in memory ([`call_log`]), and the timers the benchmarks report with ([`bench`],
//! [`cpu`]). A dev-dependency only: no function links it.

pub mod alerts;
pub mod bench;
pub mod call_log;
pub mod cpu;
pub mod logs;
pub mod offline;
pub mod sample;
