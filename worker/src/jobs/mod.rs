//! Scheduled jobs as the operator writes them: [`config`] reads and validates `punctual.toml`;
//! [`calendar_horizon`] warns before a calendar's holiday data runs out.

pub mod calendar_horizon;
pub mod config;
