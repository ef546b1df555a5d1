//! Everything one `punctual worker` serves, registered in one place.
//!
//! Tests build their workers with this same function, so what is tested is what runs.

use punctual_activities::{BenchActivities, BillingActivities, JobActivities, RunActivities};
use punctual_workflows::billing::FireBillingWorkflow;
use punctual_workflows::jobs::{JobOccurrenceWorkflow, ScheduledJobWorkflow};
use punctual_workflows::reports::{ReconciliationWorkflow, SlaCheckWorkflow};
use punctual_workflows::{
    BenchWorkflow, BillingBatchWorkflow, BillingBulkBatchWorkflow, BillingRunWorkflow, PaymentSagaWorkflow,
};
use std::time::Duration;
use temporalio_client::Client;
use temporalio_sdk::workflow_replayer::{WorkflowReplayer, WorkflowReplayerOptions};
use temporalio_sdk::{WorkerOptions, WorkflowRegistrationError};

/// Registers every punctual workflow on a worker's or a replayer's options builder: one list,
/// so what replay tests check is what workers run.
macro_rules! register_workflows {
    ($builder:expr) => {
        $builder
            .register_workflow::<BenchWorkflow>()?
            .register_workflow::<BillingRunWorkflow>()?
            .register_workflow::<BillingBatchWorkflow>()?
            .register_workflow::<BillingBulkBatchWorkflow>()?
            .register_workflow::<PaymentSagaWorkflow>()?
            .register_workflow::<FireBillingWorkflow>()?
            .register_workflow::<ReconciliationWorkflow>()?
            .register_workflow::<SlaCheckWorkflow>()?
            .register_workflow::<ScheduledJobWorkflow>()?
            .register_workflow::<JobOccurrenceWorkflow>()?
    };
}

/// A replayer of every punctual workflow: recorded histories must replay on today's code
/// (`tests/tests/replay.rs`), or in-flight runs would fail after an upgrade.
pub fn replayer() -> Result<WorkflowReplayer, anyhow::Error> {
    let options = register_workflows!(WorkflowReplayerOptions::new()).build();
    Ok(WorkflowReplayer::new(options)?)
}

/// Worker options for `task_queue` with every punctual workflow and activity registered.
///
/// `shutdown_grace` is how long in-flight activities may keep running after shutdown starts
/// before the worker cancels them.
pub fn worker_options(
    task_queue: &str,
    shutdown_grace: Duration,
    billing: BillingActivities,
    client: Client,
) -> Result<WorkerOptions, WorkflowRegistrationError> {
    // The job activities start occurrences on this worker's own queue, through this client.
    let jobs = JobActivities::new(billing.ledger().clone(), client.clone(), task_queue);
    // The SLA check reads this queue's schedules for occurrences that never started.
    let reports = billing.reports().with_schedules(client, task_queue);
    let mut options = register_workflows!(WorkerOptions::new(task_queue))
        .register_activities(BenchActivities)
        .register_activities(reports)
        .register_activities(jobs)
        .register_activities(RunActivities::new(billing.ledger().clone()))
        .register_activities(billing.bulk())
        .register_activities(billing)
        .graceful_shutdown_period(shutdown_grace)
        .build();
    crate::spans::install(&mut options);
    Ok(options)
}
