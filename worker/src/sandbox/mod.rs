//! The "outside world" punctual's effects land in: a Stripe-like payment provider and a
//! notification sink, real HTTP services that tests and the chaos verifier count effects in.
//!
//! Both follow Stripe's idempotency rules (first executed answer per `Idempotency-Key` is stored
//! and replayed; the same key with other parameters is refused), log every request they receive
//! (`GET /requests` on the provider, `GET /deliveries` on the sink), list the effects they actually
//! made (`GET /charges`, `GET /refunds`, `GET /delivered`), and take faults on demand over
//! `PUT /faults` — including committing a request and then dropping its response.
//!
//! State is in memory behind one lock per service: a restart forgets every effect, key and log
//! entry. One request pipeline (`exchange`) serves both, so they behave alike.

mod answer;
mod exchange;
mod faults;
mod idempotency;
mod provider;
mod request_log;
mod routes;
mod sink;

pub use provider::serve_provider;
pub use sink::serve_sink;
