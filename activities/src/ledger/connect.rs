//! Opening the ledger database: checks the URL, reaches the server or creates the file, makes
//! SQLite safe to share between processes, and brings the schema up to date.
//!
//! The first connection is made directly, outside the pool, so an unreachable database fails at
//! once with the driver's reason (a pool would retry until its timeout and then only say that it
//! timed out).

use super::error::LedgerError;
use super::store::{BUSY_RETRIES, is_busy, is_connectivity};
use super::url::{Target, parse, redact, scrub};
use super::{Backend, Ledger};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::{MigrateError, Migrator};
use sqlx::{AnyConnection, Connection, Executor};
use std::str::FromStr;
use std::time::Duration;

/// The schema, embedded at build time from `activities/migrations/`.
static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// How long the first connection may take before the database counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a SQLite statement waits for another connection's write lock before `SQLITE_BUSY`.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 10_000;
/// Connections per process.
const MAX_CONNECTIONS: u32 = 10;

/// What to do when a SQLite URL names a file that does not exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IfMissing {
    /// Create it (and its directories): the worker's and `seed`'s first start.
    Create,
    /// Fail with [`LedgerError::Missing`]: commands that read what already happened.
    Refuse,
}

/// Opens `url` and runs the migrations; see [`Ledger::connect`] and [`Ledger::open_existing`].
pub(crate) async fn connect(url: &str, if_missing: IfMissing) -> Result<Ledger, LedgerError> {
    sqlx::any::install_default_drivers();
    let target = parse(url)?;
    let shown = redact(url);
    let mut created = false;
    if let Target::Sqlite { path, .. } = &target
        && !path.exists()
    {
        if if_missing == IfMissing::Refuse {
            return Err(LedgerError::Missing(path.display().to_string()));
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| LedgerError::Unavailable(format!("creating directory {} for {shown}: {e}", dir.display())))?;
        }
        created = true;
    }
    let options = AnyConnectOptions::from_str(target.url())
        .map_err(|e| LedgerError::InvalidUrl(format!("`{shown}`: {}", scrub(&e.to_string(), url))))?;
    let unreachable =
        |e: sqlx::Error| LedgerError::Unavailable(format!("cannot connect to {shown}: {}", scrub(&e.to_string(), url)));

    let mut first = tokio::time::timeout(CONNECT_TIMEOUT, AnyConnection::connect_with(&options))
        .await
        .map_err(|_| LedgerError::Unavailable(format!("no answer from {shown} within {CONNECT_TIMEOUT:?}")))?
        .map_err(unreachable)?;
    let backend = target.backend();
    if backend == Backend::Sqlite {
        sqlite_session(&mut first).await.map_err(unreachable)?;
        ensure_wal(&mut first, &shown).await?;
    }
    first.close().await.ok();

    let pool = AnyPoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                match backend {
                    Backend::Sqlite => sqlite_session(conn).await?,
                    Backend::Postgres => postgres_session(conn).await?,
                }
                Ok(())
            })
        })
        .connect_lazy_with(options);
    let ledger = Ledger { pool, backend, shown: shown.clone() };
    migrate(&ledger, &shown).await?;
    if created {
        // Said loudly: a typo in the path is otherwise an empty ledger that looks like any other.
        tracing::warn!(database = %shown, "created a new, empty ledger file; if one should have existed, check PUNCTUAL_DATABASE_URL");
    }
    tracing::info!(database = %shown, ?backend, created, "ledger ready");
    Ok(ledger)
}

/// Per-connection SQLite settings: wait for other writers instead of failing at once, and
/// enforce foreign keys (the business tables rely on them).
async fn sqlite_session(conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
    conn.execute(format!("PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}").as_str()).await?;
    conn.execute("PRAGMA foreign_keys = ON").await?;
    Ok(())
}

/// How long PostgreSQL lets a session sit idle inside a transaction before ending it.
const PG_IDLE_IN_TRANSACTION: &str = "60s";

/// Per-connection PostgreSQL settings. A worker cut off mid-transaction (its host frozen or
/// partitioned, not killed: a killed process closes its socket) would otherwise hold its rows'
/// locks until TCP keepalive gives up, about two hours by default, and every retry of those keys
/// would wait behind it. No ledger transaction waits on anything outside the database, so one
/// idle for a minute is such an orphan; ending it rolls it back and frees its keys.
async fn postgres_session(conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
    conn.execute(format!("SET idle_in_transaction_session_timeout = '{PG_IDLE_IN_TRANSACTION}'").as_str()).await?;
    Ok(())
}

/// Puts the file in WAL mode (persistent, so once per file): readers never block the writer and
/// several processes on one host can share it. Switching needs a moment of exclusive access, so
/// it is retried while another process holds the file.
async fn ensure_wal(conn: &mut AnyConnection, shown: &str) -> Result<(), LedgerError> {
    let mut last = None;
    for attempt in 0..BUSY_RETRIES {
        match sqlx::query_scalar::<_, String>("PRAGMA journal_mode = WAL").fetch_one(&mut *conn).await {
            Ok(mode) if mode.eq_ignore_ascii_case("wal") => return Ok(()),
            Ok(mode) => {
                return Err(LedgerError::Unavailable(format!(
                    "{shown} cannot use WAL journal mode (it stays `{mode}`); is it on a network file system?"
                )));
            }
            Err(e) if is_busy(&e) => {
                tracing::debug!(database = %shown, attempt, "SQLite busy while switching to WAL");
                last = Some(e);
                contention_backoff(attempt).await;
            }
            Err(e) => return Err(LedgerError::unavailable(&format!("switching {shown} to WAL"), e)),
        }
    }
    Err(LedgerError::Unavailable(format!("{shown} stayed locked while switching to WAL: {last:?}")))
}

/// A short, growing pause before retrying an operation another process is holding a lock for.
///
/// A backoff on contention, not synchronisation: the retried operation decides the outcome.
async fn contention_backoff(attempt: u32) {
    tokio::time::sleep(Duration::from_millis(20 << attempt.min(5))).await;
}

/// Applies pending migrations. PostgreSQL serialises concurrent migrators with an advisory lock;
/// SQLite has none, so two processes opening a fresh file at once can race: the loser's
/// transaction fails on the tables the winner just created and rolls back whole, and running
/// again finds that migration applied. Each lost race means another process applied one
/// migration, so one more try than there are migrations is always enough.
async fn migrate(ledger: &Ledger, shown: &str) -> Result<(), LedgerError> {
    let attempts = if ledger.backend == Backend::Sqlite { MIGRATOR.migrations.len() + 1 } else { 1 };
    let mut attempt = 0;
    loop {
        match MIGRATOR.run(&ledger.pool).await {
            Ok(()) => return Ok(()),
            Err(e) if attempt + 1 < attempts && retry_migration(&e) => {
                tracing::debug!(database = %shown, attempt, error = %e, "retrying migrations after a concurrent migrator");
                attempt += 1;
            }
            Err(MigrateError::Execute(e)) if is_connectivity(&e) => {
                return Err(LedgerError::unavailable(&format!("migrating {shown}"), e));
            }
            Err(e) => return Err(LedgerError::Migration(format!("{shown}: {e}"))),
        }
    }
}

/// Whether a SQLite migration failure may be a concurrent migrator (anything but a mismatch
/// with what is recorded, which no retry fixes).
fn retry_migration(err: &MigrateError) -> bool {
    matches!(err, MigrateError::Execute(_) | MigrateError::ExecuteMigration(..))
}
