//! The run's story: every fault and notable event, printed as it happens with its time since the
//! run started, and kept for the summary so a failure can be read from top to bottom.

use chrono::{DateTime, Utc};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// One line of the story.
#[derive(Debug, Clone)]
pub struct Event {
    /// Time since the run started.
    pub at: Duration,
    /// Wall-clock time, to compare with nominal fire times and database timestamps.
    pub wall: DateTime<Utc>,
    /// What happened.
    pub text: String,
    /// Whether it is an injected fault (kept for the closing timeline).
    pub fault: bool,
}

/// Shared, append-only timeline.
#[derive(Debug, Clone)]
pub struct Timeline {
    start: Instant,
    events: Arc<Mutex<Vec<Event>>>,
}

impl Default for Timeline {
    fn default() -> Self {
        Self::new()
    }
}

impl Timeline {
    /// A timeline starting now.
    pub fn new() -> Self {
        Self { start: Instant::now(), events: Arc::default() }
    }

    /// Time since the run started.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Prints and records a progress note.
    pub fn note(&self, text: impl Into<String>) {
        self.push(text.into(), false);
    }

    /// Prints and records an injected fault (or its end).
    pub fn fault(&self, text: impl Into<String>) {
        self.push(text.into(), true);
    }

    fn push(&self, text: String, fault: bool) {
        let event = Event { at: self.elapsed(), wall: Utc::now(), text, fault };
        crate::out!("{}", line(&event));
        self.events.lock().unwrap_or_else(PoisonError::into_inner).push(event);
    }

    /// The faults so far, in order.
    pub fn faults(&self) -> Vec<Event> {
        self.events.lock().unwrap_or_else(PoisonError::into_inner).iter().filter(|e| e.fault).cloned().collect()
    }
}

/// `[+  12.3s 10:00:05Z] text`.
pub fn line(event: &Event) -> String {
    format!("[+{:>6.1}s {}] {}", event.at.as_secs_f64(), event.wall.format("%H:%M:%SZ"), event.text)
}
