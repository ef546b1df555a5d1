//! `FireBillingWorkflow`: a small billing run per schedule fire, billed for the *period the fire's
//! business key names* instead of a whole business date.
//!
//! `BillingRunWorkflow` bills one date once (`bill/{customer}/{date}`), so a job firing every few
//! seconds would make its effects on the first fire of the day and find them done on every other.
//! A job that really bills per fire (usage metering, the chaos run) needs each fire's effects
//! keyed by the fire itself: this workflow bills the period `{date}T{HH:MM[:SS]}` of its
//! occurrence key `{job}/{date}T{HH:MM[:SS]}` — for a once-a-day job the period is the date, the
//! very bill `BillingRunWorkflow` makes. Everything below is the billing code as it is:
//! `ListCustomersPage`, `GenerateBill` (ledger key `bill/{customer}/{period}`, invoice
//! `INV-{customer}-{period without dashes}`) and a `PaymentSagaWorkflow` per invoice
//! (`payment/{invoice}`: charge, record, receipt; refund and void on failure).

use super::bulk_steps::bill_in_bulk;
use super::contracts::BillingContract;
use super::options::{activity, effect};
use super::run::{BillingMode, PAGE_SIZE};
use super::sagas::run_sagas;
use super::types::*;
use crate::business_date::{date_field, timezone_field};
use crate::input::{InputError, JsonInput};
use crate::join::join_in_order;
use crate::{keys, names, search};
use chrono::{LocalResult, NaiveDate, NaiveTime, TimeZone};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{WorkflowContext, WorkflowResult};

/// `JobName` of these runs.
pub const JOB_NAME: &str = "fire-billing";
/// Most customers one fire bills: the run has no continue-as-new, so its history stays bounded.
pub const MAX_CUSTOMERS: usize = 200;

const EXAMPLE: &str =
    r#"{"business_date": "2026-11-24", "timezone": "Asia/Shanghai", "period": "2026-11-24T10:00:05", "mode": "bulk"}"#;

/// Input of `FireBillingWorkflow`. A schedule's occurrence sends `business_date` and the job's
/// `timezone`; `period` is then its own key's. Started by hand, pass `period` (it must start
/// with `business_date`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FireBillingInput {
    /// Business date of the fire.
    pub business_date: String,
    /// IANA time zone whose customers are billed.
    pub timezone: String,
    /// The period billed, e.g. `2026-11-24T10:00:05`.
    pub period: Option<String>,
    /// `per_customer` (default: a saga per invoice) or `bulk` (one activity per step, a saga
    /// only where a refusal needs one); the effects and their keys are the same in both.
    #[serde(default)]
    pub mode: BillingMode,
}

/// Result of `FireBillingWorkflow`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FireBillingSummary {
    /// The period billed.
    pub period: String,
    /// Time zone billed.
    pub timezone: String,
    /// What became of each customer's invoice.
    pub totals: BillingTotals,
}

/// The period an occurrence key names: everything after `{job}/` (job names have no `/`).
pub fn period_of_key(key: &str) -> Option<&str> {
    key.split_once('/').map(|(_, period)| period).filter(|p| !p.is_empty())
}

/// Checks that `period` is spelt as an occurrence key of `business_date` spells it (see
/// `Job::key`): the date, or the date and a local time `THH:MM` or `THH:MM:SS` (seconds only when
/// not zero), either followed by `/repeat` for the second pass of a repeated hour.
///
/// One spelling per period matters: the period is in every bill's ledger key, so a hand-started
/// fire that wrote `10:00:00` for the fire's `10:00`, or `10:0`, would bill the period again
/// under new keys.
pub fn check_period(period: &str, business_date: &str) -> Result<(), InputError> {
    match spelt_as_a_key(period.strip_suffix("/repeat").unwrap_or(period), business_date) {
        Some(_) => Ok(()),
        None => Err(InputError::Invalid {
            field: "period",
            expected: format!(
                "the fire's period as its occurrence key spells it: {business_date}, {business_date}THH:MM or \
                 {business_date}THH:MM:SS (seconds not zero), optionally followed by /repeat"
            ),
            got: format!("\"{period}\""),
        }),
    }
}

/// Checks that a period given by hand ends in `/repeat` only where `zone` shows its time twice
/// that day (or, for the date alone, on a day with a repeated hour): elsewhere `10:00/repeat` is
/// a second period of the same fire, billed again under new keys. Periods taken from a parent
/// occurrence's key are not checked: punctual's plan made them, in the job's own zone and on the
/// day the fire ran, which need not be the customers' zone or the business date.
pub fn check_repeat(period: &str, business_date: &str, zone: Tz) -> Result<(), InputError> {
    let Some(base) = period.strip_suffix("/repeat") else { return Ok(()) };
    let time = spelt_as_a_key(base, business_date).flatten();
    if shown_twice(business_date, time, zone) {
        return Ok(());
    }
    Err(InputError::Invalid {
        field: "period",
        expected: format!(
            "/repeat only for a time {} shows twice on {business_date} (the second pass of a fall-back hour)",
            zone.name()
        ),
        got: format!("\"{period}\""),
    })
}

/// Patch marker of a hand-given `/repeat` period refused by [`check_repeat`].
const REPEAT_PERIOD_CHECKED: &str = "repeat-period-checked";

/// The local time of a period spelt as a key (`None` inside for the date alone), or `None` when
/// it is spelt otherwise.
fn spelt_as_a_key(period: &str, business_date: &str) -> Option<Option<NaiveTime>> {
    let rest = period.strip_prefix(business_date)?;
    let Some(time) = rest.strip_prefix('T') else { return rest.is_empty().then_some(None) };
    let two_digits = |part: &str, below: u32| {
        (part.len() == 2 && part.bytes().all(|b| b.is_ascii_digit()))
            .then(|| part.parse::<u32>().ok())
            .flatten()
            .filter(|n| *n < below)
    };
    let (h, m, s) = match time.split(':').collect::<Vec<_>>()[..] {
        [h, m] => (two_digits(h, 24)?, two_digits(m, 60)?, 0),
        [h, m, s] if s != "00" => (two_digits(h, 24)?, two_digits(m, 60)?, two_digits(s, 60)?),
        _ => return None,
    };
    NaiveTime::from_hms_opt(h, m, s).map(Some)
}

/// Whether `zone` shows the local `time` of `date` twice, or, without a time, shows some time of
/// `date` twice (every quarter hour is looked at: fall-back transitions fall on quarter hours).
fn shown_twice(date: &str, time: Option<NaiveTime>, zone: Tz) -> bool {
    let Ok(date) = date.parse::<NaiveDate>() else { return false };
    let twice = |t: NaiveTime| matches!(zone.from_local_datetime(&date.and_time(t)), LocalResult::Ambiguous(..));
    match time {
        Some(t) => twice(t),
        None => (0..96).filter_map(|q| NaiveTime::from_hms_opt(q / 4, (q % 4) * 15, 0)).any(twice),
    }
}

impl FireBillingInput {
    /// Reads and validates the input, naming the offending field.
    pub fn from_json(input: &JsonInput) -> Result<Self, InputError> {
        let obj = input.object(&["business_date", "timezone", "period", "mode"], EXAMPLE)?;
        let business_date = date_field(&obj, "business_date")?.to_string();
        let zone = timezone_field(&obj, "timezone")?;
        let period = match obj.optional("period") {
            None => None,
            Some(_) => Some(obj.string("period")?.to_owned()),
        };
        if let Some(period) = &period {
            check_period(period, &business_date)?;
        }
        let mode = BillingMode::field(&obj)?;
        Ok(Self { business_date, timezone: zone.name().to_owned(), period, mode })
    }
}

/// `FireBillingWorkflow` — started as the child of a `JobOccurrenceWorkflow` (workflow ID
/// `{key}/FireBillingWorkflow`) or by hand; input [`FireBillingInput`]; result
/// [`FireBillingSummary`].
///
/// The period comes from `period`, else from the parent occurrence's workflow ID (its business
/// key); neither is a non-retryable input error. Bills every customer of the zone (at most
/// [`MAX_CUSTOMERS`]) for that period, concurrently, then collects each invoice through its saga;
/// with `"mode": "bulk"`, by [`bill_in_bulk`] instead: one activity per step for all of them.
/// Running the same period again — a duplicate trigger, a manual start under another ID — makes
/// no second bill, charge, refund or receipt: bills replay from the ledger and sagas that already
/// ran are not started again (`already_done`).
#[workflow]
#[derive(Default)]
pub struct FireBillingWorkflow;

#[workflow_methods]
impl FireBillingWorkflow {
    /// Entry point; see the type's documentation.
    #[run(name = names::FIRE_BILLING_WORKFLOW)]
    pub async fn run(ctx: &mut WorkflowContext<Self>, input: JsonInput) -> WorkflowResult<FireBillingSummary> {
        let input = FireBillingInput::from_json(&input)?;
        let parent = ctx.info().parent().map(|p| p.workflow_id().to_owned());
        let period = match (&input.period, parent.as_deref().and_then(period_of_key)) {
            (Some(period), _) => {
                // `from_json` checked the zone already.
                let zone: Tz = input.timezone.parse().map_err(|_| InputError::Invalid {
                    field: "timezone",
                    expected: "an IANA time zone".to_owned(),
                    got: input.timezone.clone(),
                })?;
                // Asked only when the check refuses, so other runs carry no marker, and a run
                // started before the check replays as it ran.
                if let Err(refused) = check_repeat(period, &input.business_date, zone)
                    && ctx.patched(REPEAT_PERIOD_CHECKED)
                {
                    return Err(refused.into());
                }
                period.clone()
            }
            (None, Some(period)) => {
                check_period(period, &input.business_date)?;
                period.to_owned()
            }
            (None, None) => return Err(InputError::Missing { field: "period", example: EXAMPLE }.into()),
        };
        ctx.upsert_search_attributes([
            search::BUSINESS_KEY.value_set(format!("fire-billing/{}/{period}", input.timezone)),
            search::BUSINESS_DATE.value_set(input.business_date.clone()),
            search::JOB_NAME.value_set(JOB_NAME.to_owned()),
        ]);
        let customers = list_customers(ctx, &input.timezone).await?;
        let totals = match input.mode {
            BillingMode::PerCustomer => bill_period(ctx, &input.business_date, &period, customers).await?,
            BillingMode::Bulk => {
                let ids = customers.into_iter().map(|(id, _)| id).collect();
                bill_in_bulk(ctx, &period, &input.business_date, ids).await?
            }
        };
        let outcome = if totals.failed == 0 { Outcome::Completed } else { Outcome::Failed };
        ctx.upsert_search_attributes([search::outcome(outcome)]);
        Ok(FireBillingSummary { period, timezone: input.timezone, totals })
    }
}

/// Every customer of `timezone` as `(id, shown)` (see [`CustomerPage::shown`]), page by page,
/// up to [`MAX_CUSTOMERS`].
async fn list_customers(ctx: &WorkflowContext<FireBillingWorkflow>, timezone: &str) -> WorkflowResult<Vec<(String, String)>> {
    let mut all: Vec<(String, String)> = Vec::new();
    loop {
        let after = all.last().cloned();
        let input =
            ListCustomersInput { timezone: timezone.to_owned(), after: after.clone().map(|(id, _)| id), limit: PAGE_SIZE };
        let id = format!("list-customers-after-{}", after.as_ref().map_or("start", |(_, shown)| shown.as_str()));
        let page = ctx.execute_activity(BillingContract::list_customers, input, activity(id)).await?;
        let full = page.customer_ids.len() == PAGE_SIZE as usize;
        let shown = page.shown();
        all.extend(page.customer_ids.into_iter().zip(shown));
        if !full || all.len() >= MAX_CUSTOMERS {
            all.truncate(MAX_CUSTOMERS);
            return Ok(all);
        }
    }
}

/// Bills each customer for `period`, then runs (or finds already run) each invoice's saga.
async fn bill_period(
    ctx: &WorkflowContext<FireBillingWorkflow>,
    business_date: &str,
    period: &str,
    customers: Vec<(String, String)>,
) -> WorkflowResult<BillingTotals> {
    let mut totals = BillingTotals { customers: customers.len() as u64, ..Default::default() };
    let bills = join_in_order(customers.iter().map(|(customer, shown)| {
        let input = GenerateBillInput { customer_id: customer.clone(), business_date: period.to_owned() };
        ctx.execute_activity(BillingContract::generate_bill, input, effect(keys::bill_activity(shown, period)))
    }))
    .await;
    let mut payments = Vec::new();
    for bill in bills {
        let Ok(bill) = bill else {
            totals.failed += 1;
            continue;
        };
        // The saga's business date is the fire's date; its invoice carries the period.
        payments.push(PaymentInput { business_date: business_date.to_owned(), ..bill });
    }
    run_sagas(ctx, payments, &mut totals).await?;
    Ok(totals)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_period_is_the_occurrence_key_after_the_job() {
        assert_eq!(period_of_key("chaos/2026-11-24T10:00:05"), Some("2026-11-24T10:00:05"));
        assert_eq!(period_of_key("bill_generation/2026-11-24"), Some("2026-11-24"));
        assert_eq!(period_of_key("no-slash"), None);
        assert_eq!(period_of_key("job/"), None);
    }

    const SHANGHAI: Tz = chrono_tz::Asia::Shanghai;
    const NEW_YORK: Tz = chrono_tz::America::New_York;

    #[test]
    fn a_period_must_belong_to_its_business_date() {
        assert!(check_period("2026-11-24T10:00:05", "2026-11-24").is_ok());
        assert!(check_period("2026-11-24", "2026-11-24").is_ok());
        let err = check_period("2026-11-25T00:00:00", "2026-11-24").unwrap_err().to_string();
        assert!(err.contains("period") && err.contains("2026-11-24"), "{err}");
        assert!(check_period("2026-11-24 10:00", "2026-11-24").is_err());
    }

    #[test]
    fn a_period_has_the_one_spelling_its_occurrence_key_has() {
        for ok in ["2026-11-24", "2026-11-24T10:00", "2026-11-24T23:59:59", "2026-11-24T01:00/repeat", "2026-11-24/repeat"] {
            assert!(check_period(ok, "2026-11-24").is_ok(), "{ok}");
        }
        for typo in [
            "2026-11-24T10:00:00", "2026-11-24T10:0", "2026-11-24T1:00", "2026-11-24T24:00", "2026-11-24T10:60",
            "2026-11-24T10:00:5", "2026-11-24T10", "2026-11-24T", "2026-11-24x", "2026-11-24T10:00/again",
            "2026-11-24T10:00:05:00", "2026-11-24T+9:00", "2026-11-24T10:00:+0", "2026-11-24T10:00/repeat/repeat",
        ] {
            let err = check_period(typo, "2026-11-24").unwrap_err().to_string();
            assert!(err.contains("period") && err.contains(typo), "{typo}: {err}");
        }
    }

    /// `/repeat` names the second pass of a fall-back hour; given by hand on any other time it
    /// would be a second period of the same fire, billed again under new keys.
    #[test]
    fn repeat_only_where_the_zone_shows_the_time_twice() {
        // New York falls back at 02:00 on 2026-11-01: 01:00-01:59 happen twice.
        for ok in ["2026-11-01T01:00/repeat", "2026-11-01T01:59:59/repeat", "2026-11-01/repeat", "2026-11-01T05:00"] {
            assert!(check_repeat(ok, "2026-11-01", NEW_YORK).is_ok(), "{ok}");
        }
        for (period, date, zone) in [
            ("2026-11-01T02:00/repeat", "2026-11-01", NEW_YORK),
            ("2026-11-01T00:59/repeat", "2026-11-01", NEW_YORK),
            ("2026-11-02T01:00/repeat", "2026-11-02", NEW_YORK),
            ("2026-11-02/repeat", "2026-11-02", NEW_YORK),
            ("2026-11-01T01:00/repeat", "2026-11-01", SHANGHAI),
            ("2026-11-01/repeat", "2026-11-01", SHANGHAI),
        ] {
            let err = check_repeat(period, date, zone).unwrap_err().to_string();
            assert!(err.contains("/repeat only for a time") && err.contains(zone.name()), "{period}: {err}");
        }
    }

    #[test]
    fn input_names_the_bad_field() {
        let ok = FireBillingInput::from_json(&JsonInput::from(json!({
            "business_date": "2026-11-24", "timezone": "Asia/Shanghai", "period": "2026-11-24T10:00:05"
        })))
        .unwrap();
        assert_eq!(ok.period.as_deref(), Some("2026-11-24T10:00:05"));
        let err = FireBillingInput::from_json(&JsonInput::from(json!({
            "business_date": "2026-11-24", "timezone": "Asia/Shanghai", "period": ""
        })))
        .unwrap_err()
        .to_string();
        assert!(err.contains("period"), "{err}");
    }

    #[test]
    fn mode_is_per_customer_unless_bulk_is_asked() {
        let base = json!({ "business_date": "2026-11-24", "timezone": "Asia/Shanghai" });
        let parse = |mode: Option<&str>| {
            let mut v = base.clone();
            if let Some(m) = mode {
                v["mode"] = json!(m);
            }
            FireBillingInput::from_json(&JsonInput::from(v))
        };
        assert_eq!(parse(None).unwrap().mode, BillingMode::PerCustomer);
        assert_eq!(parse(Some("per_customer")).unwrap().mode, BillingMode::PerCustomer);
        assert_eq!(parse(Some("bulk")).unwrap().mode, BillingMode::Bulk);
        let err = parse(Some("fast")).unwrap_err().to_string();
        assert!(err.contains("mode") && err.contains("bulk") && err.contains("fast"), "{err}");
    }

    #[test]
    fn fire_invoices_are_distinct_per_period() {
        assert_eq!(keys::invoice_id("C00001", "2026-11-24T10:00:05"), "INV-C00001-20261124T10:00:05");
        assert_ne!(keys::invoice_id("C00001", "2026-11-24T10:00:05"), keys::invoice_id("C00001", "2026-11-24T10:00:10"));
    }
}
