//! The progress display on a terminal (through a pseudo-terminal: util-linux `script`), end
//! to end: the bar's last line counts what the summary counts, and a tracing WARN printed
//! while the bar is live is a whole line of its own, never glued to the bar.

use crate::support;

use support::{Emulator, Org, Workdir, REGION};

const CONFIG: &str = "regions: [us-east-1]\npackage: package.zip\nstages:\n  - name: dev\n    concurrency: 2\n    failure_tolerance: 5\n    targets: {ous: [/Workloads/Dev]}\nrules:\n  S3-001: remediate\n";

/// Runs `remedy ARGS` on a 160-column pseudo-terminal that says what it is (`TERM`: without
/// one, or `dumb`, there is no bar); (exit code, everything it showed).
pub fn on_a_terminal(emulator: &Emulator, dir: &std::path::Path, args: &str) -> (i32, String) {
    on_a_terminal_with(emulator, dir, args, &[])
}

/// [`on_a_terminal`] with more environment (`env` overrides remedy's).
pub fn on_a_terminal_with(
    emulator: &Emulator,
    dir: &std::path::Path,
    args: &str,
    env: &[(&str, &str)],
) -> (i32, String) {
    let mut script = support::with_remedy_env(emulator, dir, "script");
    script.env("TERM", "xterm-256color");
    script.envs(env.iter().copied());
    let command = format!(
        "stty cols {COLUMNS} rows 40; {} {args}",
        env!("CARGO_BIN_EXE_remedy")
    );
    let out = script
        .args(["-qec", &command, "/dev/null"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("util-linux `script` runs remedy on a pseudo-terminal");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// What a terminal shows of `raw`, line by line: escape sequences dropped, and of each line
/// what was written after its last carriage return (what stays on screen).
pub fn screen_lines(raw: &str) -> Vec<String> {
    let mut plain = String::new();
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            // CSI: ESC [ parameters, ending with a letter.
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        plain.push(c);
    }
    plain
        .split('\n')
        .flat_map(|line| {
            // A terminal ends lines with \r\n; an \r before the end starts over; a line
            // wider than the terminal goes on in the next (indicatif pads its bar to the
            // width, so that what follows starts on a line of its own).
            let line = line.strip_suffix('\r').unwrap_or(line);
            let shown: Vec<char> = line.rsplit('\r').next().unwrap_or("").chars().collect();
            let rows: Vec<String> = shown
                .chunks(COLUMNS)
                .map(|row| row.iter().collect::<String>().trim_end().to_owned())
                .collect();
            if rows.is_empty() {
                vec![String::new()]
            } else {
                rows
            }
        })
        .collect()
}

/// Every line drawn, redraws included (each `\r` starts one), escape sequences dropped.
pub fn frames(raw: &str) -> Vec<String> {
    screen_lines(&raw.replace('\r', "\n"))
}

/// The pseudo-terminal's width.
const COLUMNS: usize = 160;

/// The counts a bar line shows: `… 5/5 · created 4 · failed 1  7s` → [("created", 4),
/// ("failed", 1)].
fn bar_counts(line: &str) -> Vec<(String, u64)> {
    line.split(" · ")
        .filter_map(|part| {
            let mut words = part.split_whitespace();
            let word = words.next()?;
            let n: u64 = words.next()?.parse().ok()?;
            Some((word.to_owned(), n))
        })
        .collect()
}

/// Leaves a stack called `remedy` in CREATE_IN_PROGRESS (moto stops a create at a resource
/// that fails and never rolls back): a stack another operation holds.
pub async fn stuck_stack(emulator: &Emulator, account: &str) {
    let cfn = aws_sdk_cloudformation::Client::new(&emulator.account_config(account, REGION).await);
    let _ = cfn
        .create_stack()
        .stack_name("remedy")
        .template_body(r#"{"Resources":{"P":{"Type":"AWS::Lambda::Permission","Properties":{"FunctionName":"missing","Action":"lambda:InvokeFunction","Principal":"sns.amazonaws.com"}}}}"#)
        .send()
        .await;
    let (status, _) = support::stack_state(emulator, account, REGION)
        .await
        .expect("the stack is there");
    assert_eq!(status, "CREATE_IN_PROGRESS");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_bar_counts_what_the_summary_counts_and_log_lines_stay_whole_above_it() {
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    let dev = org.accounts_in("dev", "/Workloads/Dev", 5).await;
    let work = Workdir::new(CONFIG);
    // One account's stack is held by another operation: the deploy says so in a WARN line
    // while the bar runs, waits for it until the target timeout, and fails that target.
    stuck_stack(&emulator, &dev[2]).await;

    let (code, shown) = on_a_terminal(
        &emulator,
        work.path(),
        "deploy --stage dev --yes --target-timeout 4s",
    );
    assert_eq!(code, 1, "{shown}");
    let lines = screen_lines(&shown);

    // The summary, and the bar's last line: the same counts, nothing in flight, no ETA.
    let summary = lines
        .iter()
        .find(|l| l.starts_with("stage dev: "))
        .unwrap_or_else(|| panic!("no summary in:\n{shown}"));
    assert!(
        summary.contains("5 targets: 4 created, 0 updated, 0 unchanged, 1 failed, 0 skipped"),
        "{summary}"
    );
    let bar = lines
        .iter()
        .rfind(|l| l.starts_with("dev ["))
        .unwrap_or_else(|| panic!("no progress bar in:\n{shown}"));
    assert!(bar.contains("] 5/5 · "), "{bar}");
    assert!(
        !bar.contains("in flight") && !bar.contains("ETA"),
        "the last line has nothing left to wait for: {bar}"
    );
    let mut counts = bar_counts(bar);
    counts.sort();
    assert_eq!(
        counts,
        [("created".to_owned(), 4), ("failed".to_owned(), 1)],
        "{bar}"
    );

    // While it ran, the bar showed the targets in flight, and the ETA only once a target
    // had finished.
    let drawn: Vec<String> = frames(&shown)
        .into_iter()
        .filter(|l| l.starts_with("dev ["))
        .collect();
    assert!(
        drawn.iter().any(|l| l.contains("2 in flight")),
        "{drawn:#?}"
    );
    for line in &drawn {
        if line.contains(" 0/5 ") {
            assert!(!line.contains("ETA"), "an ETA before any data: {line}");
        }
    }

    // The WARN line is a line of its own, whole: nothing of the bar before or after it, and
    // no stale copy of the bar left above it (written past a live bar, a log line pushes the
    // bar down a line and leaves its old frame on the screen).
    let on_screen: Vec<&String> = lines.iter().filter(|l| l.starts_with("dev [")).collect();
    assert_eq!(
        on_screen,
        [bar],
        "one bar on the screen:\n{}",
        lines.join("\n")
    );
    let warning = "the stack is CREATE_IN_PROGRESS, held by another operation; waiting for it";
    let warn = lines
        .iter()
        .find(|l| l.contains(warning))
        .unwrap_or_else(|| panic!("no WARN line in:\n{shown}"));
    assert!(warn.contains("WARN"), "{warn}");
    assert!(
        !warn.contains('[') && !warn.contains(" · ") && warn.trim_end().ends_with(warning),
        "the WARN line is broken by the bar: {warn:?}"
    );
}
