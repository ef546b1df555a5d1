//! Scheduled jobs: what a schedule carries ([`spec`]) and the workflows that turn a schedule's
//! fire into exactly one occurrence per business key.

pub mod spec;

pub use spec::{DayRule, DependencyPolicy, JobSpec, Missed, Overlap, Timing};
