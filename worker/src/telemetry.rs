//! Tracing set up once per process: logs to stderr, and (with the `otel` feature, when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set) spans exported over OTLP/HTTP.

#[cfg(feature = "otel")]
mod otel;

use crate::cli::LogFormat;
use std::io::IsTerminal;
use temporalio_sdk::WorkerOptions;
use tracing_subscriber::{EnvFilter, Layer, layer::SubscriberExt, util::SubscriberInitExt};

/// Default filter: our crates at info, the SDK at warn. Override with `RUST_LOG`.
const DEFAULT_FILTER: &str = "warn,punctual=info,punctual_worker=info,punctual_activities=info,punctual_workflows=info";

/// The standard OpenTelemetry variable that turns export on.
pub const OTLP_ENDPOINT_VAR: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";

/// What has to be flushed before the process exits.
#[must_use = "call shutdown() before exiting, or buffered spans are lost"]
pub struct Telemetry {
    #[cfg(feature = "otel")]
    exporter: Option<otel::Exporter>,
}

impl Telemetry {
    /// Exports the spans still buffered and stops the exporter. Bounded by the exporter's own
    /// timeout, so an unreachable collector cannot hold up shutdown for long.
    pub fn shutdown(self) {
        #[cfg(feature = "otel")]
        if let Some(exporter) = self.exporter {
            exporter.shutdown();
        }
    }
}

/// Installs the global subscriber writing to stderr in `format`, plus the OTLP exporter when
/// asked for. Safe to call twice (tests): the second call changes nothing.
pub fn init(format: LogFormat) -> Telemetry {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    // Colours only on a terminal (and not under NO_COLOR): in a file, a pipe or journald the
    // escape codes are noise around every field and break `grep key=value`.
    let ansi = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_ansi(ansi);
    let fmt = match format {
        LogFormat::Text => fmt.boxed(),
        LogFormat::Json => fmt.json().flatten_event(true).boxed(),
    };
    let registry = tracing_subscriber::registry().with(filter).with(fmt);

    #[cfg(feature = "otel")]
    {
        let (layer, exporter, problem) = match otel::Exporter::from_env() {
            Ok(Some((exporter, layer))) => (Some(layer), Some(exporter), None),
            Ok(None) => (None, None, None),
            Err(err) => (None, None, Some(err)),
        };
        if registry.with(layer).try_init().is_err() {
            // Already set up (a second call in tests): keep the first; drop this exporter.
            return Telemetry { exporter: None };
        }
        if let Some(err) = problem {
            tracing::warn!(error = %err, "OpenTelemetry export is off: could not set up the OTLP exporter");
        }
        if exporter.is_some() {
            tracing::info!("exporting spans over OTLP/HTTP ({OTLP_ENDPOINT_VAR})");
        }
        Telemetry { exporter }
    }
    #[cfg(not(feature = "otel"))]
    {
        if registry.try_init().is_ok() && std::env::var_os(OTLP_ENDPOINT_VAR).is_some() {
            tracing::warn!("{OTLP_ENDPOINT_VAR} is set but this build has no `otel` feature: spans are not exported");
        }
        Telemetry {}
    }
}

/// When spans are exported, adds the SDK's OpenTelemetry plugin to `options` (before any other
/// interceptor, so it is the outermost). Otherwise leaves them as they are.
pub fn install_sdk_tracing(options: &mut WorkerOptions) {
    #[cfg(feature = "otel")]
    otel::install_plugin(options);
    #[cfg(not(feature = "otel"))]
    let _ = options;
}

/// Puts the business key, workflow id and run id on the SDK's span of the workflow being
/// polled, if one is recording (not during replay, and only when exporting).
pub fn annotate_current_otel_span(workflow_type: &str, workflow_id: &str, run_id: &str) {
    #[cfg(feature = "otel")]
    otel::annotate_current_span(workflow_type, workflow_id, run_id);
    #[cfg(not(feature = "otel"))]
    let _ = (workflow_type, workflow_id, run_id);
}
