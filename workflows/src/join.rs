//! Waiting for many workflow futures at once, deterministically.
//!
//! `futures::future::join_all` switches to `FuturesOrdered` above 30 futures, whose internal
//! wakers the SDK rightly flags as a nondeterministic (non-SDK) waker source and fails the
//! workflow task. This join polls every pending future in order on each wake-up, with the
//! SDK's own waker, whatever the number of futures.

use futures::future::{MaybeDone, maybe_done};
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::Poll;

/// Runs all `futures` concurrently and returns their outputs in input order.
pub async fn join_in_order<F: Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut pending: Vec<Pin<Box<MaybeDone<F>>>> = futures.into_iter().map(|f| Box::pin(maybe_done(f))).collect();
    poll_fn(|cx| {
        let mut all_done = true;
        for f in pending.iter_mut() {
            if f.as_mut().poll(cx).is_pending() {
                all_done = false;
            }
        }
        if all_done { Poll::Ready(()) } else { Poll::Pending }
    })
    .await;
    pending.iter_mut().map(|f| f.as_mut().take_output().expect("every future completed")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_input_order_beyond_thirty_futures() {
        let futures = (0..100).map(|i| async move { i * 2 });
        let out = futures::executor::block_on(join_in_order(futures));
        assert_eq!(out, (0..100).map(|i| i * 2).collect::<Vec<_>>());
    }
}
