//! Scheduled jobs: what a schedule carries ([`spec`]) and the workflows that turn a schedule's
//! fire into exactly one occurrence per business key.
//!
//! - [`spec`]: the job as the schedule carries it; [`job`]: parsed and ready to compute with;
//! - [`plan`]: pure mapping from a fire's nominal time to business keys;
//! - [`runnable`]: which workflows a job may start, and its input checked as they read it;
//! - [`fire`]: `ScheduledJobWorkflow`, started by the schedule on every fire;
//! - [`occurrence`]: `JobOccurrenceWorkflow`, one per business key;
//! - [`contracts`] / [`types`]: the job activities and the JSON that crosses the wire.

pub mod contracts;
pub mod fire;
pub mod job;
pub mod occurrence;
pub mod plan;
pub mod runnable;
pub mod spec;
pub mod types;

pub use contracts::JobContract;
pub use fire::ScheduledJobWorkflow;
pub use job::{Job, JobError};
pub use occurrence::JobOccurrenceWorkflow;
pub use spec::{DayRule, DependencyPolicy, JobSpec, Missed, Overlap, Timing};
