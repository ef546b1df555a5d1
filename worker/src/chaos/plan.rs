//! The fault plan: every fault of a run, with its time, drawn from one seed before the run starts.
//!
//! Drawing the whole plan up front (instead of rolling dice while running) is what makes a run
//! replayable: `--seed N` with the same profile yields the same steps at the same offsets. Every
//! fault is paired with its end (restart, unlock, latency off) inside the window, so the drain
//! always starts from a healthy system.

use super::profile::Settings;
use super::rng::Rng;
use std::fmt;
use std::time::Duration;

/// Faults start this long after the window opens, so the first fires run undisturbed.
const QUIET_START: u64 = 10;
/// Every fault has ended this long before the window closes.
const QUIET_END: u64 = 8;
/// The shortest network cut: longer than the activities' 30 s start-to-close timeout, so the
/// cut worker's attempts time out and move to the others while it is away.
const CUT_SHORTEST: u64 = 35;

/// A sandbox service the harness can make misbehave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// The payment provider.
    Provider,
    /// The notification sink.
    Sink,
}

/// A manual duplicate of a fire key that already ran or is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Duplicate {
    /// `punctual schedule trigger JOB` (through punctual's client): joins the current slot.
    PunctualTrigger,
    /// `temporal schedule trigger`: the same through the `temporal` CLI.
    TemporalTrigger,
    /// `temporal workflow start --type FireBillingWorkflow` for the slot `slots_back` slots ago
    /// (0: the one running now), under a workflow ID of its own.
    FireBillingAgain { slots_back: u64 },
}

/// One thing the harness does to the system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// SIGKILL worker `n` (1-based).
    KillWorker(usize),
    /// Start worker `n` again.
    StartWorker(usize),
    /// Stop the Temporal server (SIGTERM, keeping its database).
    StopServer,
    /// Start it again on the same port and database.
    StartServer,
    /// Make the ledger unavailable: SQLite's exclusive lock taken from a separate connection,
    /// or the PostgreSQL server stopped.
    LockLedger,
    /// Make it available again.
    UnlockLedger,
    /// The next `n` requests commit, then lose their response.
    DropAfterCommit(Service, u32),
    /// The next `n` requests answer 503 without doing anything.
    Fail5xx(Service, u32),
    /// Every request waits this long first (beyond the clients' 10 s timeout, the request still
    /// commits after the caller gave up).
    Slow(Service, u64),
    /// Back to normal speed.
    Fast(Service),
    /// A duplicate trigger.
    Duplicate(Duplicate),
    /// Cut worker `n` off the network (it lives in a network namespace of its own).
    CutNetwork(usize),
    /// Give it its network back.
    RestoreNetwork(usize),
}

/// An action at an offset from the start of the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// When, from the start of the window.
    pub at: Duration,
    /// What.
    pub action: Action,
}

/// The whole plan of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The seed it was drawn from.
    pub seed: u64,
    /// Steps in time order.
    pub steps: Vec<Step>,
}

/// Time intervals already taken by one resource (a worker, the server, the ledger, a service's
/// latency), so two faults of the same resource never overlap.
#[derive(Debug, Default)]
struct Busy(Vec<(u64, u64)>);

impl Busy {
    fn free(&self, from: u64, to: u64) -> bool {
        self.0.iter().all(|&(a, b)| to + 1 < a || b + 1 < from)
    }
    fn take(&mut self, from: u64, to: u64) {
        self.0.push((from, to));
    }
}

impl Plan {
    /// Draws the plan for `settings` from `seed`.
    pub fn draw(seed: u64, settings: &Settings) -> Self {
        let mut rng = Rng::new(seed);
        let window = settings.window.as_secs();
        let last = window.saturating_sub(QUIET_END);
        let mut steps = Vec::new();
        let mut at = |secs: u64, action| steps.push(Step { at: Duration::from_secs(secs), action });

        let mut workers: Vec<Busy> = (0..settings.workers).map(|_| Busy::default()).collect();
        let mut server = Busy::default();
        for _ in 0..settings.server_restarts {
            let down = rng.between(5, 15);
            let start = rng.between(QUIET_START + 5, last.saturating_sub(down));
            if server.free(start, start + down + 10) {
                server.take(start, start + down + 10);
                at(start, Action::StopServer);
                at(start + down, Action::StartServer);
            }
        }
        let mut ledger = Busy::default();
        for _ in 0..settings.ledger_outages {
            let hold = rng.between(8, 25);
            let start = rng.between(QUIET_START, last.saturating_sub(hold));
            if ledger.free(start, start + hold) {
                ledger.take(start, start + hold);
                at(start, Action::LockLedger);
                at(start + hold, Action::UnlockLedger);
            }
        }
        let mut slow = [Busy::default(), Busy::default()];
        let services = [(Service::Provider, settings.provider_faults), (Service::Sink, settings.sink_faults)];
        for (i, (service, count)) in services.into_iter().enumerate() {
            for k in 0..count {
                let start = rng.between(QUIET_START, last);
                // The first three cover every kind; the rest are drawn.
                let kind = if k < 3 { k as u64 } else { rng.between(0, 2) };
                match kind {
                    0 => at(start, Action::DropAfterCommit(service, rng.between(2, 6) as u32)),
                    1 => at(start, Action::Fail5xx(service, rng.between(2, 6) as u32)),
                    _ => {
                        let ms = rng.between(2_000, 12_000);
                        let hold = rng.between(8, 20);
                        let start = start.min(last.saturating_sub(hold));
                        if slow[i].free(start, start + hold) {
                            slow[i].take(start, start + hold);
                            at(start, Action::Slow(service, ms));
                            at(start + hold, Action::Fast(service));
                            // A worker killed while its provider calls hang: the attempt dies
                            // mid-call (the request still commits later) and only the
                            // start-to-close timeout gives the activity to another worker.
                            if service == Service::Provider {
                                let kill = start + rng.between(2, 4);
                                let pause = rng.between(2, 10).min(last.saturating_sub(kill)).max(2);
                                let free: Vec<usize> =
                                    (0..workers.len()).filter(|&w| workers[w].free(kill, kill + pause)).collect();
                                if !free.is_empty() && kill + pause <= last {
                                    let worker = free[rng.index(free.len())];
                                    workers[worker].take(kill, kill + pause);
                                    at(kill, Action::KillWorker(worker + 1));
                                    at(kill + pause, Action::StartWorker(worker + 1));
                                }
                            }
                        }
                    }
                }
            }
        }
        for _ in 0..settings.worker_kills {
            let pause = rng.between(2, 20);
            let start = rng.between(QUIET_START, last.saturating_sub(pause));
            let free: Vec<usize> = (0..workers.len()).filter(|&w| workers[w].free(start, start + pause)).collect();
            if free.is_empty() {
                continue;
            }
            let worker = free[rng.index(free.len())];
            workers[worker].take(start, start + pause);
            at(start, Action::KillWorker(worker + 1));
            at(start + pause, Action::StartWorker(worker + 1));
        }
        for _ in 0..settings.duplicate_triggers {
            let start = rng.between(QUIET_START + 5, last);
            let duplicate = match rng.between(0, 3) {
                0 => Duplicate::PunctualTrigger,
                1 => Duplicate::TemporalTrigger,
                2 => Duplicate::FireBillingAgain { slots_back: 0 },
                _ => Duplicate::FireBillingAgain { slots_back: rng.between(1, 4) },
            };
            at(start, Action::Duplicate(duplicate));
        }
        // Drawn last, so every earlier fault of a seed stays where it was before network cuts
        // existed (the README's recorded soak seed replays the same plan plus the cuts). The
        // cut worker is the last one. The network is a resource of its own: a kill and restart
        // may fall inside a cut (the restarted worker dials until the link is back).
        let partitioned = settings.workers;
        let mut network = Busy::default();
        for _ in 0..settings.network_cuts {
            let length = rng.between(CUT_SHORTEST, CUT_SHORTEST + 10);
            let start = rng.between(QUIET_START, last.saturating_sub(length));
            if start + length <= last && network.free(start, start + length) {
                network.take(start, start + length);
                at(start, Action::CutNetwork(partitioned));
                at(start + length, Action::RestoreNetwork(partitioned));
            }
        }
        // Stable: actions drawn for the same second keep their drawing order (a stop before its start).
        steps.sort_by_key(|s| s.at);
        Self { seed, steps }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Service::Provider => "provider",
            Service::Sink => "sink",
        })
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::KillWorker(n) => write!(f, "SIGKILL worker-{n}"),
            Action::StartWorker(n) => write!(f, "restart worker-{n}"),
            Action::StopServer => write!(f, "stop the Temporal server"),
            Action::StartServer => write!(f, "start the Temporal server again"),
            Action::LockLedger => write!(f, "ledger database unavailable"),
            Action::UnlockLedger => write!(f, "ledger database back"),
            Action::DropAfterCommit(s, n) => write!(f, "{s}: drop the response of the next {n} requests after committing"),
            Action::Fail5xx(s, n) => write!(f, "{s}: answer 503 to the next {n} requests"),
            Action::Slow(s, ms) => write!(f, "{s}: slow, {ms} ms before each request (the client gives up at 10 s)"),
            Action::Fast(s) => write!(f, "{s}: normal speed again"),
            Action::CutNetwork(n) => write!(f, "cut worker-{n} off the network"),
            Action::RestoreNetwork(n) => write!(f, "worker-{n}'s network back"),
            Action::Duplicate(Duplicate::PunctualTrigger) => write!(f, "duplicate: punctual schedule trigger"),
            Action::Duplicate(Duplicate::TemporalTrigger) => write!(f, "duplicate: temporal schedule trigger"),
            Action::Duplicate(Duplicate::FireBillingAgain { slots_back: 0 }) => {
                write!(f, "duplicate: temporal workflow start FireBillingWorkflow for the running slot")
            }
            Action::Duplicate(Duplicate::FireBillingAgain { slots_back }) => {
                write!(f, "duplicate: temporal workflow start FireBillingWorkflow for the slot {slots_back} back")
            }
        }
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "fault plan (seed {}, {} steps):", self.seed, self.steps.len())?;
        for step in &self.steps {
            writeln!(f, "  +{:>5}s  {}", step.at.as_secs(), step.action)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chaos::profile::Profile;

    #[test]
    fn a_seed_replays_its_plan() {
        let settings = Profile::Ci.settings();
        assert_eq!(Plan::draw(7, &settings), Plan::draw(7, &settings));
        assert_ne!(Plan::draw(7, &settings), Plan::draw(8, &settings));
    }

    #[test]
    fn every_fault_ends_inside_the_window_and_never_overlaps_itself() {
        for profile in [Profile::Ci, Profile::Soak] {
            let settings = profile.settings();
            for seed in 0..200 {
                let plan = Plan::draw(seed, &settings);
                let end = settings.window - Duration::from_secs(QUIET_END);
                assert!(plan.steps.iter().all(|s| s.at <= end), "seed {seed}: {plan}");
                assert!(plan.steps.windows(2).all(|w| w[0].at <= w[1].at));
                // Each resource alternates down/up, starting up.
                let mut down = std::collections::BTreeMap::new();
                for step in &plan.steps {
                    let (resource, goes_down) = match step.action {
                        Action::KillWorker(n) => (format!("worker-{n}"), true),
                        Action::StartWorker(n) => (format!("worker-{n}"), false),
                        Action::StopServer => ("server".into(), true),
                        Action::StartServer => ("server".into(), false),
                        Action::LockLedger => ("ledger".into(), true),
                        Action::UnlockLedger => ("ledger".into(), false),
                        Action::Slow(s, _) => (format!("{s}"), true),
                        Action::Fast(s) => (format!("{s}"), false),
                        Action::CutNetwork(n) => (format!("network-{n}"), true),
                        Action::RestoreNetwork(n) => (format!("network-{n}"), false),
                        _ => continue,
                    };
                    let was_down = down.insert(resource.clone(), goes_down).unwrap_or(false);
                    assert_ne!(was_down, goes_down, "seed {seed}: {resource} twice in a row\n{plan}");
                }
                assert!(down.values().all(|d| !d), "seed {seed}: something stays down\n{plan}");
            }
        }
    }

    #[test]
    fn the_ci_plan_has_every_kind_of_fault() {
        let plan = Plan::draw(1, &Profile::Ci.settings());
        let has = |f: fn(&Action) -> bool| plan.steps.iter().any(|s| f(&s.action));
        assert!(has(|a| matches!(a, Action::KillWorker(_))), "{plan}");
        assert!(has(|a| matches!(a, Action::StopServer)), "{plan}");
        assert!(has(|a| matches!(a, Action::LockLedger)), "{plan}");
        assert!(has(|a| matches!(a, Action::Duplicate(_))), "{plan}");
        assert!(has(|a| matches!(a, Action::CutNetwork(3))), "{plan}");
    }

    #[test]
    fn network_cuts_leave_the_rest_of_a_seeds_plan_as_it_was() {
        let with = Profile::Soak.settings();
        let without = Settings { network_cuts: 0, ..with.clone() };
        for seed in [2026, 7, 99] {
            let rest: Vec<Step> = Plan::draw(seed, &with)
                .steps
                .into_iter()
                .filter(|s| !matches!(s.action, Action::CutNetwork(_) | Action::RestoreNetwork(_)))
                .collect();
            assert_eq!(rest, Plan::draw(seed, &without).steps, "seed {seed}");
        }
    }

    #[test]
    fn every_ci_plan_cuts_the_network_for_longer_than_start_to_close() {
        let settings = Profile::Ci.settings();
        for seed in 0..200 {
            let plan = Plan::draw(seed, &settings);
            let cut = plan.steps.iter().find(|s| matches!(s.action, Action::CutNetwork(_)));
            let back = plan.steps.iter().find(|s| matches!(s.action, Action::RestoreNetwork(_)));
            let (Some(cut), Some(back)) = (cut, back) else { panic!("seed {seed}: no cut\n{plan}") };
            assert!(back.at - cut.at > Duration::from_secs(30), "seed {seed}\n{plan}");
        }
    }

    #[test]
    fn a_worker_dies_while_the_provider_is_slow() {
        let settings = Profile::Ci.settings();
        let with_kill = (0..100)
            .filter(|&seed| {
                let plan = Plan::draw(seed, &settings);
                let slow = plan.steps.iter().find(|s| matches!(s.action, Action::Slow(Service::Provider, _)));
                slow.is_some_and(|slow| {
                    plan.steps.iter().any(|s| {
                        matches!(s.action, Action::KillWorker(_)) && s.at > slow.at && s.at <= slow.at + Duration::from_secs(4)
                    })
                })
            })
            .count();
        assert!(with_kill >= 90, "only {with_kill} of 100 ci plans kill a worker during a slow provider");
    }
}
