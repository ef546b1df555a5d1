//! The process's shutdown signal: the first SIGINT (Ctrl-C) or SIGTERM (compose, Kubernetes).

use std::future::Future;

/// Resolves when the process receives SIGINT or SIGTERM.
///
/// The handlers are installed when this is called, not when the future is first polled: a worker
/// logs "worker polling" before it awaits this, and a SIGTERM sent on seeing that line must drain
/// it, not kill it with the signal's default action. Call it inside the tokio runtime.
pub fn signal() -> impl Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let listen = |kind: SignalKind, name: &'static str| match signal(kind) {
            Ok(stream) => Some(stream),
            Err(err) => {
                tracing::error!(error = %err, signal = name, "cannot listen for the signal");
                None
            }
        };
        let (mut interrupt, mut terminate) =
            (listen(SignalKind::interrupt(), "SIGINT"), listen(SignalKind::terminate(), "SIGTERM"));
        async move {
            let received = async |stream: &mut Option<tokio::signal::unix::Signal>| match stream {
                Some(stream) => {
                    stream.recv().await;
                }
                None => std::future::pending::<()>().await,
            };
            tokio::select! {
                () = received(&mut interrupt) => tracing::info!(signal = "SIGINT", "received"),
                () = received(&mut terminate) => tracing::info!(signal = "SIGTERM", "received"),
            }
        }
    }
    #[cfg(not(unix))]
    async {
        if tokio::signal::ctrl_c().await.is_ok() {
            tracing::info!(signal = "SIGINT", "received");
        } else {
            std::future::pending::<()>().await;
        }
    }
}
