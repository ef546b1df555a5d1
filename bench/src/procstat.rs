//! CPU time and peak memory of a process, read from `/proc` (Linux only).
//!
//! CPU is `utime + stime` from `/proc/<pid>/stat`: what the process really consumed, whatever
//! else the machine was doing, so it stays meaningful while other builds share the cores (wall
//! time and throughput do not). Peak memory is `VmHWM` from `/proc/<pid>/status`: the resident
//! high-water mark over the process's whole life.

use anyhow::{Context, bail};
use std::time::Duration;

/// Clock ticks per second of `/proc/<pid>/stat` times; `getconf CLK_TCK`, 100 on Linux.
fn ticks_per_second() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(100)
}

/// User plus system CPU time consumed so far by `pid` (`"self"` for this process).
pub(crate) fn cpu_time(pid: &str) -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).with_context(|| format!("reading /proc/{pid}/stat"))?;
    parse_cpu_ticks(&stat).map(|ticks| Duration::from_secs_f64(ticks as f64 / ticks_per_second() as f64))
}

/// `utime + stime` in ticks. The command name (field 2) is in parentheses and may hold spaces,
/// so fields are counted from the last `)`: state is field 3, utime 14, stime 15.
fn parse_cpu_ticks(stat: &str) -> anyhow::Result<u64> {
    let Some((_, rest)) = stat.rsplit_once(')') else { bail!("no `)` in /proc stat line") };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| -> anyhow::Result<u64> {
        fields.get(n - 3).context("short /proc stat line")?.parse().context("non-numeric /proc stat field")
    };
    Ok(field(14)? + field(15)?)
}

/// Peak resident set size of `pid` in bytes (`VmHWM`).
pub(crate) fn peak_rss(pid: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).with_context(|| format!("reading /proc/{pid}/status"))?;
    parse_kib(&status, "VmHWM:")
}

/// Anonymous resident memory of `pid` now, in bytes (`RssAnon`): its heap, stacks and buffers.
///
/// The rest of its RSS is mapped files, for a Rust worker mostly its own binary's code: clean
/// pages the kernel may drop and that workers on one host share. Reading the two apart is what
/// tells a memory leak or a big cache from a big binary.
pub(crate) fn anon_rss(pid: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).with_context(|| format!("reading /proc/{pid}/status"))?;
    parse_kib(&status, "RssAnon:")
}

fn parse_kib(status: &str, key: &str) -> anyhow::Result<u64> {
    let line = status.lines().find(|l| l.starts_with(key)).with_context(|| format!("no {key} in /proc status"))?;
    let kib: u64 =
        line[key.len()..].trim().trim_end_matches("kB").trim().parse().with_context(|| format!("{key} is not a number"))?;
    Ok(kib * 1024)
}

/// The 1-, 5- and 15-minute load averages, as `/proc/loadavg` prints them.
pub(crate) fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| text.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_are_counted_past_a_command_with_spaces() {
        let stat = "4242 (tokio-rt worker) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 7 0 100 2000 300";
        assert_eq!(parse_cpu_ticks(stat).unwrap(), 300);
    }

    #[test]
    fn peak_rss_is_read_in_bytes() {
        let status = "Name:\tpunctual\nVmPeak:\t  900000 kB\nVmHWM:\t   18432 kB\nVmRSS:\t 1 kB\n";
        assert_eq!(parse_kib(status, "VmHWM:").unwrap(), 18432 * 1024);
    }

    #[test]
    fn this_process_can_be_read() {
        assert!(cpu_time("self").is_ok());
        assert!(peak_rss("self").unwrap() > 0);
        assert!(anon_rss("self").unwrap() > 0);
    }
}
