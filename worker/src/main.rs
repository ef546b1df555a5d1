//! `punctual`: parse flags, set up tracing, wire signals, and hand over to the library.

// Output goes through `out!`, which ends quietly on a closed pipe where `println!` panics.
#![warn(clippy::print_stdout)]

use anyhow::Context;
use punctual_worker::{
    cli::{Cli, CodecServerArgs, Command, NotifySinkArgs, PseudonymArgs, SandboxProviderArgs, SeedArgs, WorkerArgs},
    codec,
    connect::TemporalTarget,
    ledger_fence,
    metrics_server::{self, Readiness},
    registration, run, sandbox,
    sdk_metrics::SdkMetrics,
    shutdown, telemetry,
    tokio_runtime::Flavor,
};
use std::net::SocketAddr;
use std::process::ExitCode;
use temporalio_sdk::runtime::RuntimeOptions;
use tokio::net::TcpListener;

fn main() -> ExitCode {
    let cli = punctual_worker::cli::parse();
    // Before the runtime exists: a bad value stops here, naming the variable.
    let runtime = match Flavor::from_env().and_then(|flavor| flavor.build().map_err(|e| format!("tokio runtime: {e}"))) {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> ExitCode {
    let telemetry = telemetry::init(cli.log_format);
    let result = match cli.command {
        Command::Worker(args) => worker(args).await,
        Command::SandboxProvider(args) => sandbox_provider(args).await,
        Command::NotifySink(args) => notify_sink(args).await,
        Command::Seed(args) => seed(args).await,
        Command::BillingRun(args) => billing_run(args).await,
        Command::Schedule(args) => punctual_worker::schedule::commands::run(args).await,
        Command::Failures(args) => punctual_worker::failures::run(args).await,
        Command::History(args) => punctual_worker::history::run(args).await,
        Command::Chaos(args) => punctual_worker::chaos::run(args).await,
        Command::Pseudonym(args) => pseudonym(args),
        Command::CodecServer(args) => codec_server(args).await,
        Command::SearchAttributes => {
            for (name, kind) in punctual_workflows::names::SEARCH_ATTRIBUTES {
                punctual_worker::out!("{name}={kind}");
            }
            Ok(())
        }
    };
    let code = match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // One line, the whole cause chain, no backtrace: this is read by people.
            tracing::error!(error = %format!("{err:#}"), "punctual stopped");
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    };
    // Last: the spans of the whole run, its failure included, are flushed.
    telemetry.shutdown();
    code
}

async fn worker(args: WorkerArgs) -> anyhow::Result<()> {
    args.tuning.validate()?;
    anyhow::ensure!(
        args.ledger_check_interval >= std::time::Duration::from_secs(1),
        "PUNCTUAL_LEDGER_CHECK_INTERVAL (--ledger-check-interval) must be at least 1s"
    );
    // Probes answer from the start, while the database and the server are still being reached.
    let readiness = Readiness::default();
    let runtime = match args.metrics_addr {
        Some(addr) => serve_metrics(addr, readiness.clone()).await?,
        None => RuntimeOptions::default(),
    };
    let target = TemporalTarget::from_env()?;
    tracing::info!(
        address = %target.address(),
        namespace = %target.namespace(),
        payload_key_id = target.payload_key_id().unwrap_or("none (payloads in the clear)"),
        "connecting to Temporal"
    );
    let pseudonyms = codec::pseudonyms_from_env(target.payload_key_id().is_some())?;
    tracing::info!(customer_pseudonyms = pseudonyms.is_keyed(), "customers shown in Temporal");
    // Open the database before polling: a worker that cannot record effects must not take work.
    let billing = args
        .backends
        .billing_activities()
        .await?
        .with_pseudonyms(pseudonyms)
        .with_bulk_concurrency(usize::from(args.bulk_concurrency));
    let identity = billing.ledger().identity().await.context("reading the ledger's identity")?;
    let marker = ledger_fence::Marker::of(&identity, billing.ledger().location());
    let client = target.connect(args.connect_timeout).await?;
    // Before polling: a worker on other books than its queue's would perform their effects again.
    let fenced = ledger_fence::check_at_start(&client, &args.task_queue, &marker, args.connect_timeout).await?;
    tracing::info!(task_queue = %args.task_queue, ledger_id = %marker.ledger_id, ?fenced, "task queue served by this ledger");
    let mut options = registration::worker_options(&args.task_queue, args.shutdown_grace, billing, client.clone())
        .context("registering workflows")?;
    args.tuning.apply(&mut options);
    tracing::info!(tuning = %args.tuning.summary(), "worker tuning");

    for warning in punctual_worker::jobs::calendar_horizon::shipped_ending_soon(chrono::Utc::now().date_naive()) {
        tracing::warn!("{warning}");
    }
    let watch = ledger_fence::watch(client.clone(), args.task_queue.clone(), marker, args.ledger_check_interval);
    let fence_lost = std::sync::Mutex::new(None);
    // Installed now, before "worker polling" is logged: a SIGTERM sent on seeing it drains.
    let signal = shutdown::signal();
    let stop = async {
        tokio::select! {
            () = signal => {}
            lost = watch => {
                tracing::error!(error = %lost, "this worker's ledger no longer serves its task queue: stopping");
                *fence_lost.lock().unwrap_or_else(|p| p.into_inner()) = Some(lost);
            }
        }
    };
    run::run_worker_observed(client, options, runtime, readiness, stop).await?;
    match fence_lost.into_inner().unwrap_or_else(|p| p.into_inner()) {
        Some(lost) => Err(lost.into()),
        None => Ok(()),
    }
}

/// Prints each customer's pseudonym: what to search `CustomerId` (and saga ids) for.
fn pseudonym(args: PseudonymArgs) -> anyhow::Result<()> {
    let pseudonyms = codec::pseudonyms_from_env(false)?;
    anyhow::ensure!(
        pseudonyms.is_keyed(),
        "{} is not set: customers are shown in Temporal by their ids",
        codec::PSEUDONYM_KEY_VAR
    );
    for customer in &args.customers {
        let shown = pseudonyms.of(customer).unwrap_or_default();
        punctual_worker::out!("{customer}\t{shown}\tCustomerId = '{shown}'");
    }
    Ok(())
}

async fn codec_server(args: CodecServerArgs) -> anyhow::Result<()> {
    let keys = codec::KeyRing::from_env()?;
    anyhow::ensure!(
        !keys.is_empty(),
        "no payload key is configured: set {} and {} (and {} for retired keys) to what the workers use",
        codec::KEY_VAR,
        codec::KEY_ID_VAR,
        codec::OLD_KEYS_VAR
    );
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {} for the codec server (--listen / PUNCTUAL_CODEC_LISTEN)", args.listen))?;
    if !args.listen.ip().is_loopback() && args.auth.is_none() {
        tracing::warn!(addr = %args.listen, "codec server beyond loopback without PUNCTUAL_CODEC_AUTH: anyone who reaches it can decrypt payloads");
    }
    tracing::info!(
        addr = %listener.local_addr()?,
        key_ids = ?keys.ids(),
        origins = ?args.origins,
        auth = args.auth.is_some(),
        "serving /decode and /encode"
    );
    let server = codec::server::CodecServer::new(codec::EncryptionCodec::new(keys), args.auth, args.origins);
    server.serve(listener, shutdown::signal()).await.context("serving the codec server")
}

/// Starts `/metrics`, `/healthz` and `/readyz` on `addr`; returns the SDK runtime options that
/// feed the SDK's own worker metrics into it.
async fn serve_metrics(addr: SocketAddr, readiness: Readiness) -> anyhow::Result<RuntimeOptions> {
    let listener = metrics_server::bind(addr)
        .await
        .with_context(|| format!("listening on {addr} for metrics (--metrics-addr / PUNCTUAL_METRICS_ADDR)"))?;
    let (sdk, runtime) = SdkMetrics::start()?;
    tokio::spawn(async move {
        if let Err(err) = metrics_server::serve(listener, Some(sdk), readiness, std::future::pending()).await {
            tracing::error!(error = %err, "metrics endpoint stopped");
        }
    });
    Ok(runtime)
}

async fn sandbox_provider(args: SandboxProviderArgs) -> anyhow::Result<()> {
    let listener =
        TcpListener::bind(args.listen).await.with_context(|| format!("listening on {} for the sandbox provider", args.listen))?;
    sandbox::serve_provider(listener, shutdown::signal()).await.context("serving the sandbox provider")
}

async fn notify_sink(args: NotifySinkArgs) -> anyhow::Result<()> {
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {} for the notification sink", args.listen))?;
    sandbox::serve_sink(listener, shutdown::signal()).await.context("serving the notification sink")
}

async fn seed(args: SeedArgs) -> anyhow::Result<()> {
    let ledger = punctual_activities::ledger::Ledger::connect(&args.database_url)
        .await
        .context("opening the database (PUNCTUAL_DATABASE_URL)")?;
    let existing = punctual_activities::seed::customer_count(&ledger).await.context("counting customers")?;
    if args.if_empty && existing > 0 {
        punctual_worker::out!("database already has {existing} customers: not seeding");
        return Ok(());
    }
    let inserted = punctual_activities::seed::seed_customers(&ledger, args.customers).await.context("seeding demo customers")?;
    punctual_worker::out!("seeded {inserted} demo customers ({} already there)", u64::from(args.customers) - inserted);
    Ok(())
}

async fn billing_run(args: punctual_worker::start::BillingRunArgs) -> anyhow::Result<()> {
    use punctual_worker::start::{Started, start_billing_run};
    let target = TemporalTarget::from_env()?;
    let (started, summary) = start_billing_run(&target, &args).await?;
    match started {
        Started::Running { workflow_id, run_id } => punctual_worker::out!("running {workflow_id} (run {run_id})"),
        Started::AlreadyCompleted { workflow_id } => {
            punctual_worker::out!(
                "{workflow_id} already completed: not started again (see `temporal workflow show --workflow-id {workflow_id}`)"
            )
        }
        Started::Rerun { workflow_id, run_id, failed } => punctual_worker::out!(
            "{workflow_id} completed with {failed} customer(s) failed: running it again (run {run_id}); what was done replays"
        ),
    }
    if let Some(summary) = summary {
        punctual_worker::out!("{}", serde_json::to_string_pretty(&summary)?);
        // A script must be able to tell from the exit code that customers were not billed.
        if summary.totals.failed > 0 {
            anyhow::bail!(
                "{} of {} customer(s) failed (see `punctual failures list`); once the cause is fixed, run `punctual billing-run` \
                 for the date again: it finishes them",
                summary.totals.failed,
                summary.totals.customers
            );
        }
    }
    Ok(())
}
