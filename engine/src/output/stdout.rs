//! The one way to standard output. A reader that goes away early (`watchkeep show --json | head
//! -1`) closes the pipe: the write fails with `BrokenPipe`, which here means "stop quietly" —
//! later writes are dropped, no error is shown and the exit code is what it would have been.
//! (`println!` would panic instead.) Any other write error is reported.

use std::io::{ErrorKind, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;

use crate::run::Error;

static CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes `text` as is, and flushes.
pub fn print(text: &str) -> Result<(), Error> {
    if CLOSED.load(Ordering::Relaxed) {
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::BrokenPipe => {
            CLOSED.store(true, Ordering::Relaxed);
            Ok(())
        }
        Err(e) => Err(Error::msg(format!("cannot write to standard output: {e}"))),
    }
}

/// Writes `text` and a newline.
pub fn println(text: &str) -> Result<(), Error> {
    print(&format!("{text}\n"))
}

/// Writes `v` as pretty JSON and a newline.
pub fn print_json<T: Serialize>(v: &T) -> Result<(), Error> {
    let text = serde_json::to_string_pretty(v).map_err(|e| Error::msg(format!("cannot encode JSON: {e}")))?;
    println(&text)
}

/// Whether a reader closed standard output early.
pub fn closed() -> bool {
    CLOSED.load(Ordering::Relaxed)
}
