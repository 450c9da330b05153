//! Organization discovery and target resolution, end to end through `remedy accounts`.

use crate::support;

use std::collections::BTreeSet;
use support::{remedy, Emulator, Org, Workdir, MANAGEMENT_ACCOUNT};

fn ids(doc: &serde_json::Value, key: &str) -> BTreeSet<String> {
    doc[key]
        .as_array()
        .expect("an array")
        .iter()
        .map(|a| a["account_id"].as_str().expect("account_id").to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn nested_ous_pagination_suspended_excluded_and_explicit_accounts() {
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    // 22 accounts directly under one OU: more than ListAccountsForParent's page of 20.
    let dev = org.accounts_in("dev", "/Workloads/Dev", 22).await;
    // Four levels below the root.
    let deep = org.account("deep", "/Workloads/Dev/TeamA/Squad1").await;
    let suspended = org.account("closed", "/Workloads/Dev/TeamA").await;
    org.suspend(&suspended).await;
    let prod = org.account("prod-00", "/Workloads/Prod").await;
    let _sandbox = org.account("sandbox", "/Sandbox").await;
    let excluded = dev[3].clone();

    let work = Workdir::new(&format!(
        "stages:\n  - name: dev\n    targets:\n      ous: [/Workloads/Dev]\n      accounts: [\"{prod}\"]\n      exclude: [\"{excluded}\"]\n"
    ));
    let run = remedy(
        &emulator,
        work.path(),
        &["accounts", "--stage", "dev", "--output", "json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc = run.json();

    let mut expected: BTreeSet<String> = dev.iter().cloned().collect();
    expected.remove(&excluded);
    expected.insert(deep.clone());
    expected.insert(prod.clone());
    assert_eq!(ids(&doc, "accounts"), expected);

    let accounts = doc["accounts"].as_array().unwrap();
    let path_of = |id: &str| {
        accounts
            .iter()
            .find(|a| a["account_id"] == id)
            .map(|a| a["ou_path"].as_str().unwrap().to_owned())
    };
    assert_eq!(
        path_of(&deep).as_deref(),
        Some("/Workloads/Dev/TeamA/Squad1")
    );
    assert_eq!(path_of(&prod).as_deref(), Some("/Workloads/Prod"));
    assert_eq!(path_of(&dev[0]).as_deref(), Some("/Workloads/Dev"));
    assert_eq!(
        accounts
            .iter()
            .find(|a| a["account_id"] == deep.as_str())
            .unwrap()["name"],
        "deep"
    );

    let passed_over = doc["passed_over"].as_array().unwrap();
    let reason = |id: &str| {
        passed_over
            .iter()
            .find(|p| p["account_id"] == id)
            .map(|p| p["reason"].as_str().unwrap().to_owned())
    };
    assert!(
        reason(&suspended).is_some_and(|r| r.contains("SUSPENDED")),
        "{passed_over:?}"
    );
    assert_eq!(reason(&excluded).as_deref(), Some("excluded"));
    assert!(!ids(&doc, "accounts").contains(MANAGEMENT_ACCOUNT));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_management_account_is_a_target_only_when_listed() {
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    let member = org.account("member", "/").await;

    let work = Workdir::new("stages:\n  - name: all\n    targets: {ous: [\"/\"]}\n");
    let run = remedy(
        &emulator,
        work.path(),
        &["accounts", "--stage", "all", "--output", "json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        ids(&run.json(), "accounts"),
        BTreeSet::from([member.clone()])
    );

    work.write(
        "remedy.yaml",
        &format!("stages:\n  - name: all\n    targets: {{ous: [\"/\"], accounts: [\"{MANAGEMENT_ACCOUNT}\"]}}\n"),
    );
    let run = remedy(
        &emulator,
        work.path(),
        &["accounts", "--stage", "all", "--output", "json"],
    );
    assert_eq!(
        ids(&run.json(), "accounts"),
        BTreeSet::from([member, MANAGEMENT_ACCOUNT.to_owned()])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_ou_path_is_invalid_input_that_names_it() {
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    org.account("dev-00", "/Workloads/Dev").await;

    let work = Workdir::new(
        "stages:\n  - name: dev\n    targets:\n      ous: [/Workloads/Dev, /Workloads/Nope]\n",
    );
    let run = remedy(&emulator, work.path(), &["accounts", "--stage", "dev"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "remedy.yaml:4: stage `dev`: OU `/Workloads/Nope` does not exist in the organization"
        ),
        "{}",
        run.stderr
    );
}

/// An exclude that names no account of the stage (a typo, or an account of another OU) is
/// refused before anything is deployed, with the closest accounts of the stage: it would
/// otherwise deploy to the very account it meant to spare.
#[tokio::test(flavor = "multi_thread")]
async fn an_exclude_that_matches_nothing_stops_the_deploy_before_anything_is_made() {
    let emulator = Emulator::start();
    let mut org = Org::create(&emulator).await;
    let dev = org.accounts_in("dev", "/Workloads/Dev", 3).await;
    let prod = org.account("prod-00", "/Workloads/Prod").await;
    // One digit off dev[0].
    let last = dev[0].chars().last().unwrap();
    let typo = format!(
        "{}{}",
        &dev[0][..11],
        if last == '9' {
            '0'
        } else {
            char::from(last as u8 + 1)
        }
    );
    assert!(!dev.contains(&typo) && typo != prod);
    for (exclude, expected) in [
        (
            typo.as_str(),
            "is not an account of the organization: it would exclude nothing (did you mean",
        ),
        (
            prod.as_str(),
            "which is not among the stage's OUs or accounts",
        ),
    ] {
        let work = Workdir::new(&format!(
            "package: package.zip\nstages:\n  - name: dev\n    targets:\n      ous: [/Workloads/Dev]\n      exclude: [\"{exclude}\"]\nrules:\n  S3-001: remediate\n"
        ));
        emulator.start_recording();
        let run = remedy(
            &emulator,
            work.path(),
            &["deploy", "--stage", "dev", "--yes"],
        );
        assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
        assert!(
            run.stderr
                .contains("remedy.yaml:6: stage `dev`: exclude[0]:")
                && run.stderr.contains(expected),
            "{}",
            run.stderr
        );
        // Nothing deployed, nothing published: no CloudFormation or S3 call at all.
        let writes: Vec<String> = emulator
            .recording()
            .iter()
            .map(|r| r.action.clone())
            .filter(|a| a.contains("Stack") || a.starts_with("PUT "))
            .collect();
        assert!(writes.is_empty(), "{writes:?}");
    }
}
