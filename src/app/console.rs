//! The terminal: everything loadgate prints to stdout or stderr goes through here (the lints
//! `print_stdout` and `print_stderr` keep `print!` and `eprint!` out of the library).
//!
//! Under GitHub Actions (`GITHUB_ACTIONS=true`) stdout and stderr are a command channel, and
//! what loadgate prints quotes profiles, results files and the target: every text is passed
//! through [`workflow::neutralize`], so none of it can start a workflow command. loadgate's own
//! commands (annotations, masks) are formatted escaped and written by [`commands`] instead.
//! Each write is treated as starting a line (the safe side when a line is written in parts).
//!
//! Every byte for stdout goes through [`to_stdout`]: a reader that went away (a broken pipe)
//! silences stdout quietly, and any other write failure fails the command at its end (see
//! [`stdout_failure`]).

use std::borrow::Cow;
use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

use crate::github::workflow;

/// `true` under GitHub Actions (read once).
pub(crate) fn under_actions() -> bool {
    static UNDER: OnceLock<bool> = OnceLock::new();
    *UNDER.get_or_init(|| std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true"))
}

fn safe(text: &str) -> Cow<'_, str> {
    if under_actions() {
        workflow::neutralize(text)
    } else {
        Cow::Borrowed(text)
    }
}

/// Set once stdout cannot take more: its reader went away, or a write failed.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);
/// The first stdout failure other than a broken pipe, for [`stdout_failure`].
static STDOUT_FAILURE: Mutex<Option<std::io::Error>> = Mutex::new(None);

/// Writes `bytes` to stdout; the one place that does.
///
/// Rust ignores `SIGPIPE`, so when the reader of a pipe goes away (`loadgate … | head -1`) a
/// write fails with `BrokenPipe` instead of killing the process. That is not an error: the
/// rest of the output is dropped quietly, and the command runs to its end and exits with its
/// own code — 0 when it passes (the usual choice for a closed pipe), and a regression's code
/// unchanged, so a pipe never turns a failing gate into a pass nor loses the results, outputs
/// or comment written after the summary. Exiting at once (141, as a `SIGPIPE` kill would)
/// would lose those. Any other failure (a full disk) is kept: the command fails with it when
/// it ends (see [`stdout_failure`]); the output is dropped from then on too.
fn to_stdout(bytes: &[u8]) {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    let Err(e) = stdout.write_all(bytes).and_then(|()| stdout.flush()) else {
        return;
    };
    STDOUT_CLOSED.store(true, Ordering::Relaxed);
    if e.kind() != std::io::ErrorKind::BrokenPipe {
        STDOUT_FAILURE
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_or_insert(e);
    }
}

/// The first failure to write stdout other than a closed pipe, if any (taken).
pub(crate) fn stdout_failure() -> Option<std::io::Error> {
    STDOUT_FAILURE
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take()
}

/// Writes `text` to stdout.
pub(crate) fn write_out(text: &str) {
    to_stdout(safe(text).as_bytes());
}

/// Writes `text` to stderr.
pub(crate) fn write_err(text: &str) {
    let _ = std::io::stderr().lock().write_all(safe(text).as_bytes());
}

/// Writes a rendered file (a report, a schema) to stdout: as is when stdout is redirected to a
/// file (the runner does not read it then, and the bytes must stay the file's), else as
/// [`write_out`].
pub(crate) fn out_document(text: &str) {
    if stdout_is_a_file() {
        to_stdout(text.as_bytes());
    } else {
        write_out(text);
    }
}

#[cfg(unix)]
fn stdout_is_a_file() -> bool {
    use std::os::fd::AsFd as _;
    std::io::stdout()
        .as_fd()
        .try_clone_to_owned()
        .map(std::fs::File::from)
        .and_then(|f| f.metadata())
        .is_ok_and(|m| m.file_type().is_file())
}

#[cfg(not(unix))]
fn stdout_is_a_file() -> bool {
    false
}

/// Writes loadgate's own workflow commands (escaped annotations, masks) to stdout, unchanged.
pub(crate) fn commands(text: &str) {
    to_stdout(text.as_bytes());
}

/// The log's writer (tracing): one event per write, neutralized under Actions when dropped.
#[derive(Debug, Default)]
pub(crate) struct LogWriter {
    buffer: Vec<u8>,
}

impl std::io::Write for LogWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.buffer.is_empty() {
            write_err(&String::from_utf8_lossy(&self.buffer));
            self.buffer.clear();
        }
        Ok(())
    }
}

impl Drop for LogWriter {
    fn drop(&mut self) {
        let _ = std::io::Write::flush(self);
    }
}

/// Under Actions, a panic's message goes through [`write_err`] too (it may quote anything); the
/// backtrace follows when `RUST_BACKTRACE` asks for one.
pub(crate) fn neutralize_panics() {
    if !under_actions() {
        return;
    }
    std::panic::set_hook(Box::new(|info| {
        write_err(&format!("{info}\n"));
        let backtrace = std::backtrace::Backtrace::capture();
        if backtrace.status() == std::backtrace::BacktraceStatus::Captured {
            write_err(&format!("{backtrace}\n"));
        }
    }));
}

/// `print!` through [`write_out`].
macro_rules! out {
    ($($arg:tt)*) => { $crate::app::console::write_out(&format!($($arg)*)) };
}

/// `eprint!` through [`write_err`].
macro_rules! err {
    ($($arg:tt)*) => { $crate::app::console::write_err(&format!($($arg)*)) };
}

/// `eprintln!` through [`write_err`].
macro_rules! errln {
    ($($arg:tt)*) => { $crate::app::console::write_err(&format!("{}\n", format_args!($($arg)*))) };
}

pub(crate) use {err, errln, out};
