//! The system under test, all on loopback in one directory: a file-backed Temporal dev server,
//! the sandbox provider and sink, a SQLite ledger seeded with demo customers, N `punctual worker`
//! processes on one task queue, and the jobs file with the one job the run applies.

use super::ledger_lock::LedgerLock;
use super::netns::Partition;
use super::postgres::PgServer;
use super::process::{Process, Spec};
use super::profile::{Billing, LedgerKind, Settings};
use super::sandbox_client::Sandboxes;
use super::server::DevServer;
use super::timeline::Timeline;
use super::tools::Tools;
use anyhow::{Context, bail};
use punctual_activities::ledger::Ledger;
use punctual_activities::seed::demo_customer;
use punctual_workflows::jobs::Job;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Name of the run's job (and so of its schedule, `punctual-chaos`, and keys, `chaos/...`).
pub const JOB: &str = "chaos";
/// The run's task queue.
pub const TASK_QUEUE: &str = "punctual-chaos";
/// How long a restarted worker keeps dialling a server that is down before it gives up (the
/// supervisor then starts it again).
const WORKER_CONNECT_TIMEOUT: &str = "120s";
/// A worker that exited on its own is started again after this pause (it exits at once while
/// the ledger database refuses connections, and would otherwise be restarted in a tight loop).
const RESTART_BACKOFF: Duration = Duration::from_secs(3);
/// How long a worker may take to shut down gracefully at the end of a run before it is killed.
const WORKER_STOP_GRACE: Duration = Duration::from_secs(15);

/// Everything the run started.
#[derive(Debug)]
pub struct System {
    /// The run's directory.
    pub dir: PathBuf,
    /// The server.
    pub server: DevServer,
    /// Worker processes, `worker-1`...
    pub workers: Vec<Process>,
    /// Provider and sink processes: never faulted by killing (their state is what the verifier
    /// reads), only through `/faults`.
    pub sandboxes_processes: Vec<Process>,
    /// Clients for the sandboxes.
    pub sandboxes: Sandboxes,
    /// The CLI tools pointed at this system.
    pub tools: Tools,
    /// The ledger database file (SQLite).
    pub db_path: PathBuf,
    /// The ledger's PostgreSQL cluster (`--ledger postgres`).
    pub postgres: Option<PgServer>,
    /// The ledger, for the verifier.
    pub ledger: Ledger,
    /// The run's job, resolved from the jobs file the run wrote.
    pub job: Job,
    /// How the job bills.
    pub billing: Billing,
    /// The ledger lock while a SQLite ledger outage lasts.
    pub lock: Option<LedgerLock>,
    /// The last worker's network namespace, or why this machine cannot make one (the network
    /// cuts of the plan are then skipped, saying so).
    pub partition: Result<Partition, String>,
    /// When each worker that exited on its own was found down (restarted after a pause).
    crashed: Vec<Option<Instant>>,
}

fn free_port() -> anyhow::Result<u16> {
    let [port] = free_ports()?;
    Ok(port)
}

/// `N` distinct free loopback ports. Every listener is held until all are bound: asked one
/// after the other, the kernel once handed the provider and the sink the same port, and the sink
/// died on "address in use" (a CI run).
fn free_ports<const N: usize>() -> anyhow::Result<[u16; N]> {
    let listeners: Vec<TcpListener> =
        (0..N).map(|_| TcpListener::bind("127.0.0.1:0")).collect::<Result<_, _>>().context("finding free loopback ports")?;
    let mut ports = [0; N];
    for (port, listener) in ports.iter_mut().zip(&listeners) {
        *port = listener.local_addr().context("reading a bound loopback port")?.port();
    }
    Ok(ports)
}

/// The jobs file of the run: one job billing each fire for its own period, fires overlapping
/// freely (`allow_all`: a slow fire must not hold the next back) and missed fires caught up.
pub(crate) fn jobs_file(settings: &Settings) -> String {
    format!(
        "# Written by `punctual chaos`: each fire bills the zone's customers for its own period.\n\
         [jobs.{JOB}]\n\
         workflow = \"FireBillingWorkflow\"\n\
         input = {{ timezone = \"{tz}\", mode = \"{mode}\" }}\n\
         timezone = \"{tz}\"\n\
         every = \"{every}s\"\n\
         overlap = \"allow_all\"\n\
         catchup_window = \"1h\"\n",
        tz = settings.timezone,
        every = settings.every.as_secs(),
        mode = settings.billing.input_value(),
    )
}

impl System {
    /// Starts everything and applies the job's schedule; returns once the schedule exists.
    pub async fn up(
        dir: &Path,
        temporal: &Path,
        ledger_kind: LedgerKind,
        settings: &Settings,
        timeline: &Timeline,
    ) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let punctual = std::env::current_exe().context("finding the punctual executable")?;

        let port = free_port()?;
        let server = DevServer::start(temporal, port, &dir.join("temporal.db"), &dir.join("temporal.log")).await?;
        timeline.note(format!("Temporal dev server on {} (file {})", server.address, dir.join("temporal.db").display()));

        let [provider_port, sink_port] = free_ports()?;
        let sandbox = |command: &str, port: u16| Spec {
            program: punctual.clone(),
            args: vec![command.to_owned(), "--listen".to_owned(), format!("127.0.0.1:{port}")],
            env: vec![],
        };
        let provider = Process::start("provider", sandbox("sandbox-provider", provider_port), &dir.join("provider.log"))?;
        let sink = Process::start("sink", sandbox("notify-sink", sink_port), &dir.join("sink.log"))?;
        let sandboxes = Sandboxes::new(format!("http://127.0.0.1:{provider_port}"), format!("http://127.0.0.1:{sink_port}"));
        wait_for(&format!("{}/healthz", sandboxes.provider)).await?;
        wait_for(&format!("{}/healthz", sandboxes.sink)).await?;
        timeline.note(format!("payment provider at {}, notification sink at {}", sandboxes.provider, sandboxes.sink));

        let db_path = dir.join("ledger.db");
        let postgres = match ledger_kind {
            LedgerKind::Sqlite => None,
            LedgerKind::Postgres => Some(PgServer::start(dir, free_port()?).await?),
        };
        let database_url = match &postgres {
            Some(pg) => pg.ledger_url(),
            None => format!("sqlite://{}", db_path.display()),
        };
        let ledger = Ledger::connect(&database_url).await.context("opening the run's ledger")?;
        seed(&ledger, settings.customers).await?;
        let ids: Vec<String> = settings.customers.iter().map(|&i| demo_customer(i).id).collect();
        timeline.note(format!("ledger {database_url} seeded with demo customers {}", ids.join(" ")));

        let config = dir.join("punctual.toml");
        std::fs::write(&config, jobs_file(settings)).with_context(|| format!("writing {}", config.display()))?;
        let job = crate::schedule::commands::load_jobs(&config)?.pop().context("the run's jobs file has no job")?;

        let env = vec![
            ("TEMPORAL_ADDRESS".to_owned(), server.address.clone()),
            ("PUNCTUAL_TASK_QUEUE".to_owned(), TASK_QUEUE.to_owned()),
            ("PUNCTUAL_DATABASE_URL".to_owned(), database_url.clone()),
            ("PUNCTUAL_PROVIDER_URL".to_owned(), sandboxes.provider.clone()),
            ("PUNCTUAL_NOTIFY_URL".to_owned(), sandboxes.sink.clone()),
            ("PUNCTUAL_CONNECT_TIMEOUT".to_owned(), WORKER_CONNECT_TIMEOUT.to_owned()),
        ];
        let mut ports = vec![port, provider_port, sink_port];
        ports.extend(postgres.as_ref().map(PgServer::port));
        let partition = if settings.network_cuts == 0 {
            Err("the profile cuts no network".to_owned())
        } else {
            for namespace in super::netns::remove_leftovers().await {
                timeline.note(format!("removed {namespace}, left behind by a chaos run that was killed"));
            }
            Partition::create(std::process::id(), &ports).await.map_err(|err| format!("{err:#}"))
        };
        let mut workers = Vec::new();
        for n in 1..=settings.workers {
            let mut spec = Spec { program: punctual.clone(), args: vec!["worker".to_owned()], env: env.clone() };
            if let (true, Ok(partition)) = (n == settings.workers, &partition) {
                spec = partition.wrap(spec);
                timeline.note(format!(
                    "worker-{n} runs in network namespace {}, reaching the server, sandboxes and database through {}",
                    partition.namespace(),
                    partition.translate("127.0.0.1:*")
                ));
            }
            workers.push(Process::start(&format!("worker-{n}"), spec, &dir.join(format!("worker-{n}.log")))?);
        }
        if let Err(reason) = &partition {
            timeline.note(format!("no network cuts in this run: cannot make a network namespace ({reason})"));
        }
        timeline.note(format!("{} workers polling task queue {TASK_QUEUE} (logs in {})", workers.len(), dir.display()));

        let tools = Tools {
            punctual,
            temporal: temporal.to_owned(),
            address: server.address.clone(),
            config,
            task_queue: TASK_QUEUE.to_owned(),
        };
        Ok(Self {
            dir: dir.to_owned(),
            server,
            workers,
            sandboxes_processes: vec![provider, sink],
            sandboxes,
            tools,
            db_path,
            postgres,
            ledger,
            job,
            billing: settings.billing,
            lock: None,
            partition,
            crashed: vec![None; settings.workers],
        })
    }

    /// Restarts any worker that exited without being told to; fails if a sandbox died (its
    /// in-memory state is what the verifier counts, so the run could no longer be judged).
    pub async fn supervise(&mut self, timeline: &Timeline) -> anyhow::Result<()> {
        for (worker, crashed) in self.workers.iter_mut().zip(&mut self.crashed) {
            if let Some(status) = worker.exited() {
                timeline.fault(format!("{} exited by itself ({status}); restarting it in {RESTART_BACKOFF:?}", worker.name()));
                *crashed = Some(Instant::now());
            }
            if crashed.is_some_and(|at| at.elapsed() >= RESTART_BACKOFF) {
                *crashed = None;
                worker.restart()?;
            }
        }
        for sandbox in &mut self.sandboxes_processes {
            if let Some(status) = sandbox.exited() {
                bail!("the {} exited ({status}): its effects are lost, the run cannot be verified", sandbox.name());
            }
        }
        if self.server.is_up()
            && let Some(status) = self.server.exited()
        {
            timeline.fault(format!("the Temporal server exited by itself ({status}); starting it again"));
            self.server.start_again().await?;
        }
        Ok(())
    }

    /// Ends every fault still in force: server up, all workers up, ledger unlocked, sandboxes
    /// healthy. The plan ends each fault itself; this is the safety net before the drain.
    pub async fn heal(&mut self, timeline: &Timeline) -> anyhow::Result<()> {
        if !self.server.is_up() {
            timeline.fault("the server was still down: starting it");
            self.server.start_again().await?;
        }
        for worker in &mut self.workers {
            if !worker.is_up() {
                timeline.fault(format!("{} was still down: starting it", worker.name()));
                worker.restart()?;
            }
        }
        if let Ok(partition) = &mut self.partition
            && partition.is_cut()
        {
            timeline.fault("a worker was still cut off the network: restoring it");
            partition.restore().await?;
        }
        if let Some(lock) = self.lock.take() {
            timeline.fault("the ledger was still locked: unlocking it");
            lock.release().await?;
        }
        if let Some(pg) = self.postgres.as_mut().filter(|pg| !pg.is_up()) {
            timeline.fault("PostgreSQL was still down: starting it");
            pg.start_again().await?;
        }
        self.sandboxes.reset().await
    }

    /// Stops every process (workers first, so nothing runs against a stopped server). Workers get
    /// SIGTERM, as an operator stops them, and SIGKILL only after [`WORKER_STOP_GRACE`]: their
    /// graceful shutdown runs once more after the faults, and a profiling build (`make pgo`)
    /// writes its counts only when the process exits, so SIGKILLed workers would leave the
    /// billing and schedule code they ran out of the profile.
    pub async fn down(&mut self) {
        for worker in &mut self.workers {
            worker.terminate(WORKER_STOP_GRACE).await;
        }
        self.server.stop().await;
        for sandbox in &mut self.sandboxes_processes {
            sandbox.kill().await;
        }
        if let Some(pg) = &mut self.postgres {
            pg.stop().await;
        }
        // Dropping the partition removes the namespace and its veth pair.
        self.partition = Err("removed at the end of the run".to_owned());
    }
}

/// Inserts the demo customers numbered `which` (a chosen few, unlike `punctual seed`'s 1..N).
async fn seed(ledger: &Ledger, which: &[u32]) -> anyhow::Result<()> {
    for &i in which {
        let c = demo_customer(i);
        sqlx::query(
            "INSERT INTO customers (id, name, timezone, plan_cents, payment_method, status) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&c.id)
        .bind(format!("Demo customer {i}"))
        .bind(c.timezone)
        .bind(c.plan_cents)
        .bind(c.payment_method)
        .bind(c.status)
        .execute(ledger.pool())
        .await
        .with_context(|| format!("seeding customer {}", c.id))?;
    }
    Ok(())
}

/// Waits until `url` answers 200 (a freshly started sandbox).
async fn wait_for(url: &str) -> anyhow::Result<()> {
    let started = Instant::now();
    let http = reqwest::Client::new();
    while started.elapsed() < Duration::from_secs(30) {
        if http.get(url).send().await.is_ok_and(|r| r.status().is_success()) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("{url} did not answer within 30s")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chaos::profile::Profile;

    fn job_input(billing: Billing) -> serde_json::Map<String, serde_json::Value> {
        let settings = Settings { billing, ..Profile::Ci.settings() };
        let text = jobs_file(&settings);
        crate::jobs::config::parse("chaos.toml", &text).unwrap().pop().unwrap().input
    }

    #[test]
    fn the_job_bills_in_the_mode_asked_and_a_hand_start_in_the_other() {
        assert_eq!(job_input(Billing::PerCustomer)["mode"], "per_customer");
        assert_eq!(job_input(Billing::Bulk)["mode"], "bulk");
        assert_eq!(Billing::Bulk.other(), Billing::PerCustomer);
        assert_eq!(Billing::PerCustomer.other(), Billing::Bulk);
    }
}
