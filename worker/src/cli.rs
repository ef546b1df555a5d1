//! Command-line interface of the `punctual` binary.

use crate::backends::BackendArgs;
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use punctual_workflows::names;
use std::{net::SocketAddr, time::Duration};

/// punctual — exactly-once scheduled business jobs on Temporal.
///
/// Connection to Temporal uses the same environment configuration as the `temporal` CLI:
/// TEMPORAL_ADDRESS (default localhost:7233), TEMPORAL_NAMESPACE (default "default"),
/// TEMPORAL_API_KEY, TEMPORAL_TLS_* and TEMPORAL_PROFILE / temporal.toml profiles.
///
/// Optional payload encryption (AES-256-GCM), read from the environment only and never printed:
/// PUNCTUAL_PAYLOAD_KEY (base64 of 32 bytes) with PUNCTUAL_PAYLOAD_KEY_ID, and retired keys for
/// reading older histories in PUNCTUAL_PAYLOAD_OLD_KEYS (`id=base64,id=base64`). With it, the
/// worker also needs PUNCTUAL_PSEUDONYM_KEY (base64 of 32 bytes, never rotated): customers are
/// then named by keyed pseudonyms in workflow ids, activity ids and search attributes.
#[derive(Debug, Parser)]
#[command(name = "punctual", version, propagate_version = true)]
pub struct Cli {
    /// Log output format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "PUNCTUAL_LOG_FORMAT")]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

/// Parses the command line, as `Cli::parse` does, but a bad value that came from a variable
/// names the variable. clap reports every bad value as its flag (`invalid value 'abc' for
/// '--workflow-slots <N>'`), which sends someone who set `PUNCTUAL_WORKFLOW_SLOTS` in a compose
/// file looking for a flag they never typed.
pub fn parse() -> Cli {
    let err = match Cli::try_parse() {
        Ok(cli) => return cli,
        Err(err) => err,
    };
    let note = from_variable(&err, &std::env::args().collect::<Vec<_>>());
    let _ = err.print();
    if let Some(variable) = note {
        eprintln!("note: that value came from the environment variable {variable}, not from the command line");
    }
    std::process::exit(err.exit_code())
}

/// The variable a rejected value was read from: the flag `err` names has an `env`, the variable
/// is set, and the command line does not carry the flag.
fn from_variable(err: &clap::Error, args: &[String]) -> Option<String> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if !matches!(err.kind(), ErrorKind::InvalidValue | ErrorKind::ValueValidation) {
        return None;
    }
    let Some(ContextValue::String(shown)) = err.get(ContextKind::InvalidArg) else { return None };
    let long = shown.strip_prefix("--")?.split([' ', '=']).next()?;
    let typed = args.iter().any(|a| a == &format!("--{long}") || a.starts_with(&format!("--{long}=")));
    if typed {
        return None;
    }
    let variable = env_of(&Cli::command(), long)?;
    std::env::var_os(&variable).is_some().then_some(variable)
}

/// The `env` of the flag `--long` anywhere in `command`'s tree.
fn env_of(command: &clap::Command, long: &str) -> Option<String> {
    command
        .get_arguments()
        .find(|arg| arg.get_long() == Some(long))
        .and_then(|arg| arg.get_env())
        .map(|env| env.to_string_lossy().into_owned())
        .or_else(|| command.get_subcommands().find_map(|sub| env_of(sub, long)))
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Poll a task queue and run punctual's workflows and activities until SIGINT/SIGTERM.
    Worker(WorkerArgs),
    /// Serve the sandbox payment provider (a Stripe-like test double) until SIGINT/SIGTERM.
    SandboxProvider(SandboxProviderArgs),
    /// Serve the sandbox notification sink until SIGINT/SIGTERM.
    NotifySink(NotifySinkArgs),
    /// Create the deterministic demo customers (C00001..) in the database; idempotent.
    Seed(SeedArgs),
    /// Print the custom search attributes punctual needs, one `Name=Type` per line.
    SearchAttributes,
    /// Print customers' pseudonyms (PUNCTUAL_PSEUDONYM_KEY): the `CustomerId` to search for.
    Pseudonym(PseudonymArgs),
    /// Serve Temporal's remote codec protocol with the payload keys, so the Web UI
    /// (`--ui-codec-endpoint`) and the `temporal` CLI (`--codec-endpoint`) show payloads decrypted.
    CodecServer(CodecServerArgs),
    /// Start (or join) the billing run of a business date; never starts a completed one again.
    BillingRun(crate::start::BillingRunArgs),
    /// The jobs file (punctual.toml) as Temporal schedules: apply, list, describe, pause, resume,
    /// trigger, backfill, delete, audit.
    Schedule(crate::schedule::ScheduleArgs),
    /// Runs that failed for good (the failed-run archive): list them, retry one by business key.
    Failures(crate::failures::FailuresArgs),
    /// Export workflow histories and replay them on this binary: check an upgrade first.
    History(crate::history::HistoryArgs),
    /// A bounded run under random faults (workers killed, server restarted, provider and ledger
    /// failing, duplicate triggers) that counts lost and duplicated effects; non-zero exit if any.
    Chaos(crate::chaos::ChaosArgs),
}

/// Settings of `punctual pseudonym`.
#[derive(Debug, Clone, Args)]
pub struct PseudonymArgs {
    /// Customer ids, e.g. C00042.
    #[arg(required = true)]
    pub customers: Vec<String>,
}

/// Settings of `punctual seed`.
#[derive(Debug, Clone, Args)]
pub struct SeedArgs {
    /// How many demo customers (C00001..C{N}); existing ones are left as they are.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub customers: u32,

    /// Seed only when the database has no customers at all.
    #[arg(long)]
    pub if_empty: bool,

    /// Ledger and business database: `sqlite://PATH` or `postgres://...`. Never printed.
    #[arg(long, env = "PUNCTUAL_DATABASE_URL", default_value = "sqlite://.data/ledger.db", hide_env_values = true)]
    pub database_url: String,
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

    /// How often the worker checks that its task queue is still served by its ledger (see
    /// `punctual.ledger/{task_queue}` in the README); on a mismatch it stops taking work.
    #[arg(long, env = "PUNCTUAL_LEDGER_CHECK_INTERVAL", default_value = "60s", value_parser = parse_duration)]
    pub ledger_check_interval: Duration,

    /// Serve Prometheus metrics on /metrics and the /healthz and /readyz probes at this address,
    /// e.g. 127.0.0.1:9464. Off when unset.
    #[arg(long, value_name = "ADDR", env = "PUNCTUAL_METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,

    #[command(flatten)]
    pub backends: BackendArgs,

    /// Provider or sink calls a bulk billing step (`"mode": "bulk"` runs) makes at once.
    #[arg(long, env = "PUNCTUAL_BULK_CONCURRENCY", default_value_t = punctual_activities::billing::DEFAULT_BULK_CONCURRENCY as u16,
          value_parser = clap::value_parser!(u16).range(1..=256))]
    pub bulk_concurrency: u16,

    /// Task slots, pollers and sticky cache; unset means the SDK's default.
    #[command(flatten)]
    pub tuning: crate::tuning::TuningArgs,
}

/// Settings of `punctual sandbox-provider`.
#[derive(Debug, Clone, Args)]
pub struct SandboxProviderArgs {
    /// Address to listen on; loopback unless you mean to expose it.
    #[arg(long, value_name = "ADDR", env = "PUNCTUAL_PROVIDER_LISTEN", default_value = "127.0.0.1:8081")]
    pub listen: SocketAddr,
}

/// Settings of `punctual codec-server`. The keys come from PUNCTUAL_PAYLOAD_KEY(_ID) and
/// PUNCTUAL_PAYLOAD_OLD_KEYS, as for every command.
#[derive(Debug, Clone, Args)]
pub struct CodecServerArgs {
    /// Address to listen on; loopback unless you mean to expose it (it decrypts for anyone who
    /// reaches it).
    #[arg(long, value_name = "ADDR", env = "PUNCTUAL_CODEC_LISTEN", default_value = "127.0.0.1:8089")]
    pub listen: SocketAddr,

    /// Web UI origins allowed to call it from a browser, comma-separated.
    #[arg(
        long,
        value_name = "ORIGINS",
        env = "PUNCTUAL_CODEC_ORIGINS",
        value_delimiter = ',',
        default_value = "http://localhost:8233,http://127.0.0.1:8233"
    )]
    pub origins: Vec<String>,

    /// Require this exact `Authorization` header (the CLI's `--codec-auth`, the UI's access
    /// token). Never printed.
    #[arg(long, value_name = "VALUE", env = "PUNCTUAL_CODEC_AUTH", hide_env_values = true)]
    pub auth: Option<String>,
}

/// Settings of `punctual notify-sink`.
#[derive(Debug, Clone, Args)]
pub struct NotifySinkArgs {
    /// Address to listen on; loopback unless you mean to expose it.
    #[arg(long, value_name = "ADDR", env = "PUNCTUAL_SINK_LISTEN", default_value = "127.0.0.1:8082")]
    pub listen: SocketAddr,
}

/// Parses `90s`, `2m`, `500ms` or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = text.find(|c: char| !c.is_ascii_digit()).map_or((text, "s"), |at| text.split_at(at));
    let n: u64 = number.parse().map_err(|_| format!("`{text}` is not a duration (expected e.g. 500ms, 30s, 2m)"))?;
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
        let Command::Worker(args) = cli.command else { panic!("expected the worker command") };
        assert_eq!(args.task_queue, "punctual");
    }

    #[test]
    fn sandboxes_listen_on_loopback_by_default() {
        let cli = Cli::try_parse_from(["punctual", "sandbox-provider"]).unwrap();
        let Command::SandboxProvider(args) = cli.command else { panic!("expected sandbox-provider") };
        assert_eq!(args.listen, "127.0.0.1:8081".parse().unwrap());
        let cli = Cli::try_parse_from(["punctual", "notify-sink", "--listen", "127.0.0.1:9000"]).unwrap();
        let Command::NotifySink(args) = cli.command else { panic!("expected notify-sink") };
        assert_eq!(args.listen, "127.0.0.1:9000".parse().unwrap());
    }

    #[test]
    fn metrics_are_off_unless_an_address_is_given() {
        let cli = Cli::try_parse_from(["punctual", "worker"]).unwrap();
        let Command::Worker(args) = cli.command else { panic!("expected the worker command") };
        assert_eq!(args.metrics_addr, None);
        let cli = Cli::try_parse_from(["punctual", "worker", "--metrics-addr", "127.0.0.1:9464"]).unwrap();
        let Command::Worker(args) = cli.command else { panic!("expected the worker command") };
        assert_eq!(args.metrics_addr, Some("127.0.0.1:9464".parse().unwrap()));
        let err = Cli::try_parse_from(["punctual", "worker", "--metrics-addr", "9464"]).unwrap_err().to_string();
        assert!(err.contains("--metrics-addr") && err.contains("9464"), "{err}");
    }

    #[test]
    fn a_bad_listen_address_is_named() {
        let err = Cli::try_parse_from(["punctual", "notify-sink", "--listen", "localhost"]).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("--listen") && text.contains("localhost"), "{text}");
    }
}
