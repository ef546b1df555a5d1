//! Every side effect punctual performs lives here, behind activity implementations.
//!
//! Activities are at-least-once: a worker can finish an effect and die before reporting it, and
//! Temporal will run the activity again. So each effectful activity must be idempotent *at the
//! effect*, not merely carry a business-keyed activity ID. The contracts (names, inputs, outputs)
//! are declared in `punctual-workflows`; this crate implements them.

pub mod bench;
pub mod billing;
pub mod failure;
pub mod heartbeat;
pub mod jobs;
pub mod ledger;
pub mod metrics;
pub mod outside;
pub mod pseudonym;
pub mod reports;
pub mod runs;
pub mod seed;
pub mod server_clock;
pub mod zone_names;

pub use bench::BenchActivities;
pub use billing::{BillingActivities, BulkBillingActivities};
pub use jobs::JobActivities;
pub use reports::ReportActivities;
pub use runs::RunActivities;
