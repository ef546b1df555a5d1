//! OpenTelemetry export over OTLP/HTTP (protobuf), on when `OTEL_EXPORTER_OTLP_ENDPOINT` is set.
//!
//! Two sources of spans share one tracer provider:
//! - the Temporal SDK's OpenTelemetry plugin: `RunWorkflow:*`, `StartActivity:*`,
//!   `StartChildWorkflow:*`, `RunActivity:*` spans. It carries the trace context to child
//!   workflows, activities and continued runs in the `_tracer-data` header (W3C trace context,
//!   the same header the other Temporal SDKs use), so a billing run and all its batches, sagas
//!   and activities are one trace, whichever worker runs them. A run started without a context
//!   (by a schedule, or `punctual billing-run`) is the root of its trace; its trace id comes from
//!   the run's own replay-safe randomness, so it is the same after a replay.
//! - our `tracing` spans (see `crate::spans`), through `tracing-opentelemetry`, nested in the
//!   plugin's spans and carrying `business_key`, `workflow_id`, `run_id`, `activity_type`,
//!   `attempt`.
//!
//! The rest is standard OpenTelemetry configuration: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`,
//! `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_SERVICE_NAME` (default `punctual`),
//! `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_BSP_*`. Neither the endpoint nor the headers (which may
//! hold a collector's API key) are logged.

use super::OTLP_ENDPOINT_VAR;
use crate::spans::WORKFLOW_SPAN_TARGET;
use opentelemetry::KeyValue;
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use std::sync::atomic::{AtomicBool, Ordering};
use temporalio_sdk::opentelemetry::{OpenTelemetryPlugin, WorkflowIdGenerator};
use temporalio_sdk::{WorkerOptions, WorkerPlugin};
use tracing::Subscriber;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{Layer, filter::filter_fn};

/// Set once the exporter is up: workers built after that get the SDK plugin.
static EXPORTING: AtomicBool = AtomicBool::new(false);

/// The running exporter; flushed by [`Exporter::shutdown`].
pub(super) struct Exporter {
    provider: SdkTracerProvider,
}

impl Exporter {
    /// The exporter and the `tracing` layer feeding it, or `None` when the endpoint is not set.
    pub(super) fn from_env<S>() -> Result<Option<(Self, impl Layer<S>)>, opentelemetry_otlp::ExporterBuildError>
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        if std::env::var_os(OTLP_ENDPOINT_VAR).is_none_or(|v| v.is_empty()) {
            return Ok(None);
        }
        let exporter = opentelemetry_otlp::SpanExporter::builder().with_http().with_protocol(Protocol::HttpBinary).build()?;
        let mut resource = Resource::builder();
        if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
            resource = resource.with_service_name("punctual");
        }
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            // Replay-safe ids for the plugin's workflow spans (required by the plugin).
            .with_id_generator(WorkflowIdGenerator::default())
            .with_resource(resource.build())
            .build();
        opentelemetry::global::set_tracer_provider(provider.clone());
        let layer = tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("punctual"))
            // Workflow-run spans are replayed with the workflow: they stay in the logs only.
            .with_filter(filter_fn(|meta| meta.target() != WORKFLOW_SPAN_TARGET));
        EXPORTING.store(true, Ordering::SeqCst);
        Ok(Some((Self { provider }, layer)))
    }

    pub(super) fn shutdown(self) {
        EXPORTING.store(false, Ordering::SeqCst);
        if let Err(err) = self.provider.shutdown() {
            eprintln!("warning: exporting the last spans failed: {err}");
        }
    }
}

/// Adds the SDK's OpenTelemetry interceptors to `options` when exporting.
pub(super) fn install_plugin(options: &mut WorkerOptions) {
    if !EXPORTING.load(Ordering::SeqCst) {
        return;
    }
    if let Err(err) = OpenTelemetryPlugin::builder().build().configure_worker_options(options) {
        tracing::warn!(error = %err, "Temporal OpenTelemetry plugin not installed: workflows are not traced");
    }
}

pub(super) fn annotate_current_span(workflow_type: &str, workflow_id: &str, run_id: &str) {
    let context = opentelemetry::Context::current();
    let span = context.span();
    if span.is_recording() {
        span.set_attribute(KeyValue::new("workflow_type", workflow_type.to_owned()));
        span.set_attribute(KeyValue::new("business_key", workflow_id.to_owned()));
        span.set_attribute(KeyValue::new("workflow_id", workflow_id.to_owned()));
        span.set_attribute(KeyValue::new("run_id", run_id.to_owned()));
    }
}
