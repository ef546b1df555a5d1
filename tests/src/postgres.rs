//! A real, throwaway PostgreSQL for the tests that must hold on PostgreSQL as well as SQLite.
//!
//! One cluster per test binary, started on first use from the installed server binaries
//! (`/usr/lib/postgresql/<version>/bin`); each test takes its own database in it
//! ([`fresh_database`]). The server runs in the foreground as a child of a dedicated thread,
//! under `setpriv --pdeathsig KILL`, so it dies with the test process: test binaries exit
//! without running destructors, and an orphaned server would keep CI's output pipe open. It runs
//! as the `postgres` OS user because PostgreSQL refuses to run as root.
//!
//! Missing binaries are a loud failure, never a silent skip: a skipped PostgreSQL run would let
//! the fleet configuration go untested.

use sqlx::postgres::PgConnection;
use sqlx::{Connection, Executor};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{OnceLock, mpsc};
use std::time::Duration;

/// Where Debian-style packages install PostgreSQL server versions.
const PG_ROOT: &str = "/usr/lib/postgresql";
/// The OS user the server runs as.
const PG_USER: &str = "postgres";
/// The line PostgreSQL logs once it accepts connections (messages forced to English).
const READY_LINE: &str = "database system is ready to accept connections";
/// Bound on waiting for the server to come up; it only stops a hung start.
const START_LIMIT: Duration = Duration::from_secs(90);

/// The PostgreSQL cluster shared by every test in the binary.
#[derive(Debug)]
pub struct PgCluster {
    /// TCP port on 127.0.0.1.
    pub port: u16,
    /// The temporary directory holding the data directory, socket and log.
    pub dir: PathBuf,
    /// The server's `bin` directory.
    pub bin_dir: PathBuf,
}

impl PgCluster {
    /// URL of database `db` as the superuser (trust authentication, no password).
    pub fn url(&self, db: &str) -> String {
        format!("postgres://{PG_USER}@127.0.0.1:{}/{db}", self.port)
    }

    /// The server log (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("postgres.log")).unwrap_or_default()
    }
}

static CLUSTER: OnceLock<PgCluster> = OnceLock::new();
static NEXT_DATABASE: AtomicUsize = AtomicUsize::new(0);
static NEXT_SQLITE: AtomicUsize = AtomicUsize::new(0);

/// The cluster, started on first use. Blocking: call it from `spawn_blocking` in async code
/// ([`fresh_database`] does).
pub fn postgres() -> &'static PgCluster {
    CLUSTER.get_or_init(start)
}

/// A new, empty database in the shared cluster; returns its `postgres://` URL.
pub async fn fresh_database(name: &str) -> String {
    let cluster = tokio::task::spawn_blocking(postgres).await.expect("postgres start thread");
    let n = NEXT_DATABASE.fetch_add(1, Ordering::Relaxed);
    let mut db: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).take(40).collect();
    db.push_str(&format!("_{n}"));
    let admin = cluster.url("postgres");
    let mut conn = PgConnection::connect(&admin).await.unwrap_or_else(|e| panic!("connect to {admin}: {e}\n{}", cluster.log()));
    conn.execute(format!("CREATE DATABASE \"{db}\"").as_str()).await.unwrap_or_else(|e| panic!("CREATE DATABASE {db}: {e}"));
    conn.close().await.ok();
    cluster.url(&db)
}

/// A `sqlite://` URL for a new database file in a directory that does not exist yet (the
/// ledger creates both).
pub fn fresh_sqlite_url(name: &str) -> String {
    let n = NEXT_SQLITE.fetch_add(1, Ordering::Relaxed);
    let dir = crate::scratch::process_dir().join(format!("{name}-{n}"));
    format!("sqlite://{}", dir.join("ledger.db").display())
}

/// The newest installed server's `bin` directory.
fn bin_dir() -> PathBuf {
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
    match versions.pop() {
        Some((_, bin)) => bin,
        None => panic!(
            "no PostgreSQL server under {PG_ROOT}/<version>/bin: the ledger tests run against a \
             real PostgreSQL; install it (`apt-get install postgresql`)"
        ),
    }
}

/// Runs `program` as the `postgres` user; panics with its output if it fails.
fn run_as_postgres(program: &Path, args: &[&str]) {
    let out = Command::new("setpriv")
        .args([&format!("--reuid={PG_USER}"), &format!("--regid={PG_USER}"), "--init-groups"])
        .arg(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run setpriv {}: {e}", program.display()));
    assert!(
        out.status.success(),
        "{} {args:?} failed: {}{}",
        program.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port()
}

fn start() -> PgCluster {
    let bin_dir = bin_dir();
    let status = Command::new("id").args(["-u", PG_USER]).output().expect("run id");
    assert!(status.status.success(), "no `{PG_USER}` OS user: PostgreSQL refuses to run as root and needs it");
    crate::scratch::remove_dirs_of_gone_processes();

    let dir = std::env::temp_dir().join(format!("punctual-pg-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).expect("cluster temp dir");
    let chown = Command::new("chown").arg(format!("{PG_USER}:{PG_USER}")).arg(&dir).status().expect("run chown");
    assert!(chown.success(), "chown {} to {PG_USER}", dir.display());
    let data = dir.join("data");
    let data_arg = data.to_str().expect("utf-8 temp dir");
    run_as_postgres(
        &bin_dir.join("initdb"),
        &["-D", data_arg, "-U", PG_USER, "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions"],
    );

    let port = free_port();
    let (ready_tx, ready_rx) = mpsc::channel();
    let server = bin_dir.join("postgres");
    let socket_dir = dir.clone();
    let log_path = dir.join("postgres.log");
    // The thread that spawns the server must outlive it: the parent-death signal follows the
    // spawning thread, not the process.
    std::thread::Builder::new()
        .name("postgres-cluster".into())
        .spawn(move || {
            let mut child = Command::new("setpriv")
                .args([&format!("--reuid={PG_USER}"), &format!("--regid={PG_USER}"), "--init-groups"])
                .args(["--pdeathsig", "KILL"])
                .arg(&server)
                .args(["-D", &data.display().to_string(), "-p", &port.to_string()])
                .args(["-k", &socket_dir.display().to_string()])
                .args(["-c", "listen_addresses=127.0.0.1", "-c", "lc_messages=C"])
                .args(["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"])
                .args(["-c", "max_connections=400", "-c", "logging_collector=off"])
                // Dynamic shared memory as files in the data directory rather than POSIX segments
                // in /dev/shm: the server dies by SIGKILL with the test process, and segments in
                // /dev/shm would outlive it (71 MB of them after a day of test runs here).
                .args(["-c", "dynamic_shared_memory_type=mmap"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("start {}: {e}", server.display()));
            let stderr = child.stderr.take().expect("piped stderr");
            let mut log = std::fs::File::create(&log_path).expect("postgres log file");
            let mut ready = Some(ready_tx);
            // Drain the server's log for as long as it runs, so it never blocks on a full pipe.
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                writeln!(log, "{line}").ok();
                if line.contains(READY_LINE)
                    && let Some(tx) = ready.take()
                {
                    tx.send(()).ok();
                }
            }
            let status = child.wait();
            writeln!(log, "postgres exited: {status:?}").ok();
        })
        .expect("spawn postgres thread");

    let cluster = PgCluster { port, dir, bin_dir };
    match ready_rx.recv_timeout(START_LIMIT) {
        Ok(()) => cluster,
        Err(e) => panic!("PostgreSQL did not become ready ({e}); its log:\n{}", cluster.log()),
    }
}
