//! `remedy manpage` (hidden): remedy's man page, roff on stdout (clap_mangen, from the parser
//! itself: every command, option and its help, and each command's examples). `make release`
//! ships it as `remedy.1`.

use crate::core::error::{exit, Error};

// `remedy manpage` takes no flags of its own.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Writes the man page of `command` (the whole command line) on stdout: the top page, then a
/// section per visible subcommand with its synopsis, options and examples.
pub fn run(_args: Args, mut command: clap::Command) -> Result<i32, Error> {
    // Built, the subcommands carry the global options and their full name (`remedy deploy`).
    command.build();
    let failed = |e: std::io::Error| Error::Failed(format!("cannot render the man page: {e}"));
    let mut top = Vec::new();
    clap_mangen::Man::new(command.clone())
        .render(&mut top)
        .map_err(failed)?;
    let mut page = Vec::new();
    for line in String::from_utf8_lossy(&top).lines() {
        let line = if line == ".SH EXTRA" {
            ".SH NOTES"
        } else {
            line
        };
        page.extend_from_slice(line.as_bytes());
        page.push(b'\n');
    }
    // A command with subcommands of its own (`remedy conformity`) gets a section, then each
    // of them one.
    fn visible(command: &clap::Command) -> Vec<clap::Command> {
        command
            .get_subcommands()
            .filter(|s| !s.is_hide_set())
            .flat_map(|s| std::iter::once(s.clone()).chain(visible(s)))
            .collect()
    }
    for sub in &visible(&command) {
        let name = sub.get_bin_name().unwrap_or(sub.get_name()).to_owned();
        page.extend_from_slice(format!(".SH \"{}\"\n", name.to_uppercase()).as_bytes());
        // The global options are on the top page: not again under every command.
        let own = sub.clone().mut_args(|arg| {
            if arg.is_global_set() {
                arg.hide(true)
            } else {
                arg
            }
        });
        let man = clap_mangen::Man::new(own);
        let mut body = Vec::new();
        man.render_description_section(&mut body).map_err(failed)?;
        man.render_synopsis_section(&mut body).map_err(failed)?;
        man.render_options_section(&mut body).map_err(failed)?;
        if sub.get_after_help().is_some() {
            man.render_extra_section(&mut body).map_err(failed)?;
        }
        // Each part starts with its own `.SH`: under the subcommand's, they are subsections.
        for line in String::from_utf8_lossy(&body).lines() {
            let line = match line.strip_prefix(".SH ") {
                Some("EXTRA") => ".SS EXAMPLES".to_owned(),
                Some(heading) => format!(".SS {heading}"),
                None => line.to_owned(),
            };
            page.extend_from_slice(line.as_bytes());
            page.push(b'\n');
        }
    }
    crate::report::print_bytes(&page);
    Ok(exit::OK)
}
