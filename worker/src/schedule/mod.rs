//! `punctual schedule ...`: the jobs file as Temporal schedules, and the accounting around them.
//!
//! - [`proto`]: a job as a raw `Schedule` protobuf (search attributes, DST-shift entries, policies);
//! - [`server`]: create / describe / update / delete / list on the server;
//! - [`commands`]: apply (the diff), list, describe, resume, trigger, backfill, delete, input;
//! - [`pause`]: pause, starting what was due before it and never started;
//! - [`audit`]: expected occurrences against the occurrence ledger;
//! - [`timings`]: the timings a job had before, so the audit judges each date by its own.

pub mod audit;
pub mod cli;
pub mod commands;
pub mod pause;
pub mod proto;
pub mod server;
pub mod timings;

pub use cli::ScheduleArgs;
