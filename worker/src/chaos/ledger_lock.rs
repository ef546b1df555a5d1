//! Making the SQLite ledger unavailable: a separate connection takes the database's exclusive
//! lock (`BEGIN EXCLUSIVE`) and holds it until told to let go.
//!
//! The ledger runs in WAL mode, where the exclusive lock shuts out every *writer* (no effect can
//! be claimed or recorded, no occurrence row written) while readers still see the last commit —
//! what a database that stopped accepting writes looks like to the workers. Their statements
//! wait the busy timeout (10 s), `begin_write` retries, and activities that run out of attempts
//! fail and are retried by Temporal.

use anyhow::Context;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection, Executor};
use std::path::Path;
use std::time::Duration;

/// How long taking the lock may wait for the writers of the moment to finish.
const ACQUIRE_WAIT: Duration = Duration::from_secs(60);

/// The exclusive lock on one SQLite file, while held.
#[derive(Debug)]
pub struct LedgerLock {
    conn: SqliteConnection,
}

impl LedgerLock {
    /// Takes the exclusive lock on the database file at `path`.
    pub async fn take(path: &Path) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::new().filename(path).busy_timeout(ACQUIRE_WAIT).disable_statement_logging();
        let mut conn =
            SqliteConnection::connect_with(&options).await.with_context(|| format!("opening {} to lock it", path.display()))?;
        conn.execute("BEGIN EXCLUSIVE").await.with_context(|| format!("locking {}", path.display()))?;
        Ok(Self { conn })
    }

    /// Lets go: ends the (empty) transaction and closes the connection.
    pub async fn release(mut self) -> anyhow::Result<()> {
        self.conn.execute("ROLLBACK").await.context("releasing the ledger lock")?;
        self.conn.close().await.ok();
        Ok(())
    }
}
