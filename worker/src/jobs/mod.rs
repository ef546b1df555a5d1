//! Scheduled jobs as the operator writes them: [`config`] reads and validates `punctual.toml`;
//! [`calendar_horizon`] warns before a calendar's holiday data runs out; [`zone_mismatch`] warns
//! about a job whose input names another zone than its own.

pub mod calendar_horizon;
pub mod config;
pub mod zone_mismatch;
