//! A throwaway PostgreSQL cluster for the run's ledger (`--ledger postgres`), which the ledger
//! outage stops and starts again — the fleet's database going away, as it does in production.
//!
//! Started from the installed server binaries (`/usr/lib/postgresql/<version>/bin`) as the
//! `postgres` OS user (PostgreSQL refuses to run as root), like the tests' cluster
//! (`tests/src/postgres.rs`). Stopped with SIGINT, PostgreSQL's *fast* shutdown: SIGTERM would
//! wait for every worker's pooled connection to close, which never happens.

use super::process::{Process, Spec};
use anyhow::{Context, bail};
use sqlx::postgres::PgConnection;
use sqlx::{Connection, Executor};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Where Debian-style packages install PostgreSQL server versions.
const PG_ROOT: &str = "/usr/lib/postgresql";
/// The OS user the server runs as.
const PG_USER: &str = "postgres";
/// Bound on a start; only a server that never comes up stops the run.
const START_LIMIT: Duration = Duration::from_secs(60);
/// How long a fast shutdown may take before the server is killed.
const STOP_GRACE: Duration = Duration::from_secs(20);
/// The run's database.
const DATABASE: &str = "punctual";

/// One cluster on a loopback port.
#[derive(Debug)]
pub struct PgServer {
    process: Process,
    port: u16,
}

/// The newest installed server's `bin` directory.
fn bin_dir() -> anyhow::Result<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(PG_ROOT)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.split('.').next()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("postgres").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).with_context(|| {
        format!("--ledger postgres needs a PostgreSQL server under {PG_ROOT}/<version>/bin (apt-get install postgresql)")
    })
}

/// `setpriv` arguments that run a program as the `postgres` user.
fn as_postgres() -> Vec<String> {
    [format!("--reuid={PG_USER}"), format!("--regid={PG_USER}"), "--init-groups".to_owned()].to_vec()
}

impl PgServer {
    /// Creates a cluster in `dir/postgres`, starts it on `port` and creates the run's database.
    pub async fn start(dir: &Path, port: u16) -> anyhow::Result<Self> {
        let bin = bin_dir()?;
        let data = dir.join("postgres");
        std::fs::create_dir_all(&data).with_context(|| format!("creating {}", data.display()))?;
        let chown = Command::new("chown").arg("-R").arg(format!("{PG_USER}:{PG_USER}")).arg(&data).status()?;
        if !chown.success() {
            bail!("chown {} to {PG_USER} failed: the run must be able to hand the data directory to PostgreSQL", data.display());
        }
        let data_text = data.join("data").display().to_string();
        let initdb = Command::new("setpriv")
            .args(as_postgres())
            .arg(bin.join("initdb"))
            .args(["-D", &data_text, "-U", PG_USER, "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"])
            .output()
            .context("running initdb")?;
        if !initdb.status.success() {
            bail!("initdb failed: {}", String::from_utf8_lossy(&initdb.stderr));
        }
        let mut args = as_postgres();
        args.push(bin.join("postgres").display().to_string());
        args.extend(["-D".into(), data_text, "-p".into(), port.to_string(), "-k".into(), data.display().to_string()]);
        // `dynamic_shared_memory_type=mmap`: the plan SIGKILLs this server, and POSIX segments in
        // /dev/shm would outlive it; files in the data directory go with the run's directory.
        for setting in
            ["listen_addresses=127.0.0.1", "lc_messages=C", "fsync=off", "max_connections=200", "dynamic_shared_memory_type=mmap"]
        {
            args.extend(["-c".into(), setting.into()]);
        }
        let spec = Spec { program: "setpriv".into(), args, env: vec![] };
        let process = Process::start("postgres", spec, &dir.join("postgres.log"))?;
        let server = Self { process, port };
        server.wait_ready().await?;
        let mut admin = PgConnection::connect(&server.url("postgres")).await.context("connecting to PostgreSQL")?;
        admin.execute(format!("CREATE DATABASE {DATABASE}").as_str()).await.context("creating the run's database")?;
        admin.close().await.ok();
        Ok(server)
    }

    /// URL of database `db` (trust authentication on loopback).
    fn url(&self, db: &str) -> String {
        format!("postgres://{PG_USER}@127.0.0.1:{}/{db}", self.port)
    }

    /// Its loopback port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The ledger's URL.
    pub fn ledger_url(&self) -> String {
        self.url(DATABASE)
    }

    /// Stops the server (fast shutdown: sessions are cut), keeping its data.
    pub async fn stop(&mut self) {
        self.process.stop_with("INT", STOP_GRACE).await;
    }

    /// Starts it again on the same port and data and waits until it accepts connections.
    pub async fn start_again(&mut self) -> anyhow::Result<()> {
        self.process.restart()?;
        self.wait_ready().await
    }

    /// Whether it is meant to be running.
    pub fn is_up(&self) -> bool {
        self.process.is_up()
    }

    async fn wait_ready(&self) -> anyhow::Result<()> {
        let started = Instant::now();
        let url = self.url("postgres");
        loop {
            match PgConnection::connect(&url).await {
                Ok(conn) => {
                    conn.close().await.ok();
                    return Ok(());
                }
                Err(err) if started.elapsed() > START_LIMIT => {
                    bail!("PostgreSQL on port {} did not accept connections within {START_LIMIT:?}: {err}", self.port)
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }
}
