//! Reporting: the only module that knows about terminals, colours, progress bars and the
//! JSON shapes of the README. Engines hand it plain results.
//!
//! - While a stage runs: an indicatif bar on stderr when stderr is a terminal (done/total,
//!   created/updated/unchanged/failed counts, elapsed, ETA), else one plain log line per
//!   finished target on stderr.
//! - When it ends: `--output json` prints exactly one JSON document on stdout; text output
//!   prints a table of the targets that need attention and a summary line.
//!
//! One file per output (`stage`, `plan`, `status`, `history`, `accounts`, `publish`, `rules`,
//! `remediation`, `template`, the Markdown summary), the progress display, the prompts, and
//! `json`: the wire types of every JSON document.

mod accounts;
mod conformity;
mod doctor;
mod exceptions;
mod history;
pub mod json;
mod markdown;
mod output;
mod pause;
mod plan;
mod progress;
mod prompt;
mod publish;
mod remediation;
mod rules;
mod stage;
mod status;
mod table;
mod template;
mod undo;

pub use accounts::print_accounts;
pub use conformity::{print_conformity, print_profile};
pub use doctor::print_doctor;
pub use exceptions::{print_exceptions, ExceptionRow};
pub use history::{history_csv, history_markdown, print_history, HistoryView};
pub use markdown::markdown;
pub use output::{print_bytes, print_json, OutputFormat};
pub use pause::print_switch;
pub use plan::print_plan;
pub use progress::{progress, progress_of_rollout, LogWriter, ProgressKind};
pub use prompt::{ask, interactive, note, preview_text};
pub use publish::print_publish;
pub use remediation::print_remediation;
pub use rules::{print_rules, RuleRow};
pub use stage::{print_rollout, print_rollout_stage, print_stage};
pub use status::{print_status, State, StatusView};
pub use template::print_template;
pub use undo::print_undo;
