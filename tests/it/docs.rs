//! The configuration reference stays true (issue 15, point 16): every key the parser
//! accepts has a row in docs/configuration.md (with its default and an example), every row
//! names a key the parser accepts, and the example configurations of the docs parse.
//!
//! The keys are read from the parser itself, not from a list: each section is given an
//! unknown key, and serde's "unknown field …, expected one of …" names every key the
//! section takes (every struct of the file denies unknown fields). A section is probed again
//! under each key it names — as a table, then as a list of tables, and, for the map of rule
//! ids, under one catalog rule — so a field added anywhere is found without this file
//! changing.

use remedy::core::config::Config;
use std::collections::BTreeSet;
use std::path::Path;

const PROBE: &str = "zzz_probe_key";

/// A step down from the file's root: a key of a table, an item of a list, or a rule id of
/// `rules` (documented as `<id>`).
#[derive(Clone, Debug)]
enum Step {
    Key(String),
    Item,
    Rule,
}

/// The document that puts an unknown key at `path`, in flow style.
fn probe_document(path: &[Step]) -> String {
    let rule = remedy_functions::catalog().next().expect("a rule").id;
    path.iter()
        .rev()
        .fold(format!("{{{PROBE}: 1}}"), |inner, step| match step {
            Step::Key(key) => format!("{{{key}: {inner}}}"),
            Step::Item => format!("[{inner}]"),
            Step::Rule => format!("{{{rule}: {inner}}}"),
        })
}

fn parse_error(source: String) -> String {
    match Config::parse(Path::new("remedy.yaml"), source.clone()) {
        Ok(_) => panic!("the probe parsed: {source}"),
        Err(e) => e.to_string(),
    }
}

/// The keys the table at `path` takes, when it is a table that denies unknown keys.
fn keys_at(path: &[Step]) -> Option<Vec<String>> {
    let message = parse_error(probe_document(path));
    let (_, expected) = message.split_once(&format!("unknown field `{PROBE}`, expected "))?;
    let expected = expected.split(" (did you mean").next().unwrap_or(expected);
    Some(
        expected
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect(),
    )
}

fn dotted(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Key(key) if out.is_empty() => out.push_str(key),
            Step::Key(key) => {
                out.push('.');
                out.push_str(key);
            }
            Step::Item => out.push_str("[]"),
            Step::Rule => out.push_str(".<id>"),
        }
    }
    out
}

/// Every key path the parser accepts (`stages[].targets.ous`, `rules.<id>.mode`), and the
/// keys it accepts only to refuse them with what replaced them (`region_order`).
pub(crate) fn accepted_keys() -> (BTreeSet<String>, BTreeSet<String>) {
    let mut keys = BTreeSet::new();
    let mut gone = BTreeSet::new();
    let mut sections: Vec<Vec<Step>> = vec![Vec::new()];
    while let Some(section) = sections.pop() {
        let names = keys_at(&section).unwrap_or_else(|| {
            panic!("{}: not a table that denies unknown keys", dotted(&section))
        });
        for name in names {
            let mut path = section.clone();
            path.push(Step::Key(name));
            let message = parse_error(probe_document(&path));
            if message.contains("is gone") {
                gone.insert(dotted(&path));
                continue;
            }
            keys.insert(dotted(&path));
            if keys_at(&path).is_some() {
                sections.push(path);
                continue;
            }
            let mut item = path.clone();
            item.push(Step::Item);
            if keys_at(&item).is_some() {
                keys.insert(dotted(&item));
                sections.push(item);
                continue;
            }
            if message.contains("unknown rule id") {
                let mut rule = path.clone();
                rule.push(Step::Rule);
                keys.insert(dotted(&rule));
                if keys_at(&rule).is_some() {
                    sections.push(rule);
                }
            }
        }
    }
    (keys, gone)
}

fn reference() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/configuration.md"))
        .expect("docs/configuration.md")
}

/// The reference table's rows: key path → (default, example).
fn documented_rows(doc: &str) -> Vec<(String, String, String)> {
    doc.lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line
                .strip_prefix("| `")?
                .split(" | ")
                .map(str::trim)
                .collect();
            let key = cells.first()?.strip_suffix('`')?;
            Some((
                key.to_owned(),
                cells.get(1).copied().unwrap_or_default().to_owned(),
                cells
                    .get(2)
                    .copied()
                    .unwrap_or_default()
                    .trim_end_matches('|')
                    .trim()
                    .to_owned(),
            ))
        })
        .collect()
}

#[test]
fn the_probe_finds_keys_at_every_depth() {
    let (keys, gone) = accepted_keys();
    for key in [
        "stack_name",
        "role.execution_role",
        "stages[].targets.exclude",
        "stages[].concurrency",
        "notifications.topics[].risk_levels",
        "rules.<id>.settings",
        "stacksets.call_as",
    ] {
        assert!(keys.contains(key), "{key} not found in {keys:#?}");
    }
    assert!(gone.contains("region_order"), "{gone:?}");
    assert!(gone.contains("codebuild.region"), "{gone:?}");
    // A key that is not there is not found.
    assert!(keys_at(&[Step::Key("stack_name".into())]).is_none());
}

#[test]
fn every_key_the_parser_accepts_is_documented_with_a_default_and_an_example() {
    let (keys, gone) = accepted_keys();
    let doc = reference();
    let rows = documented_rows(&doc);
    let documented: BTreeSet<String> = rows.iter().map(|(k, _, _)| k.clone()).collect();
    let undocumented: Vec<&String> = keys.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "docs/configuration.md has no row for {undocumented:?}"
    );
    let unknown: Vec<&String> = documented.difference(&keys).collect();
    assert!(
        unknown.is_empty(),
        "docs/configuration.md documents keys the parser refuses: {unknown:?}"
    );
    for (key, default, example) in &rows {
        assert!(!default.is_empty(), "{key}: no default");
        assert!(example.contains('`'), "{key}: no example ({example})");
    }
    for key in &gone {
        assert!(
            doc.contains(&format!("`{key}`")),
            "docs/configuration.md does not say that `{key}` is gone"
        );
    }
}

#[test]
fn a_row_missing_from_the_reference_is_caught() {
    let doc = reference();
    let without: String = doc
        .lines()
        .filter(|l| !l.starts_with("| `role.execution_role`"))
        .map(|l| format!("{l}\n"))
        .collect();
    let documented: BTreeSet<String> = documented_rows(&without)
        .into_iter()
        .map(|(k, _, _)| k)
        .collect();
    let (keys, _) = accepted_keys();
    assert!(documented.contains("role.name"));
    assert!(!keys.is_subset(&documented));
}

/// The fenced YAML blocks of a Markdown file that are whole configurations (have `stages:`).
pub(crate) fn configurations(markdown: &str) -> Vec<String> {
    markdown
        .split("```yaml\n")
        .skip(1)
        .filter_map(|rest| rest.split_once("\n```").map(|(block, _)| block.to_owned()))
        .filter(|block| block.lines().any(|l| l.starts_with("stages:")))
        .collect()
}

#[test]
fn the_example_configurations_parse_and_do_not_reuse_conformitys_role_name() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut examples = Vec::new();
    for file in ["README.md", "docs/configuration.md", "pipeline/README.md"] {
        let text = std::fs::read_to_string(root.join(file)).expect(file);
        for block in configurations(&text) {
            examples.push((file.to_owned(), block));
        }
    }
    let yaml = root.join("examples/remedy.yaml");
    examples.push((
        "examples/remedy.yaml".into(),
        std::fs::read_to_string(&yaml).expect("examples/remedy.yaml"),
    ));
    assert!(examples.len() >= 3, "{examples:?}");
    for (file, source) in examples {
        if let Err(e) = Config::parse(&root.join(&file), source.clone()) {
            panic!("{file}: an example configuration does not parse: {e}\n{source}");
        }
        // Every Conformity customer has Conformity's own role by that name: remedy's is another.
        for line in source.lines() {
            let setting = line.split('#').next().unwrap_or_default();
            assert!(
                !setting.contains("CloudConformity"),
                "{file}: remedy's role is named CloudConformity: {line}"
            );
        }
        assert!(source.contains("name: RemedyDeployer"), "{file}:\n{source}");
    }
}

#[test]
fn the_readme_links_its_own_configuration_reference() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for file in ["README.md", "docs/configuration.md", "pipeline/README.md"] {
        let text = std::fs::read_to_string(root.join(file)).expect(file);
        assert!(
            !text.contains("../shared/"),
            "{file} links outside the repository"
        );
    }
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(readme.contains("](docs/configuration.md)"));
    // CI runs the README's test command.
    assert!(readme.contains("make test"));
}
