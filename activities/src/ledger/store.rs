//! SQL shared by the ledger's operations: starting a write transaction, claiming a key, reading
//! a row, and telling lock contention and outages from real errors.
//!
//! Placeholders are `$1`, `$2`, ...: PostgreSQL's native form, which SQLite also accepts as
//! numbered parameters, so one text serves both engines through `sqlx::any`.

use super::entry::{COLUMNS, EntryKind, LedgerEntry, now_text};
use super::error::LedgerError;
use super::outcome::Caller;
use super::{Backend, Ledger};
use sqlx::any::Any;
use sqlx::{AnyConnection, Transaction};

/// How many times an operation is retried while SQLite reports another writer holding the file
/// (each try already waited the connection's busy timeout).
pub(crate) const BUSY_RETRIES: u32 = 6;

/// SQLite's primary result codes for "another connection holds the lock".
const SQLITE_BUSY: i64 = 5;
const SQLITE_LOCKED: i64 = 6;

/// Whether `err` is SQLite lock contention (`SQLITE_BUSY`, `SQLITE_LOCKED` and their extended
/// codes): the operation did nothing and can simply be tried again.
pub(crate) fn is_busy(err: &sqlx::Error) -> bool {
    let sqlx::Error::Database(db) = err else { return false };
    // Only SQLite reports bare numeric codes; PostgreSQL's SQLSTATEs are five characters.
    if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_none() {
        return false;
    }
    db.code().and_then(|code| code.parse::<i64>().ok()).is_some_and(|code| matches!(code & 0xff, SQLITE_BUSY | SQLITE_LOCKED))
}

/// Whether `err` means the database could not be reached (as opposed to refusing a statement).
pub(crate) fn is_connectivity(err: &sqlx::Error) -> bool {
    matches!(
        err,
        sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::Protocol(_)
    )
}

impl Ledger {
    /// Begins a transaction that will write.
    ///
    /// On SQLite it takes the write lock up front (`BEGIN IMMEDIATE`), so concurrent claimants
    /// queue on the lock (each waiting up to the busy timeout) instead of failing to upgrade a
    /// read snapshot. Holding the lock, the statements and the commit that follow cannot be
    /// refused as busy (WAL mode), so this is the one place that retries on `SQLITE_BUSY`:
    /// when a long transaction elsewhere outlasts the busy timeout, nothing was done and the
    /// lock is simply requested again. On PostgreSQL row locks do the queueing.
    pub(crate) async fn begin_write(&self, key: &str, doing: &str) -> Result<Transaction<'static, Any>, LedgerError> {
        let mut attempt = 0;
        loop {
            let begun = match self.backend {
                Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
                Backend::Postgres => self.pool.begin().await,
            };
            match begun {
                Ok(tx) => return Ok(tx),
                Err(e) if is_busy(&e) && attempt + 1 < BUSY_RETRIES => {
                    tracing::debug!(key, attempt, "ledger file busy; {doing} again");
                    attempt += 1;
                }
                Err(e) => return Err(LedgerError::unavailable(&format!("{doing} `{key}`"), e)),
            }
        }
    }
}

/// Maps a database error met while `doing` something to `key`.
pub(crate) fn failed(doing: &str, key: &str) -> impl FnOnce(sqlx::Error) -> LedgerError {
    move |e| LedgerError::unavailable(&format!("{doing} `{key}`"), e)
}

/// Inserts a `claimed` row for `key` unless one exists; returns whether this call inserted it.
///
/// On PostgreSQL, if another transaction inserted the key and has not committed, this waits
/// for it: after its commit it reports `false`, after its rollback it inserts.
pub(crate) async fn insert_claim(
    conn: &mut AnyConnection,
    key: &str,
    kind: EntryKind,
    request_hash: &str,
    caller: &Caller,
) -> Result<bool, sqlx::Error> {
    let now = now_text();
    let inserted = sqlx::query(
        "INSERT INTO ledger_entries \
           (key, kind, request_hash, status, result, attempts, created_at, last_claimed_at, \
            completed_at, workflow_id, run_id, activity_type, last_attempt) \
         VALUES ($1, $2, $3, 'claimed', NULL, 1, $4, $4, NULL, $5, $6, $7, $8) \
         ON CONFLICT (key) DO NOTHING",
    )
    .bind(key)
    .bind(kind.as_str())
    .bind(request_hash)
    .bind(&now)
    .bind(&caller.workflow_id)
    .bind(&caller.run_id)
    .bind(&caller.activity_type)
    .bind(i64::from(caller.attempt))
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// Marks `key` done with `result` (JSON text) if it is still claimed; returns whether it was.
pub(crate) async fn mark_done(conn: &mut AnyConnection, key: &str, result: &str) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query(
        "UPDATE ledger_entries SET status = 'done', result = $2, completed_at = $3 \
         WHERE key = $1 AND status = 'claimed'",
    )
    .bind(key)
    .bind(result)
    .bind(now_text())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(updated == 1)
}

/// The row for `key`, if any.
pub(crate) async fn select_entry(conn: &mut AnyConnection, key: &str) -> Result<Option<LedgerEntry>, LedgerError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM ledger_entries WHERE key = $1"))
        .bind(key)
        .fetch_optional(&mut *conn)
        .await
        .map_err(|e| LedgerError::unavailable("reading the ledger", e))?;
    row.as_ref().map(LedgerEntry::from_row).transpose()
}

/// Checks an existing row against this call: same kind, same request.
pub(crate) fn check_reuse(entry: &LedgerEntry, kind: EntryKind, request_hash: &str) -> Result<(), LedgerError> {
    if entry.kind != kind {
        return Err(LedgerError::KindMismatch {
            key: entry.key.clone(),
            stored: entry.kind.as_str().to_owned(),
            requested: kind.as_str(),
        });
    }
    if entry.request_hash != request_hash {
        tracing::warn!(key = %entry.key, stored_hash = %entry.request_hash, request_hash, "idempotency key reused with a different request");
        return Err(LedgerError::Conflict {
            key: entry.key.clone(),
            stored_hash: entry.request_hash.clone(),
            request_hash: request_hash.to_owned(),
        });
    }
    Ok(())
}
