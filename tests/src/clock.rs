//! A worker process whose clock is wrong: libfaketime preloaded into the real `punctual` binary.
//! `scripts/ensure-faketime.sh` installs it; a failed install fails the test, never skips it.

use crate::workspace_root;
use chrono::{DateTime, Timelike, Utc};
use chrono_tz::Tz;
use std::process::Command;

/// A fixed-offset zone where it is about noon at `now`: a business date there cannot change
/// while a test runs, a slot six hours on is still today, and a clock a day off is another date.
pub fn zone_at_noon(now: DateTime<Utc>) -> Tz {
    let offset = 12 - now.hour() as i32; // -11..=12
    // POSIX sign: Etc/GMT-3 is three hours ahead of UTC.
    let name = match offset {
        0 => "Etc/GMT".to_owned(),
        o if o > 0 => format!("Etc/GMT-{o}"),
        o => format!("Etc/GMT+{}", -o),
    };
    name.parse().unwrap_or_else(|e| panic!("zone {name}: {e}"))
}

/// Environment that moves a process's clock by `offset` (libfaketime's syntax: "+1d", "-1d"),
/// which is `days` days. Checks first that it moves a clock here at all (`date` under the same
/// environment): without that, a test could pass on a worker whose clock is right.
pub fn skewed_clock(offset: &str, days: i64) -> Vec<(&'static str, String)> {
    let skew = vec![("LD_PRELOAD", libfaketime()), ("FAKETIME", offset.to_owned())];
    let out = Command::new("date").args(["-u", "+%s"]).envs(skew.iter().map(|(k, v)| (*k, v))).output().expect("run date");
    let seen: i64 = String::from_utf8_lossy(&out.stdout).trim().parse().expect("date +%s");
    let moved = seen - Utc::now().timestamp();
    assert!((moved - days * 86_400).abs() < 3_600, "libfaketime moved `date` by {moved} s, not {days} days");
    skew
}

/// Path of libfaketime, installed if missing; panics with the script's words if it cannot be.
fn libfaketime() -> String {
    let script = workspace_root().join("scripts/ensure-faketime.sh");
    let out = Command::new("bash").arg(&script).output().unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
    assert!(
        out.status.success(),
        "{} failed: the clock-skew tests need Debian's libfaketime:\n{}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}
