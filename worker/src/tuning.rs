//! Worker concurrency knobs: task slots, pollers and the sticky workflow cache.
//!
//! Every knob is optional. Unset, workflow-task pollers are `auto` (measured below) and every
//! other knob keeps the SDK's own default (100 slots of each kind, 5 activity pollers, 1,000
//! cached workflows).
//!
//! Why `auto` for workflow pollers: with a fixed count the SDK gives a fifth of them to the
//! shared task queue (the `nonsticky_to_sticky_poll_ratio` of `WorkerOptions` is not passed on
//! to the worker by temporalio-sdk 1.1.1), so its default of 5 leaves one poller for a queue the
//! server splits into 4 partitions. Every workflow's first task waits on that queue: under the
//! `BenchWorkflow` load a fifth of the workflows waited 4-6 s for it, p99 5.7 s. Autoscaled
//! pollers cut p99 to 2.2 s at the same CPU (BENCHMARKS.md, "Pollers").

use clap::Args;
use std::fmt;
use temporalio_sdk::WorkerOptions;
use temporalio_sdk::runtime::PollerBehavior;
use temporalio_sdk::runtime::worker_tuner::{FixedSizeSlotSupplier, WorkerTuner};

/// What `auto` pollers mean: the bounds the SDK itself uses when a namespace auto-enrolls workers
/// into poller autoscaling (temporalio-sdk-core `resolve_effective_behavior`).
const AUTOSCALING: (usize, usize, usize) = (1, 100, 5);

/// Concurrency settings of `punctual worker`; unset means the SDK's default.
#[derive(Debug, Clone, Default, Args)]
pub struct TuningArgs {
    /// Workflow tasks this worker processes at once [SDK default: 100].
    #[arg(long, env = "PUNCTUAL_WORKFLOW_SLOTS", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub workflow_slots: Option<u32>,

    /// Activities this worker runs at once [SDK default: 100].
    #[arg(long, env = "PUNCTUAL_ACTIVITY_SLOTS", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub activity_slots: Option<u32>,

    /// Concurrent workflow-task polls: a number (a fifth of them, at least one, poll the shared
    /// queue), or `auto` to let the server's feedback scale them between 1 and 100 [default: auto].
    #[arg(long, env = "PUNCTUAL_WORKFLOW_POLLERS", value_parser = parse_pollers)]
    pub workflow_pollers: Option<Pollers>,

    /// Concurrent activity-task polls: a number or `auto` [SDK default: 5, or `auto` when the
    /// namespace opts workers in].
    #[arg(long, env = "PUNCTUAL_ACTIVITY_POLLERS", value_parser = parse_pollers)]
    pub activity_pollers: Option<Pollers>,

    /// Workflows kept in memory between tasks (the sticky cache); 0 replays every workflow's
    /// history on each task [SDK default: 1000].
    #[arg(long, env = "PUNCTUAL_MAX_CACHED_WORKFLOWS", value_parser = clap::value_parser!(u32).range(0..=1_000_000))]
    pub max_cached_workflows: Option<u32>,
}

/// How many polls a worker keeps open for one task type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pollers {
    /// Exactly up to this many.
    Fixed(u32),
    /// Scaled by the server's feedback within the SDK's autoscaling bounds.
    Auto,
}

impl fmt::Display for Pollers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Fixed(n) => write!(f, "{n}"),
            Self::Auto => f.write_str("auto"),
        }
    }
}

impl Pollers {
    fn behavior(self) -> PollerBehavior {
        match self {
            Self::Fixed(n) => PollerBehavior::SimpleMaximum(n as usize),
            Self::Auto => {
                let (minimum, maximum, initial) = AUTOSCALING;
                PollerBehavior::Autoscaling(
                    temporalio_sdk::runtime::AutoscalingOptions::builder()
                        .minimum(minimum)
                        .maximum(maximum)
                        .initial(initial)
                        .build(),
                )
            }
        }
    }
}

/// Parses `auto` or a poller count from 1 to 1,000.
pub fn parse_pollers(text: &str) -> Result<Pollers, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("auto") {
        return Ok(Pollers::Auto);
    }
    match text.parse::<u32>() {
        Ok(n @ 1..=1000) => Ok(Pollers::Fixed(n)),
        _ => Err(format!("`{text}` is not a poller count (expected 1 to 1000, or `auto`)")),
    }
}

/// Workflow-task pollers when `--workflow-pollers` is not given.
pub const DEFAULT_WORKFLOW_POLLERS: Pollers = Pollers::Auto;

/// A combination of knobs the SDK would refuse, named by flag.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "{flag} must be at least 2 while the sticky cache is on (--max-cached-workflows > 0): one poll serves the sticky queue, one the shared queue"
)]
pub struct TuningError {
    /// The flag to change.
    pub flag: &'static str,
}

impl TuningArgs {
    /// Checks the combination once at start-up, before the worker connects, so a bad setting
    /// stops the process with the flag's name rather than an SDK error after connecting.
    pub fn validate(&self) -> Result<(), TuningError> {
        let cached = self.max_cached_workflows.is_none_or(|n| n > 0);
        if cached && self.workflow_slots.is_some_and(|n| n < 2) {
            return Err(TuningError { flag: "--workflow-slots" });
        }
        if cached && self.workflow_pollers.is_some_and(|p| p == Pollers::Fixed(1)) {
            return Err(TuningError { flag: "--workflow-pollers" });
        }
        Ok(())
    }

    /// Overrides the set knobs in `options`, and the workflow pollers always; the SDK's defaults
    /// stay for the rest.
    pub fn apply(&self, options: &mut WorkerOptions) {
        if let Some(n) = self.max_cached_workflows {
            options.max_cached_workflows = n as usize;
        }
        let workflow_pollers = self.workflow_pollers.unwrap_or(DEFAULT_WORKFLOW_POLLERS);
        options.workflow_task_poller_behavior = Some(workflow_pollers.behavior());
        if let Some(p) = self.activity_pollers {
            options.activity_task_poller_behavior = Some(p.behavior());
        }
        // The default tuner holds fixed-size suppliers; replace only the kinds that were set so
        // local-activity and Nexus slots keep the SDK's defaults.
        if let WorkerTuner::TunerHolder(holder) = &mut options.tuner {
            if let Some(n) = self.workflow_slots {
                holder.workflow_task_slot_supplier = FixedSizeSlotSupplier::new(n as usize).into();
            }
            if let Some(n) = self.activity_slots {
                holder.activity_task_slot_supplier = FixedSizeSlotSupplier::new(n as usize).into();
            }
        }
    }

    /// One line for the start-up log: what is tuned, `sdk` for what is left at default.
    pub fn summary(&self) -> String {
        fn show<T: fmt::Display>(v: Option<T>) -> String {
            v.map_or_else(|| "sdk".to_owned(), |v| v.to_string())
        }
        format!(
            "workflow_slots={} activity_slots={} workflow_pollers={} activity_pollers={} max_cached_workflows={}",
            show(self.workflow_slots),
            show(self.activity_slots),
            self.workflow_pollers.unwrap_or(DEFAULT_WORKFLOW_POLLERS),
            show(self.activity_pollers),
            show(self.max_cached_workflows),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use temporalio_sdk::runtime::worker_tuner::SlotSupplier;

    fn slots(supplier: &SlotSupplier) -> usize {
        match supplier {
            SlotSupplier::FixedSize(fixed) => fixed.num_slots,
            other => panic!("expected a fixed-size supplier, got {other:?}"),
        }
    }

    fn holder(options: &WorkerOptions) -> &temporalio_sdk::runtime::worker_tuner::TunerHolder {
        match &options.tuner {
            WorkerTuner::TunerHolder(holder) => holder,
            other => panic!("expected the default tuner holder, got {other:?}"),
        }
    }

    #[test]
    fn unset_knobs_autoscale_workflow_pollers_and_leave_the_rest_to_the_sdk() {
        let untouched = WorkerOptions::new("q").build();
        let mut options = WorkerOptions::new("q").build();
        TuningArgs::default().apply(&mut options);
        assert_eq!(options.max_cached_workflows, untouched.max_cached_workflows);
        let expected = temporalio_sdk::runtime::AutoscalingOptions::builder().minimum(1).maximum(100).initial(5).build();
        assert_eq!(options.workflow_task_poller_behavior, Some(PollerBehavior::Autoscaling(expected)));
        assert_eq!(options.activity_task_poller_behavior, None);
        assert_eq!(slots(&holder(&options).workflow_task_slot_supplier), slots(&holder(&untouched).workflow_task_slot_supplier));
        assert_eq!(slots(&holder(&options).activity_task_slot_supplier), slots(&holder(&untouched).activity_task_slot_supplier));
    }

    #[test]
    fn set_knobs_reach_the_worker_options() {
        let mut options = WorkerOptions::new("q").build();
        let tuning = TuningArgs {
            workflow_slots: Some(7),
            activity_slots: Some(9),
            workflow_pollers: Some(Pollers::Fixed(3)),
            activity_pollers: Some(Pollers::Auto),
            max_cached_workflows: Some(50),
        };
        tuning.apply(&mut options);
        assert_eq!(options.max_cached_workflows, 50);
        assert_eq!(options.workflow_task_poller_behavior, Some(PollerBehavior::SimpleMaximum(3)));
        assert!(matches!(options.activity_task_poller_behavior, Some(PollerBehavior::Autoscaling(_))));
        assert_eq!(slots(&holder(&options).workflow_task_slot_supplier), 7);
        assert_eq!(slots(&holder(&options).activity_task_slot_supplier), 9);
        let local = slots(&holder(&options).local_activity_task_slot_supplier);
        assert_eq!(local, slots(&holder(&WorkerOptions::new("q").build()).local_activity_task_slot_supplier));
    }

    #[test]
    fn pollers_parse_or_name_the_problem() {
        assert_eq!(parse_pollers("8"), Ok(Pollers::Fixed(8)));
        assert_eq!(parse_pollers("AUTO"), Ok(Pollers::Auto));
        assert!(parse_pollers("0").unwrap_err().contains("`0`"));
        assert!(parse_pollers("many").unwrap_err().contains("`many`"));
    }

    #[test]
    fn the_sticky_cache_needs_two_workflow_polls_and_slots() {
        let one_poller = TuningArgs { workflow_pollers: Some(Pollers::Fixed(1)), ..Default::default() };
        assert_eq!(one_poller.validate(), Err(TuningError { flag: "--workflow-pollers" }));
        let one_slot = TuningArgs { workflow_slots: Some(1), ..Default::default() };
        assert_eq!(one_slot.validate(), Err(TuningError { flag: "--workflow-slots" }));
        let uncached = TuningArgs { workflow_slots: Some(1), max_cached_workflows: Some(0), ..Default::default() };
        assert_eq!(uncached.validate(), Ok(()));
    }
}
