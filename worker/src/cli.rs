//! Command-line interface of the `punctual` binary.

use clap::{Args, Parser, Subcommand, ValueEnum};
use punctual_workflows::names;
use std::time::Duration;

/// punctual — exactly-once scheduled business jobs on Temporal.
///
/// Connection to Temporal uses the same environment configuration as the `temporal` CLI:
/// TEMPORAL_ADDRESS (default localhost:7233), TEMPORAL_NAMESPACE (default "default"),
/// TEMPORAL_API_KEY, TEMPORAL_TLS_* and TEMPORAL_PROFILE / temporal.toml profiles.
#[derive(Debug, Parser)]
#[command(name = "punctual", version, propagate_version = true)]
pub struct Cli {
    /// Log output format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "PUNCTUAL_LOG_FORMAT")]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Poll a task queue and run punctual's workflows and activities until SIGINT/SIGTERM.
    Worker(WorkerArgs),
}

/// How logs are written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Settings of `punctual worker`, validated once at start-up.
#[derive(Debug, Clone, Args)]
pub struct WorkerArgs {
    /// Task queue to poll; workflows must be started on the same queue.
    #[arg(long, env = "PUNCTUAL_TASK_QUEUE", default_value = names::DEFAULT_TASK_QUEUE)]
    pub task_queue: String,

    /// How long to keep retrying when the Temporal server does not answer at start-up.
    #[arg(long, env = "PUNCTUAL_CONNECT_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub connect_timeout: Duration,

    /// On SIGINT/SIGTERM, how long in-flight activities may run before they are cancelled.
    #[arg(long, env = "PUNCTUAL_SHUTDOWN_GRACE", default_value = "30s", value_parser = parse_duration)]
    pub shutdown_grace: Duration,
}

/// Parses `90s`, `2m`, `500ms` or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = text
        .find(|c: char| !c.is_ascii_digit())
        .map_or((text, "s"), |at| text.split_at(at));
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration (expected e.g. 500ms, 30s, 2m)"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        "h" => Ok(Duration::from_secs(n * 3600)),
        _ => Err(format!("`{text}` has unknown unit `{unit}` (use ms, s, m or h)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn durations_parse_or_name_the_problem() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("soon").unwrap_err().contains("`soon`"));
        assert!(parse_duration("3d").unwrap_err().contains("unknown unit `d`"));
    }

    #[test]
    fn task_queue_defaults_to_punctual() {
        let cli = Cli::try_parse_from(["punctual", "worker"]).unwrap();
        let Command::Worker(args) = cli.command;
        assert_eq!(args.task_queue, "punctual");
    }
}
