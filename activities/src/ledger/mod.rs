//! The idempotency ledger: the record that makes each business effect happen once.
//!
//! Temporal runs activities *at least once*: a worker can make an effect and die before
//! reporting completion, and the retry repeats it. An activity ID does not prevent that, so
//! idempotency lives at the effect. The ledger is a SQL table keyed by a readable business key
//! (`bill/C0042/2026-11`, `charge/INV-C0042-2026-11`, `notify/INV-C0042-2026-11/email`) that
//! records the first outcome of each effect. Like a Stripe idempotency key, the first outcome is
//! stored and replayed; the same key with *different* request parameters (compared by
//! [`request_hash`]) is rejected loudly with [`LedgerError::Conflict`], never silently replayed.
//! Rows are never deleted and a recorded result is never overwritten; the table outlives
//! Temporal's history retention and is the audit trail.
//!
//! # Three kinds of effect, three guarantees
//!
//! **(a) Rows in our own database — exactly once, by transaction.** [`Ledger::once`] inserts the
//! ledger row, runs the effect on the same connection and stores its result, all in one
//! transaction. Either all of it commits or none of it does: a crash midway leaves nothing, and
//! the retry performs the effect; after a commit every retry replays the stored result.
//! Concurrent callers on one key are serialised by the database (PostgreSQL: the row lock of the
//! uncommitted insert; SQLite: the file's write lock), so exactly one performs.
//!
//! **(b) External APIs that accept an idempotency key — exactly once, by passing the business
//! key as the idempotency key.** The provider deduplicates; the ledger records intent before the
//! call ([`Ledger::claim_external`]) and the outcome after it ([`Ledger::complete_external`]).
//! A retry after a crash between the two claims again ([`Claim::Proceed`] with
//! `first_attempt: false`) and calls again with the same key, which the provider answers with
//! the original outcome. Once recorded, retries get [`Claim::Done`] and do not call at all.
//!
//! **(c) External calls with no idempotency of their own — cannot be made exactly once.**
//! Nothing can tell whether a call whose answer was lost took effect. The caller must choose,
//! and the ledger makes the choice explicit through `first_attempt`:
//! - *at most once*: claim first and never call again once claimed (`first_attempt: false` →
//!   refuse). A crash between the call and its record leaves the key `claimed` for a person or a
//!   reconciler to settle;
//! - *at least once*: call again on every retry, accepting a possible duplicate.
//!
//! # Databases
//!
//! One code path for SQLite (one host, several processes sharing a WAL-mode file) and PostgreSQL
//! (a fleet), through `sqlx::any` with runtime SQL using `$N` placeholders, which both accept.
//! The schema lives in `activities/migrations/` and is applied by [`Ledger::connect`].

mod batch;
mod connect;
mod entry;
mod error;
mod external;
mod hash;
mod identity;
mod local;
mod outcome;
mod read;
mod store;
mod url;

pub use batch::LocalBatch;
pub use entry::{EntryKind, EntryStatus, LedgerEntry};
pub use error::{EffectError, LedgerError};
pub use hash::request_hash;
pub use identity::LedgerIdentity;
pub use outcome::{Caller, Claim, Once};
pub use url::Backend;

/// A handle on the ledger database. Cheap to clone: clones share one connection pool.
#[derive(Debug, Clone)]
pub struct Ledger {
    pool: sqlx::AnyPool,
    backend: Backend,
    /// The URL with its password as `***`, for messages.
    shown: String,
}

impl Ledger {
    /// Opens the ledger and brings its schema up to date.
    ///
    /// `url` is `sqlite://PATH` or `sqlite:PATH` (the file and its parent directories are
    /// created; WAL journal, busy timeout of 10 s, foreign keys on, so several processes on one
    /// host can share it) or `postgres://USER[:PASSWORD]@HOST:PORT/DATABASE`.
    ///
    /// Errors say what is wrong: [`LedgerError::InvalidUrl`] for a URL it cannot use,
    /// [`LedgerError::Unavailable`] naming the database (password shown as `***`) when it cannot
    /// be reached, [`LedgerError::Migration`] when the schema cannot be brought up to date.
    pub async fn connect(url: &str) -> Result<Ledger, LedgerError> {
        connect::connect(url, connect::IfMissing::Create).await
    }

    /// Opens a ledger that must already exist: what the commands that read or repair what the
    /// worker did use (`failures`, `schedule audit`, `schedule backfill`). A SQLite file that
    /// does not exist is [`LedgerError::Missing`] instead of a new, empty ledger in which
    /// nothing ever ran. PostgreSQL is opened as by [`Ledger::connect`].
    pub async fn open_existing(url: &str) -> Result<Ledger, LedgerError> {
        connect::connect(url, connect::IfMissing::Refuse).await
    }

    /// The connection pool, for the business tables that live beside the ledger.
    pub fn pool(&self) -> &sqlx::AnyPool {
        &self.pool
    }

    /// The database engine.
    pub fn backend(&self) -> Backend {
        self.backend
    }
}
