//! Deterministic workflow code for punctual.
//!
//! This crate is the determinism boundary: it holds workflow definitions, their input and output
//! types, the wire names users type on the `temporal` CLI, and the *contracts* of the activities
//! the workflows call (declared with `#[activity_definitions]`, implemented in
//! `punctual-activities`). Nothing here reads a clock, draws randomness, performs I/O or iterates
//! a hash map: time comes from the workflow context, effects happen in activities.

pub mod bench;
pub mod billing;
pub mod business_date;
pub mod failures;
pub mod input;
pub mod jobs;
pub mod join;
pub mod keys;
pub mod names;
pub mod reports;
pub mod runs;
pub mod schedule;
pub mod search;

pub use bench::{BenchActivityContract, BenchWorkflow};
pub use billing::{
    BillingBatchWorkflow, BillingBulkBatchWorkflow, BillingContract, BillingRunWorkflow, BulkBillingContract, PaymentSagaWorkflow,
};
pub use input::JsonInput;
