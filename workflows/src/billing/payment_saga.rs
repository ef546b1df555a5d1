//! `PaymentSagaWorkflow`: charge → record payment → send receipt, undone in reverse on failure.

use super::contracts::BillingContract;
use super::options::effect;
use super::types::*;
use crate::business_date::date_field;
use crate::failures::{self, ACCOUNT_CLOSED, CHARGE_REFUSED, IDEMPOTENCY_CONFLICT, INVOICE_VOID, PAYMENT_DECLINED};
use crate::input::{INVALID_INPUT, InputError, JsonInput};
use crate::runs::{self, RunOutcomeRecord};
use crate::search::{self, job};
use crate::{keys, names};
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{ActivityExecutionError, ApplicationFailure, WorkflowContext, WorkflowResult};

const EXAMPLE: &str = r#"{"invoice_id": "INV-C00001-20261124", "customer_id": "C00001", "business_date": "2026-11-24", "amount_cents": 1999, "payment_method": "pm_card_visa"}"#;

impl PaymentInput {
    /// Reads and validates the saga input, naming the offending field.
    pub fn from_json(input: &JsonInput) -> Result<Self, InputError> {
        let obj = input.object(
            &["invoice_id", "customer_id", "business_date", "amount_cents", "payment_method", "customer_ref", "invoice_ref"],
            EXAMPLE,
        )?;
        let optional = |field| match obj.optional(field) {
            None => Ok(String::new()),
            Some(_) => obj.string(field).map(str::to_owned),
        };
        Ok(Self {
            invoice_id: obj.string("invoice_id")?.to_owned(),
            customer_id: obj.string("customer_id")?.to_owned(),
            business_date: date_field(&obj, "business_date")?.to_string(),
            amount_cents: obj.integer("amount_cents", 1, 1_000_000_000_000)? as i64,
            payment_method: obj.string("payment_method")?.to_owned(),
            customer_ref: optional("customer_ref")?,
            invoice_ref: optional("invoice_ref")?,
        })
    }
}

/// A completed step's undo, run in reverse order if a later step fails.
#[derive(Debug, Clone)]
enum Compensation {
    VoidInvoice,
    Refund { charge_id: String },
}

/// The forward step that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Charge,
    Record,
    Receipt,
}

/// Patch marker of a saga that stops with nothing undone where it used to compensate: see
/// [`nothing_to_undo`].
const COMPENSATE_KNOWN_OUTCOMES: &str = "compensate-known-outcomes";

/// Why a failure of `step` (of failure type `kind`) must undo nothing, or `None` when the saga
/// compensates. Undoing is for outcomes the business knows: a decline, a closed account, a
/// voided bill, the provider's own recorded refusal of the charge. Two failures are not that:
///
/// - a receipt that cannot be sent, once the payment is collected and recorded: refunding a paid
///   bill over a notification (a wrong sink URL refunded a whole day's bills) is worse than a
///   customer told late; the reconciliation flags it `paid_without_receipt`;
/// - a charge that failed with an answer that is not the provider's (a wrong base URL's 404, a
///   proxy's plain-text 400) or with a ledger error: nothing the provider would say again, and an
///   earlier attempt may have charged under the same key, so voiding could void a paid bill (and
///   a wrong provider URL voided a whole day's bills). The key stays claimed
///   (`open_charge_claim` in the reconciliation).
///
/// Either way the saga fails for a person, and a re-run of the date, once the cause is fixed,
/// finishes it under the same keys.
fn nothing_to_undo(step: Step, kind: Option<&str>) -> Option<&'static str> {
    match step {
        Step::Receipt => Some(
            "the payment is collected and recorded and only its receipt failed: a refund would return a paid bill over a notification",
        ),
        Step::Charge if !matches!(kind, Some(PAYMENT_DECLINED | INVOICE_VOID | ACCOUNT_CLOSED | CHARGE_REFUSED)) => {
            Some("the charge's outcome is not known (no answer the provider would give again): the bill is not voided")
        }
        Step::Charge | Step::Record => None,
    }
}

/// `PaymentSagaWorkflow` — workflow ID `payment/{invoice}`; input [`PaymentInput`]; result
/// [`PaymentResult`]. Where Temporal shows the invoice or customer in the clear (workflow and
/// activity ids, `BusinessKey`, `CustomerId`) it is [`Bill::shown_invoice`] /
/// [`Bill::shown_customer`]: pseudonyms when the worker has a pseudonym key.
///
/// Steps: `ChargeInvoice` → `RecordPayment` → `SendReceipt`, each keyed by the invoice and
/// performed at most once by the ledger. The invoice itself exists before the saga starts, so
/// `VoidInvoice` is always the last compensation. If a step fails, the completed steps'
/// compensations run in reverse (`RefundCharge`, then `VoidInvoice`), each keyed and run once.
/// A decline, a closed account or a voided invoice is a business outcome: no retries, `RunOutcome=compensated`,
/// and the workflow completes. A refusal the provider recorded, or a failure to record the
/// payment, also compensates but ends `RunOutcome=failed` and fails the workflow so it is
/// visible as failed; a compensation that itself fails is logged as an error and fails the
/// workflow. A charge whose outcome is not known, or a receipt that cannot be sent once the
/// payment is recorded, undoes nothing (see [`nothing_to_undo`]). An `IdempotencyConflict` (the step's key already holds an
/// effect made for other data) compensates nothing: the saga cannot tell whether that effect
/// was a charge, and voiding a paid invoice is worse than leaving it to a person. A bill that is
/// not an invoice punctual issued (no such invoice, or another customer, date or amount) is
/// refused by `ChargeInvoice` before any effect: the workflow fails with `InvalidInput` naming
/// the field, compensates nothing and archives nothing.
#[workflow]
#[derive(Default)]
pub struct PaymentSagaWorkflow;

#[workflow_methods]
impl PaymentSagaWorkflow {
    /// Entry point; see the type's documentation.
    #[run(name = names::PAYMENT_SAGA_WORKFLOW)]
    pub async fn run(ctx: &mut WorkflowContext<Self>, input: JsonInput) -> WorkflowResult<PaymentResult> {
        let payment = PaymentInput::from_json(&input)?;
        let mut refused = false;
        let result = saga(ctx, &payment, &mut refused).await;
        // A bill that is not an issued invoice is the caller's mistake, refused before any
        // effect: no run of the invoice's key to record or archive (the key may be a real
        // invoice's, paid by its own run).
        if refused {
            return result;
        }
        if let Some((outcome, error)) = runs::outcome_of(&result, |r| r.outcome.as_str()) {
            let record = RunOutcomeRecord {
                job: job::PAYMENT.to_owned(),
                business_key: keys::payment_saga(payment.shown_invoice()),
                workflow_type: names::PAYMENT_SAGA_WORKFLOW.to_owned(),
                outcome: outcome.to_owned(),
                error,
                input: serde_json::to_value(&payment).unwrap_or_default(),
            };
            runs::record(ctx, record).await;
        }
        result
    }
}

/// The saga proper: steps, then compensations on failure; see [`PaymentSagaWorkflow`].
/// Sets `refused` when the charge refused the bill as not an issued invoice (`InvalidInput`).
async fn saga(
    ctx: &mut WorkflowContext<PaymentSagaWorkflow>,
    payment: &PaymentInput,
    refused: &mut bool,
) -> WorkflowResult<PaymentResult> {
    let invoice = payment.invoice_id.clone();
    ctx.upsert_search_attributes([
        search::BUSINESS_KEY.value_set(keys::payment_saga(payment.shown_invoice())),
        search::BUSINESS_DATE.value_set(payment.business_date.clone()),
        search::CUSTOMER_ID.value_set(payment.shown_customer().to_owned()),
        search::JOB_NAME.value_set(job::PAYMENT.to_owned()),
    ]);

    let mut done = vec![Compensation::VoidInvoice];
    let (step, failure) = match collect(ctx, payment, &mut done).await {
        Ok(charge_id) => {
            ctx.upsert_search_attributes([search::outcome(Outcome::Completed)]);
            return Ok(PaymentResult {
                invoice_id: invoice,
                outcome: Outcome::Completed,
                charge_id: Some(charge_id),
                reason: None,
                compensations: Vec::new(),
            });
        }
        Err(err) => err,
    };

    let kind = failures::application_type(&failure).map(str::to_owned);
    let reason = failures::message(&failure);
    if kind.as_deref() == Some(INVALID_INPUT) {
        // `ChargeInvoice` found no issued invoice matching the input: nothing was done, so there
        // is nothing to undo, and voiding would touch an invoice this input does not describe.
        *refused = true;
        ctx.upsert_search_attributes([search::outcome(Outcome::Failed)]);
        let failure = ApplicationFailure::builder(format!("payment of {invoice} refused: {reason}"))
            .type_name(INVALID_INPUT.to_owned())
            .non_retryable(true)
            .build();
        return Err(failure.into());
    }
    if kind.as_deref() == Some(IDEMPOTENCY_CONFLICT) {
        // The step's key already holds an effect made for another request (another run of the
        // same invoice with other data): this saga cannot know whether the charge happened, so
        // undoing the steps before it could void an invoice that was paid. Stop for a person.
        if !ctx.is_replaying() {
            tracing::error!(invoice = %invoice, reason = %reason, "payment stopped on an idempotency conflict: nothing compensated, manual action needed");
        }
        ctx.upsert_search_attributes([search::outcome(Outcome::Failed)]);
        return Err(
            ApplicationFailure::non_retryable(format!("payment of {invoice} stopped, nothing compensated: {reason}")).into()
        );
    }
    // Asked only where the rule stops, so other runs carry no marker, and a run that began
    // compensating before the rule replays as it ran.
    if let Some(why) = nothing_to_undo(step, kind.as_deref())
        && ctx.patched(COMPENSATE_KNOWN_OUTCOMES)
    {
        if !ctx.is_replaying() {
            tracing::error!(invoice = %invoice, step = ?step, reason = %reason, "payment stopped, nothing undone: manual action needed");
        }
        ctx.upsert_search_attributes([search::outcome(Outcome::Failed)]);
        return Err(ApplicationFailure::non_retryable(format!(
            "payment of {invoice} stopped at {step:?}, nothing undone ({why}); run the date again once this is fixed: {reason}"
        ))
        .into());
    }
    if !ctx.is_replaying() {
        tracing::warn!(invoice = %invoice, reason = %reason, "payment not collected; compensating");
    }
    let charge_id = done.iter().find_map(|c| match c {
        Compensation::Refund { charge_id } => Some(charge_id.clone()),
        Compensation::VoidInvoice => None,
    });
    let compensated = compensate(ctx, payment, done, &reason).await;
    let business_refusal = matches!(kind.as_deref(), Some(PAYMENT_DECLINED | ACCOUNT_CLOSED | INVOICE_VOID));
    let outcome = match &compensated {
        Ok(_) if business_refusal => Outcome::Compensated,
        _ => Outcome::Failed,
    };
    ctx.upsert_search_attributes([search::outcome(outcome)]);
    match compensated {
        Ok(compensations) if outcome == Outcome::Compensated => {
            Ok(PaymentResult { invoice_id: invoice, outcome, charge_id, reason: Some(reason), compensations })
        }
        Ok(_) => {
            Err(ApplicationFailure::non_retryable(format!("payment of {invoice} failed and was compensated: {reason}")).into())
        }
        Err(comp_err) => Err(ApplicationFailure::non_retryable(format!(
            "payment of {invoice} failed ({reason}) and its compensation failed too: {comp_err}"
        ))
        .into()),
    }
}

/// The forward steps; each completed step pushes its compensation onto `done`. A failure names
/// its step.
async fn collect(
    ctx: &WorkflowContext<PaymentSagaWorkflow>,
    p: &PaymentInput,
    done: &mut Vec<Compensation>,
) -> Result<String, (Step, ActivityExecutionError)> {
    let (inv, shown) = (&p.invoice_id, p.shown_invoice());
    let at = |step| move |err| (step, err);
    let charge = ctx
        .execute_activity(BillingContract::charge_invoice, p.clone(), effect(keys::charge(shown)))
        .await
        .map_err(at(Step::Charge))?;
    done.push(Compensation::Refund { charge_id: charge.charge_id.clone() });
    let record = RecordPaymentInput {
        invoice_id: inv.clone(),
        customer_id: p.customer_id.clone(),
        charge_id: charge.charge_id.clone(),
        amount_cents: p.amount_cents,
    };
    ctx.execute_activity(BillingContract::record_payment, record, effect(keys::payment_record(shown)))
        .await
        .map_err(at(Step::Record))?;
    let receipt = ReceiptInput { invoice_id: inv.clone(), customer_id: p.customer_id.clone(), amount_cents: p.amount_cents };
    ctx.execute_activity(BillingContract::send_receipt, receipt, effect(keys::receipt(shown)))
        .await
        .map_err(at(Step::Receipt))?;
    Ok(charge.charge_id)
}

/// Runs the compensations of the completed steps in reverse order; returns their names.
async fn compensate(
    ctx: &WorkflowContext<PaymentSagaWorkflow>,
    p: &PaymentInput,
    done: Vec<Compensation>,
    reason: &str,
) -> Result<Vec<String>, String> {
    let (inv, shown) = (&p.invoice_id, p.shown_invoice());
    let mut ran = Vec::new();
    for step in done.into_iter().rev() {
        let result = match &step {
            Compensation::Refund { charge_id } => {
                let input = RefundInput { invoice_id: inv.clone(), charge_id: charge_id.clone() };
                ctx.execute_activity(BillingContract::refund_charge, input, effect(keys::refund(shown)))
                    .await
                    .map(|_| names::REFUND_CHARGE_ACTIVITY)
            }
            Compensation::VoidInvoice => {
                let input = VoidInput { invoice_id: inv.clone(), reason: reason.to_owned() };
                ctx.execute_activity(BillingContract::void_invoice, input, effect(keys::void(shown)))
                    .await
                    .map(|_| names::VOID_INVOICE_ACTIVITY)
            }
        };
        match result {
            Ok(name) => ran.push(name.to_owned()),
            Err(err) => {
                let message = failures::message(&err);
                if !ctx.is_replaying() {
                    tracing::error!(
                        invoice = %inv,
                        compensation = ?step,
                        error = %message,
                        "COMPENSATION FAILED: manual action needed"
                    );
                }
                return Err(format!("{step:?}: {message}"));
            }
        }
    }
    Ok(ran)
}
