//! Contracts of the job activities, implemented in `punctual_activities::jobs`.
//!
//! They keep the occurrence ledger (`job_occurrences`, which outlives Temporal's retention) and
//! reach Temporal on the workflows' behalf where a workflow cannot: starting an occurrence with
//! conflict policy *use-existing* (a child workflow cannot join a running execution), and pausing
//! a schedule after repeated failures.

use super::types::*;
use crate::names;
use temporalio_macros::activity_definitions;
use temporalio_sdk::activities::ActivityError;

/// Job activity contracts.
pub struct JobContract;

#[activity_definitions]
impl JobContract {
    /// `RecordOccurrence`: upserts the occurrence's row (a committed row is never downgraded to
    /// skipped); returns the job's consecutive failures. Idempotent: the same record twice
    /// leaves the same row.
    #[activity(name = names::RECORD_OCCURRENCE_ACTIVITY)]
    pub fn record_occurrence(input: OccurrenceRecord) -> Result<RecordedOccurrence, ActivityError> {
        unimplemented!()
    }

    /// `OccurrenceStatus`: read-only.
    #[activity(name = names::OCCURRENCE_STATUS_ACTIVITY)]
    pub fn occurrence_status(input: StatusQuery) -> Result<OccurrenceState, ActivityError> {
        unimplemented!()
    }

    /// `StartOccurrence`: starts `JobOccurrenceWorkflow` under its business key, or joins the
    /// open run (use-existing), or reports that the key already completed. Idempotent.
    #[activity(name = names::START_OCCURRENCE_ACTIVITY)]
    pub fn start_occurrence(input: OccurrenceInput) -> Result<StartedOccurrence, ActivityError> {
        unimplemented!()
    }

    /// `PauseJobSchedule`: pauses the job's schedule with a note. Idempotent.
    #[activity(name = names::PAUSE_SCHEDULE_ACTIVITY)]
    pub fn pause_schedule(input: PauseRequest) -> Result<(), ActivityError> {
        unimplemented!()
    }
}
