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

/// What a deploy of `stage` would do, in the lines printed before its question.
pub fn preview_text(stage: &str, p: &crate::core::semantic::Preview) -> String {
    let mut counts = vec![
        format!("{} create", p.create),
        format!("{} update", p.update),
        format!("{} unchanged", p.unchanged),
    ];
    if p.other > 0 {
        counts.push(format!("{} unread or busy", p.other));
    }
    let noun = if p.accounts == 1 {
        "account"
    } else {
        "accounts"
    };
    let mut lines = vec![format!(
        "stage `{stage}`: {} {noun} — {}",
        p.accounts,
        counts.join(", ")
    )];
    if !p.rule_changes.is_empty() {
        lines.push("  rule changes:".to_owned());
        for (change, n) in &p.rule_changes {
            let noun = if *n == 1 { "account" } else { "accounts" };
            lines.push(format!("    {change} ({n} {noun})"));
        }
    }
    if p.other_changes > 0 {
        lines.push(format!(
            "  {} other change(s) (settings, role actions, notification routes): `remedy plan --stage {stage}` lists them",
            p.other_changes
        ));
    }
    if p.unexplained > 0 {
        lines.push(format!(
            "  {} update(s) whose deployed rules could not be read",
            p.unexplained
        ));
    }
    lines.push(if p.remediating.is_empty() {
        "  no rule will remediate (dry-run and notify only)".to_owned()
    } else {
        format!(
            "  will REMEDIATE ({} {}): {}",
            p.remediating.len(),
            if p.remediating.len() == 1 {
                "rule"
            } else {
                "rules"
            },
            p.remediating.join(", ")
        )
    });
    lines.join("\n")
}
