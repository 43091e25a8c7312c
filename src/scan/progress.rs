//! A progress bar for long scans, on stderr and only when stderr is a terminal.
//!
//! The scan's hot loops already count files (or objects) and bytes in atomics for their
//! summary; a separate thread reads those counters a few times a second and redraws the bar,
//! so the bar adds nothing to a file's or object's path and costs no throughput. A pipe, a
//! CI log, a `TERM=dumb` terminal or the pre-commit hook get no bar at all, not even a final line: their stderr holds
//! the scan's notes and nothing else. The bar is cleared when the scan ends, so the summary
//! line takes its place.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

/// How often the bar is redrawn: often enough to look alive, rarely enough to cost nothing.
const REDRAW: Duration = Duration::from_millis(100);

/// Whether scans show a bar: decided once, from stderr.
#[derive(Clone, Copy)]
pub struct Progress {
    shown: bool,
}

/// What the bar reads while the work runs.
pub struct Counters<'a> {
    /// `files` or `objects`.
    pub unit: &'static str,
    pub done: &'a AtomicU64,
    pub bytes: &'a AtomicU64,
    /// How many there are in all, when known; `0` until then (a bar without an end is
    /// drawn as a spinner).
    pub total: &'a AtomicU64,
}

impl Progress {
    /// A bar when stderr is a terminal that can redraw a line, none otherwise (indicatif
    /// itself draws nothing when `TERM` is unset or `dumb`; knowing it here saves the work
    /// done for the bar, such as counting a history's objects).
    pub fn for_stderr() -> Self {
        let redraws = std::env::var_os("TERM").is_some_and(|term| term != "dumb");
        Progress {
            shown: redraws && std::io::stderr().is_terminal(),
        }
    }

    pub fn is_shown(self) -> bool {
        self.shown
    }

    /// Runs `work`, with a bar of `counters` drawn beside it when shown.
    pub fn run<R>(self, counters: &Counters<'_>, work: impl FnOnce() -> R) -> R {
        if !self.shown {
            return work();
        }
        let (done_tx, done_rx) = mpsc::channel::<()>();
        std::thread::scope(|scope| {
            scope.spawn(move || {
                // The bytes as last read, for the template's `{read}`: one update then
                // draws position and bytes together.
                let read = Arc::new(AtomicU64::new(0));
                let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
                let mut bounded = false;
                bar.set_style(unbounded_style(counters.unit, &read));
                loop {
                    let total = counters.total.load(Ordering::Relaxed);
                    if total > 0 && !bounded {
                        bounded = true;
                        bar.set_style(bounded_style(counters.unit, &read));
                    }
                    read.store(counters.bytes.load(Ordering::Relaxed), Ordering::Relaxed);
                    let done = counters.done.load(Ordering::Relaxed);
                    bar.update(|state| {
                        state.set_pos(done);
                        if bounded {
                            // The count is of a listing made beside the scan's own.
                            state.set_len(total.max(done));
                        }
                    });
                    match done_rx.recv_timeout(REDRAW) {
                        Err(mpsc::RecvTimeoutError::Timeout) => continue,
                        _ => break,
                    }
                }
                bar.finish_and_clear();
            });
            let result = work();
            let _ = done_tx.send(());
            result
        })
    }
}

fn unbounded_style(unit: &str, read: &Arc<AtomicU64>) -> ProgressStyle {
    ProgressStyle::with_template(&format!(
        "{{spinner}} scanning: {{human_pos}} {unit}, {{read}}, {{elapsed}}"
    ))
    .unwrap_or_else(|_| ProgressStyle::default_spinner())
    .with_key("read", bytes_and_rate(read))
}

fn bounded_style(unit: &str, read: &Arc<AtomicU64>) -> ProgressStyle {
    ProgressStyle::with_template(&format!(
        "scanning [{{bar:20}}] {{human_pos}}/{{human_len}} {unit}, {{read}}"
    ))
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ")
    .with_key("read", bytes_and_rate(read))
}

/// `27.36 MiB (272.87 MiB/s)`: what has been read, and how fast.
fn bytes_and_rate(
    read: &Arc<AtomicU64>,
) -> impl Fn(&ProgressState, &mut dyn std::fmt::Write) + Send + Sync + Clone + 'static {
    let read = Arc::clone(read);
    move |state, out| {
        let bytes = read.load(Ordering::Relaxed);
        let seconds = state.elapsed().as_secs_f64().max(0.001);
        let _ = write!(
            out,
            "{} ({}/s)",
            HumanBytes(bytes),
            HumanBytes((bytes as f64 / seconds) as u64)
        );
    }
}
