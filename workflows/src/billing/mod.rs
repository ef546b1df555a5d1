//! The billing job: a run pages through customers, a batch bills one page, a saga collects one
//! invoice. Types and activity contracts are shared with the activities crate.

pub mod batch;
pub mod bulk_batch;
pub mod bulk_steps;
pub mod bulk_types;
pub mod contracts;
pub mod fire;
pub mod options;
pub mod payment_saga;
pub mod run;
pub mod sagas;
pub mod types;

pub use batch::BillingBatchWorkflow;
pub use bulk_batch::BillingBulkBatchWorkflow;
pub use contracts::{BillingContract, BulkBillingContract};
pub use fire::FireBillingWorkflow;
pub use payment_saga::PaymentSagaWorkflow;
pub use run::BillingRunWorkflow;
