//! Every name that crosses the wire, written once.
//!
//! Workflow and activity type names are what users type in
//! `temporal workflow start --type ...`, so they are PascalCase and never derived from Rust paths.
//! Both sides of each contract (`#[run(name = ..)]` here, `#[activity(name = ..)]` in the
//! activities crate) use these constants; a test pins their values so a rename cannot slip by.

/// Default task queue polled by `punctual worker`.
pub const DEFAULT_TASK_QUEUE: &str = "punctual";

/// Workflow type of the fixed benchmark contract (see [`crate::bench`]).
pub const BENCH_WORKFLOW: &str = "BenchWorkflow";
/// Activity type of the fixed benchmark contract (see [`crate::bench`]).
pub const BENCH_ACTIVITY: &str = "BenchActivity";

/// Custom search attributes punctual's workflows set, as (name, Temporal type). `make run` and the
/// test harness register exactly these on the server; `punctual search-attributes` prints them.
pub const SEARCH_ATTRIBUTES: &[(&str, &str)] = &[
    ("BusinessKey", "Keyword"),
    ("BusinessDate", "Keyword"),
    ("JobName", "Keyword"),
    ("CustomerId", "Keyword"),
    ("RunOutcome", "Keyword"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_are_pinned() {
        assert_eq!(DEFAULT_TASK_QUEUE, "punctual");
        assert_eq!(BENCH_WORKFLOW, "BenchWorkflow");
        assert_eq!(BENCH_ACTIVITY, "BenchActivity");
        let names: Vec<_> = SEARCH_ATTRIBUTES.iter().map(|(name, _)| *name).collect();
        assert_eq!(names, ["BusinessKey", "BusinessDate", "JobName", "CustomerId", "RunOutcome"]);
    }
}
