//! Tracing set up once per process.

use crate::cli::LogFormat;
use tracing_subscriber::EnvFilter;

/// Default filter: our crates at info, the SDK at warn. Override with `RUST_LOG`.
const DEFAULT_FILTER: &str = "warn,punctual=info,punctual_worker=info,punctual_activities=info,punctual_workflows=info";

/// Installs the global subscriber writing to stderr in `format`. Safe to call twice (tests).
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _already_set = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}
