//! The `punctual` worker as a library, so tests run exactly the production registration.
//!
//! `main.rs` only parses flags, sets up tracing and wires signals; everything it calls lives here:
//! [`connect::connect`] (Temporal's own environment configuration, with bounded retry, and the
//! optional payload encryption of [`codec`]),
//! [`registration::worker_options`] (every workflow and activity punctual serves) and
//! [`run::run_worker`] (polls until a shutdown future resolves, then drains). [`sandbox`] holds the
//! stand-in payment provider and notification sink that `punctual sandbox-provider` and
//! `punctual notify-sink` serve.

// Output for people goes through `out!` (see `output`): `println!` panics when piped into `head`.
#![warn(clippy::print_stdout)]

pub mod backends;
pub mod chaos;
pub mod cli;
pub mod codec;
pub mod connect;
pub mod failures;
pub mod history;
pub mod jobs;
pub mod ledger_fence;
pub mod metrics_server;
pub mod output;
pub mod registration;
pub mod run;
pub mod sandbox;
pub mod schedule;
pub mod sdk_metrics;
pub mod shutdown;
pub mod spans;
pub mod start;
pub mod telemetry;
pub mod tokio_runtime;
pub mod tuning;
