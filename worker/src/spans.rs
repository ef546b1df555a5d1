//! A `tracing` span around every activity execution and every workflow run, added once for all
//! of them by SDK interceptors instead of by hand in each activity or workflow.
//!
//! Business keys are the IDs here (see `punctual_workflows::keys`): a workflow's ID is its
//! business key (`billing-run/{tz}/{date}`, `payment/{invoice}`, ...) and so is an effect
//! activity's ID (`bill-generation-{customer}-{date}`, ...). So the spans carry the key without
//! decoding any input.
//!
//! With OpenTelemetry export on (`otel` feature and `OTEL_EXPORTER_OTLP_ENDPOINT`), the SDK's
//! OpenTelemetry plugin is installed first, so it is the outer interceptor: its workflow and
//! activity spans carry the trace context from parent to child workflow and to each activity in
//! the `_tracer-data` header, and the spans below nest inside them. A billing run is then one
//! trace, across any number of workers.

use futures::FutureExt;
use temporalio_sdk::WorkerOptions;
use temporalio_sdk::interceptors::{ActivityInboundInterceptor, ExecuteActivityInput, ExecuteActivityOutput, Next};
use temporalio_sdk::workflow_interceptors::{
    ExecuteWorkflowInput, ExecuteWorkflowResult, WorkflowInterceptor, WorkflowInterceptorConstructor, WorkflowInterceptorContext,
    WorkflowInterceptorFuture, WorkflowNext,
};
use tracing::Instrument;

/// Target of the workflow-run spans. They are for logs only: the OpenTelemetry layer skips them,
/// because workflow code is replayed and a replay would export the span again (the SDK's
/// plugin exports workflow spans replay-safely instead).
pub const WORKFLOW_SPAN_TARGET: &str = "punctual::workflow";

/// Adds the span interceptors (and, when exporting, the SDK's OpenTelemetry plugin) to `options`.
pub fn install(options: &mut WorkerOptions) {
    crate::telemetry::install_sdk_tracing(options);
    options.activity_inbound_interceptor(ActivitySpans);
    options.workflow_interceptor(WorkflowInterceptorConstructor::new(|_| WorkflowSpans));
}

/// Runs each activity inside an `activity` span.
struct ActivitySpans;

impl ActivityInboundInterceptor for ActivitySpans {
    fn execute_activity<'a>(
        &'a self,
        input: ExecuteActivityInput,
        next: Next<'a, ExecuteActivityInput, ExecuteActivityOutput<'a>>,
    ) -> ExecuteActivityOutput<'a> {
        async move {
            // Made on first poll, not here: an outer OpenTelemetry interceptor makes its context
            // current only while polling, and that context must be this span's parent.
            let info = input.activity_info();
            let span = tracing::info_span!(
                "activity",
                activity_type = %info.activity_type,
                business_key = %info.activity_id,
                workflow_id = %info.workflow_id.as_deref().unwrap_or_default(),
                run_id = %info.workflow_run_id.as_deref().unwrap_or_default(),
                attempt = info.attempt,
            );
            next.run(input).instrument(span).await
        }
        .boxed()
    }
}

/// Runs each workflow (every activation of it) inside a `workflow` span. It only adds a span:
/// no command, timer or randomness, so replays are unaffected.
struct WorkflowSpans;

impl WorkflowInterceptor for WorkflowSpans {
    fn execute<'a>(
        &'a self,
        ctx: WorkflowInterceptorContext,
        input: ExecuteWorkflowInput,
        next: WorkflowNext<'a, ExecuteWorkflowInput, WorkflowInterceptorFuture<'a, ExecuteWorkflowResult>>,
    ) -> WorkflowInterceptorFuture<'a, ExecuteWorkflowResult> {
        let span = tracing::info_span!(
            target: WORKFLOW_SPAN_TARGET,
            "workflow",
            workflow_type = %ctx.workflow_type(),
            business_key = %ctx.workflow_id(),
            workflow_id = %ctx.workflow_id(),
            run_id = %ctx.run_id(),
        );
        let (workflow_type, workflow_id, run_id) =
            (ctx.workflow_type().to_owned(), ctx.workflow_id().to_owned(), ctx.run_id().to_owned());
        WorkflowInterceptorFuture::new(
            async move {
                crate::telemetry::annotate_current_otel_span(&workflow_type, &workflow_id, &run_id);
                next.run(input).await
            }
            .instrument(span),
        )
    }
}
