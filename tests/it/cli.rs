//! The command line's conventions (issue 15, point 15): every command and option has help,
//! every command's `--help` ends with examples that parse, `--version` names the commit,
//! completions for each shell, the man page, and `--profile` / `--region` as the AWS CLI
//! takes them (on top of the standard chain; a profile that does not exist is one line).

use crate::support::{self, remedy, Emulator, Org, Workdir, REGION};
use std::path::Path;
use std::process::{Command, Stdio};

/// Every command, depth first, with its full name (`remedy deploy`); clap's own `help`
/// subcommand is not ours.
fn commands() -> Vec<(String, clap::Command)> {
    fn walk(prefix: &str, command: &clap::Command, out: &mut Vec<(String, clap::Command)>) {
        let name = format!("{prefix}{}", command.get_name());
        out.push((name.clone(), command.clone()));
        for sub in command.get_subcommands() {
            walk(&format!("{name} "), sub, out);
        }
    }
    let mut command = remedy::cli::command();
    command.build();
    let mut out = Vec::new();
    walk("", &command, &mut out);
    out.retain(|(name, _)| !name.split(' ').any(|word| word == "help"));
    out
}

/// `remedy` with no AWS reachable (a closed port) and no credentials but the ones given: the
/// tests of this file that must fail before any call.
fn offline(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_remedy"));
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::null());
    cmd
}

fn output(cmd: &mut Command) -> support::Run {
    cmd.output().expect("run remedy").into()
}

#[test]
fn every_command_and_option_has_help() {
    let mut missing = Vec::new();
    for (name, command) in commands() {
        if command
            .get_about()
            .is_none_or(|a| a.to_string().trim().is_empty())
        {
            missing.push(format!("{name}: no about"));
        }
        for arg in command.get_arguments() {
            let help = arg
                .get_help()
                .or(arg.get_long_help())
                .map(|h| h.to_string())
                .unwrap_or_default();
            // Hidden arguments are not shown; `skip` fields are not arguments at all.
            if help.trim().is_empty() && !arg.is_hide_set() {
                missing.push(format!("{name} --{}", arg.get_id()));
            }
        }
    }
    assert!(missing.is_empty(), "without help: {missing:#?}");
    // The walk sees the commands (so an empty list cannot pass): every subcommand is there.
    let names: Vec<String> = commands().into_iter().map(|(n, _)| n).collect();
    for expected in ["remedy deploy", "remedy completions", "remedy manpage"] {
        assert!(names.contains(&expected.to_owned()), "{names:?}");
    }
}

/// The lines of an examples section that run remedy, as words: from `remedy` to the first
/// shell operator (`> file`, `| man -l -`, `)`).
fn example_invocations(examples: &str) -> Vec<Vec<String>> {
    examples
        .lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .filter_map(|line| {
            let start = line.find("remedy ")?;
            let command = &line[start..];
            let end = command.find(['>', '|', ')']).unwrap_or(command.len());
            Some(
                command[..end]
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect(),
            )
        })
        .collect()
}

#[test]
fn every_command_help_ends_with_examples_that_parse() {
    let subcommands: Vec<(String, clap::Command)> = commands().into_iter().skip(1).collect();
    assert!(subcommands.len() >= 13, "{}", subcommands.len());
    for (name, mut command) in subcommands {
        let help = command.render_help().to_string();
        let Some((_, examples)) = help.split_once("\nExamples:\n") else {
            panic!("{name} --help has no Examples section:\n{help}");
        };
        // The section is the last one: nothing but example lines after its heading.
        assert!(
            examples
                .lines()
                .all(|l| l.is_empty() || l.starts_with("  ")),
            "{name}: the examples are not the end of the help:\n{help}"
        );
        let invocations = example_invocations(examples);
        assert!(
            (2..=4).contains(&invocations.len()),
            "{name}: {} examples:\n{examples}",
            invocations.len()
        );
        for words in invocations {
            let subcommand = name.split(' ').nth(1).unwrap_or_default();
            assert!(
                words.iter().any(|w| w == subcommand),
                "{name}: an example of another command: {words:?}"
            );
            if let Err(e) = remedy::cli::command().try_get_matches_from(&words) {
                panic!(
                    "{name}: the example `{}` does not parse:\n{e}",
                    words.join(" ")
                );
            }
        }
    }
}

#[test]
fn help_on_the_command_line_ends_with_the_examples() {
    let dir = tempfile::tempdir().unwrap();
    let run = output(offline(dir.path()).args(["deploy", "--help"]));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let last = run.stdout.trim_end().lines().last().unwrap_or_default();
    assert!(
        last.trim_start().starts_with("remedy ") && run.stdout.contains("\nExamples:\n"),
        "{}",
        run.stdout
    );
    // The global options are shown apart from the command's own.
    assert!(run.stdout.contains("\nGlobal options:\n"), "{}", run.stdout);
    assert!(run.stdout.contains("--profile <NAME>"), "{}", run.stdout);
}

#[test]
fn an_example_that_does_not_parse_is_caught() {
    // The check above can fail: a misspelt flag in an example is an error.
    let words = &example_invocations("  remedy deploy --stag dev > x")[0];
    assert_eq!(words, &["remedy", "deploy", "--stag", "dev"]);
    assert!(remedy::cli::command().try_get_matches_from(words).is_err());
}

#[test]
fn version_names_the_commit() {
    let dir = tempfile::tempdir().unwrap();
    let run = output(offline(dir.path()).arg("--version"));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        format!("remedy {} ({})\n", remedy::VERSION, remedy::COMMIT)
    );
    assert_eq!(
        remedy::VERSION_LONG,
        format!("{} ({})", remedy::VERSION, remedy::COMMIT)
    );
    // Built from this clone: the commit is one of its own (HEAD moves as others commit, so
    // the test asks that it exists, not that it is HEAD).
    let repo = env!("CARGO_MANIFEST_DIR");
    let git = Command::new("git")
        .args(["-C", repo, "rev-parse", "--git-dir"])
        .output();
    if git.is_ok_and(|o| o.status.success()) {
        assert!(
            remedy::COMMIT.len() >= 7 && remedy::COMMIT.chars().all(|c| c.is_ascii_hexdigit()),
            "{}",
            remedy::COMMIT
        );
        let known = Command::new("git")
            .args(["-C", repo, "cat-file", "-e"])
            .arg(format!("{}^{{commit}}", remedy::COMMIT))
            .status()
            .expect("git");
        assert!(
            known.success(),
            "{} is not a commit of this clone",
            remedy::COMMIT
        );
    }
}

#[test]
fn completions_for_every_shell() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        // No configuration needed, nothing on stderr.
        let run = output(offline(dir.path()).args(["completions", shell]));
        assert_eq!(run.code, 0, "{shell}: {}", run.stderr);
        assert!(run.stderr.is_empty(), "{shell}: {}", run.stderr);
        // (fish names options without their dashes)
        for word in ["deploy", "rollout", "completions", "stage", "profile"] {
            assert!(
                run.stdout.contains(word),
                "{shell} lacks {word}:\n{}",
                run.stdout
            );
        }
    }
    let run = output(offline(dir.path()).args(["completions", "tcsh"]));
    assert_eq!(run.code, 2, "{}", run.stderr);
    // bash accepts what it is given.
    if Command::new("bash").arg("--version").output().is_ok() {
        let check = Command::new("bash")
            .args([
                "-c",
                "source <(\"$0\" completions bash) && complete -p remedy",
            ])
            .arg(env!("CARGO_BIN_EXE_remedy"))
            .output()
            .expect("bash");
        assert!(
            check.status.success() && String::from_utf8_lossy(&check.stdout).contains("remedy"),
            "{}",
            String::from_utf8_lossy(&check.stderr)
        );
    }
}

#[test]
fn the_man_page_has_every_command_and_its_examples() {
    let dir = tempfile::tempdir().unwrap();
    let run = output(offline(dir.path()).arg("manpage"));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let page = &run.stdout;
    assert!(
        page.lines().any(|l| l.starts_with(".TH remedy 1")),
        "{}",
        &page[..page.len().min(400)]
    );
    for (name, command) in commands().into_iter().skip(1) {
        if command.is_hide_set() {
            continue;
        }
        assert!(
            page.contains(&format!(".SH \"{}\"", name.to_uppercase())),
            "no section for {name}"
        );
    }
    assert!(page.contains(".SS EXAMPLES"));
    assert!(page.contains("\\-\\-profile"));
    assert!(page.contains(remedy::COMMIT));
    // Hidden from help, still runnable: it is how `make release` writes remedy.1.
    let help = output(offline(dir.path()).arg("--help"));
    assert!(!help.stdout.contains("manpage"), "{}", help.stdout);
}

const CONFIG: &str = "package: package.zip\nstages:\n  - name: dev\n    targets: {ous: [/Workloads/Dev]}\nrules:\n  S3-001: remediate\n";

#[test]
fn a_profile_that_does_not_exist_is_one_line_naming_it() {
    let work = Workdir::new(CONFIG);
    let aws = work.path().join("aws-config");
    std::fs::write(
        &aws,
        "[profile security]\naws_access_key_id = a\naws_secret_access_key = b\n",
    )
    .unwrap();
    for (profile, hint) in [
        ("nope", None),
        ("securty", Some("did you mean `security`?")),
    ] {
        let run = output(
            offline(work.path())
                .env("AWS_CONFIG_FILE", &aws)
                // Keys in the environment do not make a missing profile good.
                .env("AWS_ACCESS_KEY_ID", "testing")
                .env("AWS_SECRET_ACCESS_KEY", "testing")
                .env("AWS_REGION", REGION)
                .args(["--profile", profile, "accounts", "--stage", "dev"]),
        );
        assert_eq!(run.code, 2, "{}", run.stderr);
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{}", run.stderr);
        assert!(
            lines[0].contains(&format!("--profile {profile}: no such profile")),
            "{}",
            run.stderr
        );
        if let Some(hint) = hint {
            assert!(lines[0].contains(hint), "{}", run.stderr);
        }
        assert!(
            !run.stderr.contains("dispatch"),
            "reached AWS: {}",
            run.stderr
        );
    }
    // No profile files at all: the same line.
    let run = output(offline(work.path()).args([
        "--profile",
        "nope",
        "deploy",
        "--stage",
        "dev",
        "--yes",
    ]));
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("nope"), "{}", run.stderr);
}

#[test]
fn the_global_region_is_deploys_home_region_check_too() {
    // Before the subcommand or after it, `--region` is one option: a region other than the
    // stage's home region is refused before any AWS call.
    let work = Workdir::new(&format!("home_region: us-east-1\n{CONFIG}"));
    for args in [
        &["--region", "eu-west-1", "deploy", "--stage", "dev", "--yes"][..],
        &["deploy", "--stage", "dev", "--yes", "--region", "eu-west-1"][..],
    ] {
        let run = output(
            offline(work.path())
                .env("AWS_ACCESS_KEY_ID", "testing")
                .env("AWS_SECRET_ACCESS_KEY", "testing")
                .args(args),
        );
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(
            run.stderr
                .contains("--region eu-west-1: stage `dev` deploys one stack per account, in its home region us-east-1"),
            "{}",
            run.stderr
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn profile_credentials_win_over_the_environment_and_region_over_aws_region() {
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    let dev = org.accounts_in("dev", "/Workloads/Dev", 1).await;
    // No region in the file: the stage's home region is the environment's, or --region.
    let work = Workdir::new(CONFIG);
    // A profile whose credentials come from a process that leaves a mark: the mark says the
    // profile was used, although the environment has keys of its own.
    let (key, secret) = emulator.keys();
    let marker = work.path().join("profile-used");
    let script = work.path().join("credentials.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\ntouch '{}'\necho '{{\"Version\": 1, \"AccessKeyId\": \"{key}\", \"SecretAccessKey\": \"{secret}\"}}'\n",
            marker.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let aws = work.path().join("aws-config");
    std::fs::write(
        &aws,
        format!(
            "[profile security]\ncredential_process = {}\n",
            script.display()
        ),
    )
    .unwrap();

    let run_with = |args: &[&str]| -> support::Run {
        support::remedy_command(&emulator, work.path())
            .env("AWS_CONFIG_FILE", &aws)
            .args(args)
            .output()
            .expect("run remedy")
            .into()
    };
    // Without --profile: the environment's keys, the process is not run.
    let run = run_with(&["accounts", "--stage", "dev", "--output", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!marker.exists(), "the profile was used without --profile");
    // With it: the profile's credentials, over the environment's keys.
    let run = run_with(&[
        "--profile",
        "security",
        "accounts",
        "--stage",
        "dev",
        "--output",
        "json",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        marker.exists(),
        "--profile security did not use the profile"
    );
    assert!(run.stdout.contains(&dev[0]), "{}", run.stdout);

    // --region over AWS_REGION: the home region of a stage whose file names none.
    let run = remedy(
        &emulator,
        work.path(),
        &[
            "--region",
            "eu-west-1",
            "status",
            "--stage",
            "dev",
            "--output",
            "json",
        ],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let doc = run.json();
    let regions: Vec<&str> = doc["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .map(|t| t["region"].as_str().expect("region"))
        .collect();
    assert_eq!(regions, ["eu-west-1"], "{}", run.stdout);
    let run = remedy(
        &emulator,
        work.path(),
        &["status", "--stage", "dev", "--output", "json"],
    );
    assert_eq!(run.json()["targets"][0]["region"], REGION, "{}", run.stdout);
}
