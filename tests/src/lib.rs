//! Shared harness for punctual's end-to-end tests.
//!
//! One real Temporal dev server per test binary ([`dev_server`]), started through the SDK's
//! `testing` feature from the pip-installed CLI; each test gets its own task queue and client
//! ([`TestEnv::start`]), runs the production worker registration in-process
//! ([`TestEnv::with_worker`]) or the real `punctual` binary ([`punctual_bin`]), and can drive the
//! real `temporal` CLI against the same server ([`TestEnv::cli`]).

pub mod billing;
pub mod clock;
pub mod env;
pub mod jobs;
pub mod own_server;
pub mod postgres;
pub mod scratch;
pub mod server;
pub mod world;

pub use env::{CliOutput, TestEnv, eventually, eventually_seen};
pub use postgres::{PgCluster, fresh_database, fresh_sqlite_url, postgres};
pub use server::{DevServer, dev_server, punctual_bin, workspace_root};
pub use world::World;
