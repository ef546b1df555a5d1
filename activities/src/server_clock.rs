//! The time an activity judges "now" by: the server's, not the worker's.
//!
//! A worker's clock can be wrong by hours or days (NTP gone, a VM restored from a snapshot, a
//! clock set by hand). Workflows never read it (their time is the server's); activities that
//! compare "now" with a deadline or a nominal time read this instead, so one wrong clock in the
//! fleet neither alerts about every occurrence not yet due nor keeps quiet about late ones.

use chrono::{DateTime, Utc};
use temporalio_sdk::activities::ActivityContext;

/// When the server handed out this activity attempt, by the server's clock (the task's start
/// time, else the attempt's scheduled time). The worker's clock only where the server sent
/// neither, which it does not do for a started task.
pub fn server_now(ctx: &ActivityContext) -> DateTime<Utc> {
    let info = ctx.info();
    info.started_time.or(info.current_attempt_scheduled_time).map(DateTime::from).unwrap_or_else(Utc::now)
}
