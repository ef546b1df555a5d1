//! Scheduled jobs as the operator writes them: [`config`] reads and validates `punctual.toml`.

pub mod config;
