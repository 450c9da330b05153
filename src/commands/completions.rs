//! `remedy completions SHELL`: the shell's completion script for every command and option,
//! on stdout (clap_complete, from the parser itself).

use crate::core::error::{exit, Error};

// The flags of `remedy completions`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell to complete for.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

/// Writes `shell`'s completion script for `command` (the whole command line) on stdout.
pub fn run(args: Args, mut command: clap::Command) -> Result<i32, Error> {
    let mut script = Vec::new();
    let name = command.get_name().to_owned();
    clap_complete::generate(args.shell, &mut command, name, &mut script);
    crate::report::print_bytes(&script);
    Ok(exit::OK)
}
