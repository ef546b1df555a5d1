//! Where a test binary keeps its files: one directory per test process under the temp dir.
//!
//! Test binaries exit without running destructors, so nothing removes a process's directory when
//! it ends. Instead the first test of each binary removes the directories of earlier test
//! processes that are gone. Left alone they added up (a few MB per binary, plus a PostgreSQL
//! cluster of ~100 MB) to gigabytes on a machine that runs the suite often, and CI's disk is not
//! ours to fill.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The prefixes of the per-process directories; each is followed by the owning process's id.
const PREFIXES: [&str; 2] = ["punctual-tests-", "punctual-pg-"];

/// This test process's own directory, created on first use (after sweeping the dead ones).
pub fn process_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        remove_dirs_of_gone_processes();
        let dir = std::env::temp_dir().join(format!("{}{}", PREFIXES[0], std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        dir
    })
}

/// Removes every `punctual-tests-PID` and `punctual-pg-PID` directory whose process is gone (a
/// PostgreSQL cluster's server died with its test process).
pub fn remove_dirs_of_gone_processes() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(pid) = PREFIXES.iter().find_map(|prefix| name.strip_prefix(prefix)) else { continue };
        if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
            std::fs::remove_dir_all(entry.path()).ok();
        }
    }
}
