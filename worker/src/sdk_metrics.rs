//! The Temporal SDK's own worker metrics (polls, task slots, latencies, sticky cache), exported
//! through the SDK core's Prometheus exporter and merged into punctual's `/metrics`.
//!
//! The exporter cannot share our port: `start_prometheus_metric_exporter` binds its own
//! listener and serves only `/metrics`, and its registry is private to `temporalio-common`, so
//! nothing else can read it. So it listens on an ephemeral loopback port that nobody outside
//! the process is told about, and our endpoint fetches its text on each scrape and appends it
//! after ours. The SDK's names start with `temporal_`, ours with `punctual_`: no family clashes.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use temporalio_common::telemetry::metrics::CoreMeter;
use temporalio_common::telemetry::{PrometheusExporterOptions, TelemetryOptions, start_prometheus_metric_exporter};
use temporalio_sdk::runtime::RuntimeOptions;

/// How long one scrape of the SDK's exporter may take (it is in-process, so this only bounds a
/// wedged exporter).
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the SDK's exporter could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SdkMetricsError {
    /// Binding its loopback listener failed.
    #[error("starting the Temporal SDK's Prometheus exporter on loopback: {0}")]
    Exporter(String),
    /// The runtime options were refused.
    #[error("building the Temporal SDK runtime options: {0}")]
    Runtime(String),
}

/// Where the SDK's exporter listens, and a client to read it.
#[derive(Debug, Clone)]
pub struct SdkMetrics {
    url: String,
    http: reqwest::Client,
}

impl SdkMetrics {
    /// Starts the SDK's exporter on `127.0.0.1:0` and returns the runtime options that send the
    /// worker's metrics to it. Must run inside the Tokio runtime the worker will use.
    pub fn start() -> Result<(Self, RuntimeOptions), SdkMetricsError> {
        let options = PrometheusExporterOptions::builder().socket_addr(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).build();
        let started = start_prometheus_metric_exporter(options).map_err(|e| SdkMetricsError::Exporter(format!("{e:#}")))?;
        let meter: Arc<dyn CoreMeter> = started.meter;
        let telemetry = TelemetryOptions::builder().metrics(meter).build();
        let runtime = RuntimeOptions::builder().telemetry_options(telemetry).build().map_err(SdkMetricsError::Runtime)?;
        let http =
            reqwest::Client::builder().timeout(SCRAPE_TIMEOUT).build().map_err(|e| SdkMetricsError::Exporter(e.to_string()))?;
        tracing::debug!(exporter = %started.bound_addr, "Temporal SDK metrics exporter on loopback");
        Ok((Self { url: format!("http://{}/metrics", started.bound_addr), http }, runtime))
    }

    /// The SDK's metrics in the Prometheus text format.
    pub async fn scrape(&self) -> Result<String, reqwest::Error> {
        self.http.get(&self.url).send().await?.error_for_status()?.text().await
    }
}
