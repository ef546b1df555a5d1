//! Which tokio runtime the `punctual` process runs on, chosen before anything else starts.
//!
//! The SDK already gives workflow state machines a thread of their own; the process runtime
//! carries the pollers, the gRPC connection, the workflow futures and the activities. One thread
//! is the default: it saves the cross-thread wake-ups a work-stealing pool pays on every task,
//! measured as 18 % less worker CPU per `BenchWorkflow` and 10 % less per customer of a bulk
//! billing run, with no loss of throughput (BENCHMARKS.md, "Runtime"). Every activity awaits
//! its I/O (the SQLite driver has its own thread), so one thread is not a bottleneck there;
//! `multi-thread` is there for activities that would burn CPU.

use std::io;

/// Environment variable choosing the runtime flavour.
pub const TOKIO_RUNTIME_ENV: &str = "PUNCTUAL_TOKIO_RUNTIME";

/// The runtime flavours `PUNCTUAL_TOKIO_RUNTIME` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// Everything on the thread that runs `main` (the default).
    CurrentThread,
    /// tokio's work-stealing pool, one thread per core (`TOKIO_WORKER_THREADS` still applies).
    MultiThread,
}

impl Flavor {
    /// Reads the flavour from the value of `PUNCTUAL_TOKIO_RUNTIME`; unset or empty is the default.
    pub fn parse(value: Option<&str>) -> Result<Self, String> {
        match value.map(str::trim) {
            None | Some("") => Ok(Self::CurrentThread),
            Some(v) if v.eq_ignore_ascii_case("multi-thread") => Ok(Self::MultiThread),
            Some(v) if v.eq_ignore_ascii_case("current-thread") => Ok(Self::CurrentThread),
            Some(other) => Err(format!("{TOKIO_RUNTIME_ENV}=`{other}`: expected `multi-thread` or `current-thread`")),
        }
    }

    /// The flavour the environment asks for.
    pub fn from_env() -> Result<Self, String> {
        Self::parse(std::env::var(TOKIO_RUNTIME_ENV).ok().as_deref())
    }

    /// Builds the runtime, with every driver (I/O, time) enabled.
    pub fn build(self) -> io::Result<tokio::runtime::Runtime> {
        let mut builder = match self {
            Self::MultiThread => tokio::runtime::Builder::new_multi_thread(),
            Self::CurrentThread => tokio::runtime::Builder::new_current_thread(),
        };
        builder.enable_all().build()
    }
}

#[cfg(test)]
mod tests {
    use super::Flavor;

    #[test]
    fn unset_means_one_thread() {
        assert_eq!(Flavor::parse(None), Ok(Flavor::CurrentThread));
        assert_eq!(Flavor::parse(Some(" ")), Ok(Flavor::CurrentThread));
    }

    #[test]
    fn both_flavours_are_accepted_in_any_case() {
        assert_eq!(Flavor::parse(Some("current-thread")), Ok(Flavor::CurrentThread));
        assert_eq!(Flavor::parse(Some("Multi-Thread")), Ok(Flavor::MultiThread));
    }

    #[test]
    fn anything_else_names_the_variable_and_the_choices() {
        let err = Flavor::parse(Some("single")).unwrap_err();
        assert!(err.contains("PUNCTUAL_TOKIO_RUNTIME") && err.contains("`single`") && err.contains("current-thread"), "{err}");
    }

    #[test]
    fn a_current_thread_runtime_runs_spawned_tasks() {
        let runtime = Flavor::CurrentThread.build().unwrap();
        let answer = runtime.block_on(async { tokio::spawn(async { 6 * 7 }).await.unwrap() });
        assert_eq!(answer, 42);
    }
}
