//! What the run must have produced, computed from the clock and the customers alone — never from
//! what the system reports about itself.
//!
//! Fires: every multiple of the job's `every` (since the epoch, as Temporal counts intervals)
//! from one full interval after `schedule apply` returned, up to and including the last one due
//! before the schedule was paused, is *required*; one during `apply`, in the first interval after
//! it, or after that last one is *optional* (the server may or may not have fired it), and
//! anything else is unexpected.
//!
//! Why the first interval is optional: a new schedule's clock starts when the server's scheduler
//! first runs for it, not when the create request returned. On a loaded machine (load average 9)
//! that was over a second later, and the fire due 0.8 s after `apply` returned was never made —
//! Temporal's behaviour for a schedule's very first instant, not a lost run of a live schedule. Each fire bills every customer of
//! the zone once, and the customer's seeded card and account decide how that ends.
//!
//! Why "the last one due" and not "everything before the pause": Temporal's scheduler runs a few
//! seconds behind on a busy machine, and a pause it receives before acting on a due time drops
//! that fire (a paused schedule starts nothing). The harness therefore pauses only once the
//! server reports the last due fire started, and records which one that was.

use chrono::{DateTime, TimeZone, Utc};
use punctual_workflows::billing::fire::period_of_key;
use punctual_workflows::jobs::Job;
use punctual_workflows::keys;

/// How a customer's bill must end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Charged once, payment recorded, one receipt; invoice `paid`.
    Paid,
    /// Declined card: no charge, no receipt; invoice `void`.
    Declined,
    /// Closed account: charged once, refunded once, no payment, no receipt; invoice `void`.
    Closed,
}

impl Fate {
    /// The fate of a customer with this payment method and account status.
    pub fn of(payment_method: &str, status: &str) -> Self {
        if payment_method.starts_with("pm_card_chargeDeclined") {
            Fate::Declined
        } else if status == "closed" {
            Fate::Closed
        } else {
            Fate::Paid
        }
    }

    /// Whether the saga ends by compensating.
    pub fn compensated(self) -> bool {
        self != Fate::Paid
    }
}

/// A customer the job bills.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    /// `C00017`.
    pub id: String,
    /// How each of its bills must end.
    pub fate: Fate,
}

/// One expected fire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fire {
    /// Nominal time.
    pub at: DateTime<Utc>,
    /// Occurrence key `{job}/{date}T{time}`.
    pub key: String,
}

impl Fire {
    /// The invoice this fire bills `customer` under.
    pub fn invoice(&self, customer: &str) -> String {
        keys::invoice_id(customer, period_of_key(&self.key).unwrap_or(&self.key))
    }
}

/// Required and optional fires of the run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fires {
    /// Must have run, each exactly once.
    pub required: Vec<Fire>,
    /// May have run (at most once).
    pub optional: Vec<Fire>,
}

/// The instants around the schedule's life.
#[derive(Debug, Clone, Copy)]
pub struct ScheduleLife {
    /// Just before `schedule apply`.
    pub apply_started: DateTime<Utc>,
    /// Once it returned.
    pub applied: DateTime<Utc>,
    /// The last due fire the server had started when the pause was sent.
    pub last_due: DateTime<Utc>,
    /// Once `schedule pause` returned.
    pub paused: DateTime<Utc>,
}

/// The fires of `job` (interval `every` seconds) over `life`.
pub fn fires(job: &Job, every: u64, life: ScheduleLife) -> Fires {
    let step = every as i64;
    let first = life.apply_started.timestamp().div_euclid(step) * step;
    let mut fires = Fires::default();
    let mut t = first;
    while t <= life.paused.timestamp() {
        if let Some(at) = Utc.timestamp_opt(t, 0).single()
            && at >= life.apply_started
        {
            let local = at.with_timezone(&job.tz).naive_local();
            let fire = Fire { at, key: job.key(local.date(), local.time(), false) };
            if at > life.applied + chrono::Duration::seconds(step) && at <= life.last_due {
                fires.required.push(fire);
            } else {
                fires.optional.push(fire);
            }
        }
        t += step;
    }
    fires
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> Job {
        let text = crate::chaos::system::jobs_file(&crate::chaos::profile::Profile::Ci.settings());
        let spec = crate::jobs::config::parse("chaos.toml", &text).unwrap().pop().unwrap();
        Job::resolve(spec).unwrap()
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    #[test]
    fn fires_inside_the_schedule_life_are_required_the_edges_and_the_first_interval_optional() {
        let life = ScheduleLife {
            apply_started: at("2026-11-24T02:00:04.5Z"),
            applied: at("2026-11-24T02:00:05.2Z"),
            last_due: at("2026-11-24T02:00:15Z"),
            paused: at("2026-11-24T02:00:20.1Z"),
        };
        let fires = fires(&job(), 5, life);
        let keys = |f: &[Fire]| f.iter().map(|f| f.key.clone()).collect::<Vec<_>>();
        assert_eq!(keys(&fires.required), ["chaos/2026-11-24T10:00:15"]);
        assert_eq!(
            keys(&fires.optional),
            ["chaos/2026-11-24T10:00:05", "chaos/2026-11-24T10:00:10", "chaos/2026-11-24T10:00:20"]
        );
        assert_eq!(fires.required[0].invoice("C00001"), "INV-C00001-20261124T10:00:15");
    }

    #[test]
    fn a_fire_on_the_whole_minute_has_the_short_key() {
        let life = ScheduleLife {
            apply_started: at("2026-11-24T01:59:53Z"),
            applied: at("2026-11-24T01:59:53.5Z"),
            last_due: at("2026-11-24T02:00:00Z"),
            paused: at("2026-11-24T02:00:01.5Z"),
        };
        let fires = fires(&job(), 5, life);
        assert_eq!(fires.required[0].key, "chaos/2026-11-24T10:00");
        assert_eq!(fires.required[0].invoice("C00002"), "INV-C00002-20261124T10:00");
    }

    #[test]
    fn fates_follow_card_and_account() {
        assert_eq!(Fate::of("pm_card_visa", "active"), Fate::Paid);
        assert_eq!(Fate::of("pm_card_chargeDeclined", "active"), Fate::Declined);
        assert_eq!(Fate::of("pm_card_chargeDeclined", "closed"), Fate::Declined);
        assert_eq!(Fate::of("pm_card_visa", "closed"), Fate::Closed);
    }
}
