//! Talking with the operator on the terminal: questions and notes on stderr.

use crate::core::stop::Stop;
use std::io::{BufRead, IsTerminal, Write};

/// Whether someone can answer a question: stdin and stderr are both terminals.
pub fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Asks a yes/no question on the terminal; only called when [`interactive`]. A Ctrl-C
/// while it waits ends the command (exit 130) with nothing done after it.
pub async fn ask(question: &str, stop: &Stop) -> Result<bool, crate::core::error::Error> {
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let read = tokio::task::spawn_blocking(|| {
        let mut answer = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut answer)
            .map(|_| answer)
    });
    tokio::select! {
        () = stop.first() => Err(crate::core::error::Error::Interrupted(
            "interrupted at the question; nothing was deployed after it".into(),
        )),
        answer = read => {
            let answer = answer
                .map_err(|e| crate::core::error::Error::Failed(format!("cannot read the answer: {e}")))?
                .map_err(|e| crate::core::error::Error::Failed(format!("cannot read the answer: {e}")))?;
            Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES"))
        }
    }
}

/// A line for the operator on stderr (stdout stays the report's), above the progress bar
/// while one is live.
pub fn note(message: &str) {
    super::progress::to_stderr(format!("{message}\n").as_bytes());
}
