//! The Markdown summary `--report FILE` writes.

use super::stage::{attention, folded_line, retries_line, stack_time_line, summary_line};
use crate::core::outcome::{Audit, StageReport, StageStatus};

/// The Markdown summary `--report FILE` writes: per stage its status (`interrupted` when
/// Ctrl-C stopped it and nothing failed), counts, duration, the targets that failed or were
/// skipped for a reason of their own (failed first), and the untouched ones counted per
/// reason. For a CodePipeline artefact or a chat message.
pub fn markdown(title: &str, reports: &[StageReport], audit: Option<&Audit>) -> String {
    let cell = |s: &str| s.replace('|', "\\|").replace(['\n', '\r'], " ");
    let mut md = format!("# {title}\n\n");
    if let Some(a) = audit {
        md.push_str(&format!(
            "- started {}, finished {}\n- by `{}`\n- remedy {} (commit {}), release `{}`\n- stacks' remedy:hash: {}\n- template sha256 `{}`, configuration sha256 `{}`\n\n",
            a.started_at,
            a.finished_at,
            a.caller_arn,
            a.version,
            a.commit,
            a.release_hash,
            a.stage_hashes
                .iter()
                .map(|(stage, hash)| format!("{} `{hash}`", cell(stage)))
                .collect::<Vec<_>>()
                .join(", "),
            a.template_hash,
            a.config_hash
        ));
    }
    // Removals (`remedy remove`, `--prune`) add their two columns.
    let removals = reports
        .iter()
        .any(|r| r.summary.removed + r.summary.absent > 0);
    let (extra_head, extra_rule) = if removals {
        (" removed | absent |", " ---: | ---: |")
    } else {
        ("", "")
    };
    md.push_str(&format!("| stage | status | targets | created | updated | unchanged | failed | skipped |{extra_head} duration |\n"));
    md.push_str(&format!(
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |{extra_rule} ---: |\n"
    ));
    for r in reports {
        let s = &r.summary;
        let extra = if removals {
            format!(" {} | {} |", s.removed, s.absent)
        } else {
            String::new()
        };
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |{extra} {:.1}s |\n",
            cell(&r.stage),
            status_word(r.status),
            r.targets.len(),
            s.created,
            s.updated,
            s.unchanged,
            s.failed,
            s.skipped,
            r.elapsed.as_secs_f64()
        ));
    }
    for r in reports {
        md.push_str(&format!(
            "\n## {} — {}\n\n",
            cell(&r.stage),
            status_word(r.status)
        ));
        if let Some(note) = &r.note {
            md.push_str(&format!("{}\n", cell(note)));
            continue;
        }
        md.push_str(&format!(
            "{} in {:.1}s.\n",
            summary_line(r),
            r.elapsed.as_secs_f64()
        ));
        if !r.retries.is_empty() {
            md.push_str(&format!(
                "\nRetries (AWS pushing back): {}.\n",
                retries_line(&r.retries)
            ));
        }
        if let Some(line) = stack_time_line(r) {
            md.push_str(&format!("\n{}{}.\n", line[..1].to_uppercase(), &line[1..]));
        }
        let (rows, folded) = attention(r);
        if !rows.is_empty() {
            md.push_str("\n| account | name | region | outcome | stack status | reason |\n| --- | --- | --- | --- | --- | --- |\n");
            for t in rows {
                md.push_str(&format!(
                    "| {} | {} | {} | {} | {} | {} |\n",
                    t.account_id,
                    cell(&t.account_name),
                    t.region,
                    t.outcome,
                    t.stack_status.as_deref().unwrap_or("-"),
                    cell(t.reason.as_deref().unwrap_or(""))
                ));
            }
        }
        if !folded.is_empty() {
            md.push('\n');
            for (n, reason) in folded {
                md.push_str(&format!("- {}\n", cell(&folded_line(n, reason))));
            }
        }
    }
    md
}

fn status_word(status: StageStatus) -> &'static str {
    match status {
        StageStatus::Failed => "failed",
        other => super::stage::status_word(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::outcome::{Summary, TargetReport};
    use std::collections::BTreeMap;
    use std::time::Duration;

    #[test]
    fn markdown_lists_stages_counts_and_failed_targets() {
        let failed = TargetReport {
            account_id: "111111111111".into(),
            account_name: "payments-prod".into(),
            region: "us-east-1".into(),
            outcome: "failed",
            stack_status: Some("ROLLBACK_COMPLETE".into()),
            reason: Some("Topic | Queue\nfailed".into()),
            not_started: false,
        };
        let dev = StageReport {
            stage: "dev".into(),
            status: StageStatus::Completed,
            summary: Summary {
                created: 1,
                failed: 1,
                ..Summary::default()
            },
            targets: vec![
                failed.clone(),
                TargetReport {
                    outcome: "created",
                    reason: None,
                    ..failed
                },
            ],
            retries: BTreeMap::new(),
            elapsed: Duration::from_millis(12_340),
            note: None,
            interrupted: false,
            stack_time: None,
        };
        let prod = StageReport::not_run(
            "prod",
            StageStatus::AwaitingApproval,
            "approval required: run again with --approve prod".into(),
        );
        let audit = Audit {
            started_at: "2026-12-06T05:00:00Z".into(),
            finished_at: "2026-12-06T05:01:02Z".into(),
            caller_arn: "arn:aws:sts::999999999999:assumed-role/Deployer/ci".into(),
            version: "0.1.0",
            commit: "abc1234",
            release_hash: "r".repeat(32),
            stage_hashes: [("dev".to_owned(), "d".repeat(32))].into_iter().collect(),
            template_hash: "t".repeat(64),
            config_hash: "c".repeat(64),
        };
        let md = markdown("remedy rollout", &[dev, prod], Some(&audit));
        assert!(md.starts_with("# remedy rollout\n"), "{md}");
        // The audit trail: when, who, which build, which template and configuration.
        for needed in [
            "started 2026-12-06T05:00:00Z, finished 2026-12-06T05:01:02Z",
            "by `arn:aws:sts::999999999999:assumed-role/Deployer/ci`",
            "remedy 0.1.0 (commit abc1234)",
            &format!("stacks' remedy:hash: dev `{}`", "d".repeat(32)),
            &"t".repeat(64),
            &"c".repeat(64),
        ] {
            assert!(md.contains(needed), "{needed}: {md}");
        }
        assert!(
            md.contains("| dev | completed | 2 | 1 | 0 | 0 | 1 | 0 | 12.3s |"),
            "{md}"
        );
        assert!(md.contains("| prod | awaiting approval | 0 |"), "{md}");
        assert!(
            md.contains("| 111111111111 | payments-prod | us-east-1 | failed | ROLLBACK_COMPLETE | Topic \\| Queue failed |"),
            "{md}"
        );
        assert!(
            md.contains("## prod — awaiting approval\n\napproval required"),
            "{md}"
        );
        assert_eq!(
            md.matches("111111111111").count(),
            1,
            "only the failed target is listed"
        );
    }

    #[test]
    fn an_interrupted_stage_without_failures_is_interrupted_and_its_untouched_targets_one_line() {
        let untouched = |id: &str| TargetReport {
            account_id: id.into(),
            account_name: format!("name-{id}"),
            region: "us-east-1".into(),
            outcome: "skipped",
            stack_status: None,
            reason: Some("not started: the run was interrupted (Ctrl-C)".into()),
            not_started: true,
        };
        let created = TargetReport {
            outcome: "created",
            reason: None,
            not_started: false,
            ..untouched("000000000001")
        };
        let dev = StageReport {
            stage: "dev".into(),
            status: StageStatus::Interrupted,
            summary: Summary {
                created: 1,
                skipped: 2,
                ..Summary::default()
            },
            targets: vec![
                created,
                untouched("000000000002"),
                untouched("000000000003"),
            ],
            retries: BTreeMap::new(),
            elapsed: Duration::from_secs(2),
            note: None,
            interrupted: true,
            stack_time: None,
        };
        let md = markdown("remedy deploy", &[dev], None);
        assert!(
            md.contains("| dev | interrupted | 3 | 1 | 0 | 0 | 0 | 2 |"),
            "{md}"
        );
        assert!(md.contains("## dev — interrupted"), "{md}");
        assert!(
            md.contains("\n- 2 targets not started: the run was interrupted (Ctrl-C)\n"),
            "{md}"
        );
        assert!(!md.contains("000000000002"), "folded, not listed: {md}");
        assert!(
            !md.contains("| dev | failed") && !md.contains("— failed"),
            "{md}"
        );
    }
}
