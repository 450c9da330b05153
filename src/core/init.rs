//! `remedy init` as a decision: a commented starter `remedy.yaml` from the organization's
//! OU tree. Stages are guessed from OU names — dev (`dev`, `development`, `sandbox`),
//! staging (`staging`, `stage`, `test`, `qa`, `uat`, `preprod`), prod (`prod`,
//! `production`, `prd`) — each taking the OUs so named, prod behind an approval gate; every
//! rule is `dry-run`, so the first rollout changes nothing but reports what it would do.
//! Pure: the snapshot and the region are arguments.

use crate::core::org::OrgSnapshot;

/// The stages `init` guesses, and the OU names each takes (compared without case).
const GUESSES: [(&str, &[&str]); 3] = [
    ("dev", &["dev", "development", "sandbox", "sandboxes"]),
    (
        "staging",
        &[
            "staging", "stage", "test", "qa", "uat", "preprod", "pre-prod", "nonprod", "non-prod",
        ],
    ),
    ("prod", &["prod", "production", "prd"]),
];

/// The OU paths of `snapshot` each guessed stage takes, in the stages' order; a stage no OU
/// matches is left out.
pub(crate) fn guess_stages(snapshot: &OrgSnapshot) -> Vec<(&'static str, Vec<String>)> {
    let mut units: Vec<(&String, String)> = snapshot
        .units
        .iter()
        .filter(|(_, u)| u.parent_id.is_some())
        .map(|(id, u)| (id, u.name.to_ascii_lowercase()))
        .collect();
    units.sort();
    GUESSES
        .iter()
        .filter_map(|(stage, names)| {
            let mut paths: Vec<String> = units
                .iter()
                .filter(|(_, name)| names.contains(&name.as_str()))
                .map(|(id, _)| snapshot.path_of(id))
                .collect();
            paths.sort();
            (!paths.is_empty()).then_some((*stage, paths))
        })
        .collect()
}

/// The starter file. Without a guessed stage, one `dev` stage takes the first top-level OU
/// (or the accounts under the root, by id) for the operator to correct.
pub(crate) fn starter(snapshot: &OrgSnapshot, home_region: &str) -> String {
    let mut stages = guess_stages(snapshot);
    let mut note = "";
    if stages.is_empty() {
        let mut top: Vec<String> = snapshot
            .units
            .iter()
            .filter(|(_, u)| u.parent_id.is_some())
            .map(|(id, _)| snapshot.path_of(id))
            .filter(|p| p.matches('/').count() == 1)
            .collect();
        top.sort();
        if let Some(first) = top.into_iter().next() {
            stages.push(("dev", vec![first]));
            note = "  # no OU is named like dev, staging or prod: choose each stage's OUs\n";
        }
    }
    let mut yaml = String::new();
    yaml.push_str("# yaml-language-server: $schema=./remedy.schema.json\n");
    yaml.push_str(&format!(
        "# remedy.yaml, written by `remedy init` from organization {} ({} OUs, {} accounts).\n",
        snapshot.organization_id,
        snapshot.units.len().saturating_sub(1),
        snapshot.accounts.len()
    ));
    yaml.push_str("# Every rule starts in dry-run: a rollout reports what it would fix and changes nothing.\n");
    yaml.push_str("# Check it with `remedy validate`; `remedy schema > remedy.schema.json` lets an editor complete it.\n");
    yaml.push_str("# Every key: docs/configuration.md.\n\n");
    yaml.push_str(&format!(
        "home_region: {home_region}            # where each account's stack lives\nregions: [{home_region}]              # whose findings it remediates (add the others you use)\n\n"
    ));
    yaml.push_str("role:\n  name: RemedyDeployer            # the role stacks/account-bootstrap.yaml installs (RoleName)\n  # external_id: \"…\"             # the bootstrap's ExternalId, if you set one\n  # execution_role: remedy-cloudformation   # required with the bootstrap stack\n\n");
    yaml.push_str("stages:\n");
    yaml.push_str(note);
    if stages.is_empty() {
        yaml.push_str("  - name: dev\n    targets: {accounts: []}   # no OU in the organization: list account ids\n");
    }
    for (stage, paths) in &stages {
        yaml.push_str(&format!("  - name: {stage}\n"));
        let quoted: Vec<String> = paths.iter().map(|p| yaml_string(p)).collect();
        yaml.push_str(&format!("    targets: {{ous: [{}]}}\n", quoted.join(", ")));
        if *stage == "prod" {
            yaml.push_str(
                "    approval: true               # `rollout` stops here until --approve prod\n",
            );
        }
    }
    yaml.push_str("\nrules:\n  \"*\": dry-run                    # every catalog rule; promote one with e.g. `S3-001: remediate`\n");
    yaml
}

/// A YAML double-quoted string (an OU name may hold any character).
fn yaml_string(text: &str) -> String {
    let escaped: String = text
        .chars()
        .flat_map(|c| match c {
            '"' => vec!['\\', '"'],
            '\\' => vec!['\\', '\\'],
            c if c.is_control() => format!("\\u{:04x}", c as u32).chars().collect(),
            c => vec![c],
        })
        .collect();
    format!("\"{escaped}\"")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::org::OrgUnit;

    fn org(names: &[(&str, &str, &str)]) -> OrgSnapshot {
        let mut snapshot = OrgSnapshot {
            organization_id: "o-1".into(),
            ..OrgSnapshot::default()
        };
        snapshot.units.insert(
            "r-1".into(),
            OrgUnit {
                id: "r-1".into(),
                name: "Root".into(),
                parent_id: None,
            },
        );
        for (id, name, parent) in names {
            snapshot.units.insert(
                (*id).into(),
                OrgUnit {
                    id: (*id).into(),
                    name: (*name).into(),
                    parent_id: Some((*parent).into()),
                },
            );
        }
        snapshot
    }

    #[test]
    fn stages_are_guessed_from_ou_names() {
        let snapshot = org(&[
            ("ou-w", "Workloads", "r-1"),
            ("ou-d", "Dev", "ou-w"),
            ("ou-p", "Production", "ou-w"),
            ("ou-q", "QA", "ou-w"),
            ("ou-s", "Security", "r-1"),
        ]);
        assert_eq!(
            guess_stages(&snapshot),
            [
                ("dev", vec!["/Workloads/Dev".to_owned()]),
                ("staging", vec!["/Workloads/QA".to_owned()]),
                ("prod", vec!["/Workloads/Production".to_owned()]),
            ]
        );
        let yaml = starter(&snapshot, "eu-west-1");
        assert!(yaml.contains("home_region: eu-west-1"));
        assert!(yaml.contains("targets: {ous: [\"/Workloads/Production\"]}\n    approval: true"));
        assert!(yaml.contains("\"*\": dry-run"));
    }

    #[test]
    fn without_a_guess_the_first_top_level_ou_is_offered() {
        let snapshot = org(&[("ou-b", "Blue", "r-1"), ("ou-a", "Apps", "r-1")]);
        let yaml = starter(&snapshot, "us-east-1");
        assert!(
            yaml.contains("- name: dev\n    targets: {ous: [\"/Apps\"]}"),
            "{yaml}"
        );
        assert!(yaml.contains("choose each stage's OUs"));
    }
}
