//! The terminal: everything loadgate prints to stdout or stderr goes through here (the lints
//! `print_stdout` and `print_stderr` keep `print!` and `eprint!` out of the library).
//!
//! Under GitHub Actions (`GITHUB_ACTIONS=true`) stdout and stderr are a command channel, and
//! what loadgate prints quotes profiles, results files and the target: every text is passed
//! through [`workflow::neutralize`], so none of it can start a workflow command. loadgate's own
//! commands (annotations, masks) are formatted escaped and written by [`commands`] instead.
//! Each write is treated as starting a line (the safe side when a line is written in parts).

use std::borrow::Cow;
use std::io::Write as _;
use std::sync::OnceLock;

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

/// Writes `text` to stdout.
pub(crate) fn write_out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(safe(text).as_bytes());
    let _ = stdout.flush();
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
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(text.as_bytes());
        let _ = stdout.flush();
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
    let _ = workflow::emit_commands(text);
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
