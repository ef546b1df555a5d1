//! `punctual chaos` flags and the two profiles: how long the run lasts, how many faults of each
//! kind it injects, and how long the drain may take before the run counts as failed.

use clap::{Args, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

/// Settings of `punctual chaos`.
#[derive(Debug, Clone, Args)]
pub struct ChaosArgs {
    /// How long and how hard: `ci` takes a few minutes, `soak` tens of minutes.
    #[arg(long, value_enum, default_value_t = Profile::Ci)]
    pub profile: Profile,

    /// Seed of the random fault plan; the same seed and profile replay the same plan. Default:
    /// from the clock (printed at start).
    #[arg(long)]
    pub seed: Option<u64>,

    /// The `temporal` CLI (server 1.32): `bash scripts/ensure-temporal.sh` prints it (`make
    /// chaos` passes it).
    #[arg(long, default_value = "temporal")]
    pub temporal_bin: PathBuf,

    /// Directory for the run's server database, ledger and logs. Default: a new directory under
    /// the system's temporary directory, removed after a passing run.
    #[arg(long)]
    pub dir: Option<PathBuf>,

    /// Keep the run's directory even when the run passes.
    #[arg(long)]
    pub keep: bool,

    /// Print the fault plan of the seed and stop, starting nothing.
    #[arg(long)]
    pub plan_only: bool,

    /// The ledger database: a SQLite file (its outage: an exclusive lock) or a throwaway
    /// PostgreSQL cluster (its outage: the server stopped and started again).
    #[arg(long, value_enum, default_value_t = LedgerKind::Sqlite)]
    pub ledger: LedgerKind,

    /// How the job's fires bill: a saga per invoice, or one activity per step for the whole
    /// fire. The duplicate starts by hand bill in the other mode, so both modes meet on the
    /// same keys.
    #[arg(long, value_enum, default_value_t = Billing::PerCustomer)]
    pub billing: Billing,
}

/// The billing mode of the chaos job (`FireBillingWorkflow`'s `mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Billing {
    /// A `PaymentSagaWorkflow` per invoice.
    PerCustomer,
    /// `GenerateBills`, `ChargeInvoices`, ... once per fire, a saga only where one is needed.
    Bulk,
}

impl Billing {
    /// As `FireBillingWorkflow`'s input spells it.
    pub fn input_value(self) -> &'static str {
        match self {
            Billing::PerCustomer => "per_customer",
            Billing::Bulk => "bulk",
        }
    }

    /// As the command line spells it.
    pub fn flag_value(self) -> &'static str {
        match self {
            Billing::PerCustomer => "per-customer",
            Billing::Bulk => "bulk",
        }
    }

    /// The other mode: what a duplicate started by hand uses.
    pub fn other(self) -> Self {
        match self {
            Billing::PerCustomer => Billing::Bulk,
            Billing::Bulk => Billing::PerCustomer,
        }
    }
}

/// Which database the run's ledger lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LedgerKind {
    /// A SQLite file shared by the workers (one host, `make run`'s setup).
    Sqlite,
    /// A PostgreSQL cluster of the run's own (the fleet's setup); needs the server binaries
    /// and the `postgres` OS user.
    Postgres,
}

/// A named set of [`Settings`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Profile {
    /// About three minutes; `make test` runs it.
    Ci,
    /// About half an hour.
    Soak,
}

/// What one run does; fixed per profile so a seed replays the same plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// How long the schedule fires (and faults are injected).
    pub window: Duration,
    /// The job's `every`.
    pub every: Duration,
    /// Demo customers seeded, by number (`punctual_activities::seed::demo_customer`); the job
    /// bills those in [`Settings::timezone`].
    pub customers: &'static [u32],
    /// Zone billed.
    pub timezone: &'static str,
    /// Worker processes on the one task queue.
    pub workers: usize,
    /// Faults per kind.
    pub worker_kills: usize,
    pub server_restarts: usize,
    pub ledger_outages: usize,
    pub provider_faults: usize,
    pub sink_faults: usize,
    pub duplicate_triggers: usize,
    /// Cuts of the last worker's network (where the machine allows `ip netns`).
    pub network_cuts: usize,
    /// Bound on the drain after the schedule stops; exceeding it fails the run.
    pub drain_limit: Duration,
    /// How the job bills (`--billing`; per customer unless asked).
    pub billing: Billing,
}

impl Profile {
    /// This profile's settings.
    pub fn settings(self) -> Settings {
        match self {
            // Five Shanghai customers: three who pay, a declined card (C00017) and a closed
            // account (C00023), so every fire has both kinds of compensation. Small on purpose:
            // each customer is a saga of several workflow tasks, and a 2-core machine running
            // the server, three debug-build workers and the sandboxes must keep up with a fire
            // every 5 s or the run measures a backlog instead of recovery.
            Profile::Ci => Settings {
                window: Duration::from_secs(100),
                every: Duration::from_secs(5),
                customers: &[1, 2, 3, 17, 23],
                timezone: "Asia/Shanghai",
                workers: 3,
                worker_kills: 3,
                server_restarts: 1,
                ledger_outages: 1,
                provider_faults: 3,
                sink_faults: 2,
                duplicate_triggers: 6,
                network_cuts: 1,
                drain_limit: Duration::from_secs(300),
                billing: Billing::PerCustomer,
            },
            Profile::Soak => Settings {
                window: Duration::from_secs(25 * 60),
                every: Duration::from_secs(5),
                customers: &[1, 2, 3, 17, 23],
                timezone: "Asia/Shanghai",
                workers: 3,
                worker_kills: 30,
                server_restarts: 3,
                ledger_outages: 6,
                provider_faults: 30,
                sink_faults: 15,
                duplicate_triggers: 40,
                network_cuts: 4,
                drain_limit: Duration::from_secs(600),
                billing: Billing::PerCustomer,
            },
        }
    }

    /// The name as typed on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Ci => "ci",
            Profile::Soak => "soak",
        }
    }
}
