//! Flags of `punctual schedule ...`.

use clap::{Args, Subcommand, ValueEnum};
use punctual_workflows::names;
use std::path::PathBuf;
use std::time::Duration;

/// `punctual schedule`: the job file's schedules on the server.
#[derive(Debug, Args)]
pub struct ScheduleArgs {
    /// The jobs file.
    #[arg(long, global = true, env = "PUNCTUAL_CONFIG", default_value = "punctual.toml")]
    pub config: PathBuf,

    /// Task queue the workers poll (the schedules start their fires there).
    #[arg(long, global = true, env = "PUNCTUAL_TASK_QUEUE", default_value = names::DEFAULT_TASK_QUEUE)]
    pub task_queue: String,

    /// How long to retry an unreachable server.
    #[arg(long, global = true, default_value = "10s", value_parser = crate::cli::parse_duration)]
    pub connect_timeout: Duration,

    #[command(subcommand)]
    pub command: ScheduleCommand,
}

/// The schedule subcommands.
#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// Create, update and delete punctual's schedules to match the jobs file (idempotent).
    Apply {
        /// Print what would change, change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// The schedules punctual owns: paused or not, next fires, missed counts.
    List,
    /// A job's next fire times in its own zone, the business keys they map to, and punctual's
    /// own preview beside the server's.
    Describe {
        /// Job name.
        job: String,
        /// How many upcoming fires.
        #[arg(long, default_value_t = 10)]
        count: usize,
    },
    /// Pause a job's schedule.
    Pause {
        /// Job name.
        job: String,
        /// Why (shown by `list` and `temporal schedule describe`).
        #[arg(long)]
        reason: String,
    },
    /// Resume a paused job's schedule.
    Resume {
        /// Job name.
        job: String,
    },
    /// Fire a job now; with --business-date, run that date's occurrence (joins it if it exists).
    Trigger {
        /// Job name.
        job: String,
        /// Business date YYYY-MM-DD.
        #[arg(long)]
        business_date: Option<String>,
        /// Run an occurrence that is not due yet: a date whose fire is ahead, or, without
        /// --business-date, today's slot still to come (refused without it: a mistyped year would
        /// make the date's effects months early, and its own fire would then find them done).
        #[arg(long)]
        allow_future: bool,
    },
    /// Start the occurrences of a date range (never repeats an effect).
    Backfill {
        /// Job name.
        job: String,
        /// First business date, YYYY-MM-DD.
        #[arg(long)]
        from: String,
        /// Last business date, YYYY-MM-DD.
        #[arg(long)]
        to: String,
        /// Which occurrences to start.
        #[arg(long, value_enum, default_value_t = BackfillMode::MissingOnly)]
        mode: BackfillMode,
        /// Ledger database, to see what already ran (also past Temporal's retention). Never printed.
        #[arg(long, env = "PUNCTUAL_DATABASE_URL", default_value = "sqlite://.data/ledger.db", hide_env_values = true)]
        database_url: String,
    },
    /// Delete a job's schedule (fires already started finish).
    Delete {
        /// Job name.
        job: String,
    },
    /// Print the input of `ScheduledJobWorkflow` for a job, for a legacy cron workflow:
    /// `temporal workflow start --cron '...' --type ScheduledJobWorkflow --input "$(punctual schedule input JOB)"`.
    Input {
        /// Job name.
        job: String,
    },
    /// Compare the occurrences a date range should have with what the ledger holds.
    Audit {
        /// First business date, YYYY-MM-DD.
        #[arg(long)]
        from: String,
        /// Last business date, YYYY-MM-DD.
        #[arg(long)]
        to: String,
        /// Only this job.
        #[arg(long)]
        job: Option<String>,
        /// Start the missing occurrences.
        #[arg(long)]
        repair: bool,
        /// The business date punctual took the jobs over, YYYY-MM-DD: earlier dates are not its to
        /// have run. Default: when each job's schedule was created, or its first occurrence was
        /// recorded, whichever is earlier.
        #[arg(long)]
        since: Option<String>,
        /// Ledger database. Never printed.
        #[arg(long, env = "PUNCTUAL_DATABASE_URL", default_value = "sqlite://.data/ledger.db", hide_env_values = true)]
        database_url: String,
    },
}

/// What `backfill` starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum BackfillMode {
    /// Occurrences with no record at all.
    MissingOnly,
    /// Occurrences that failed (and missing ones are left alone).
    FailedOnly,
    /// Every occurrence, completed ones included: their workflows run again and every effect is
    /// replayed from the ledger, not repeated.
    Force,
}
