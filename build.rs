//! The commit `remedy --version` (and the reports) name: `git rev-parse --short HEAD`, or
//! `REMEDY_COMMIT` when set (a build from a source archive), else `unknown` (no git, or not a
//! clone). Reruns only when HEAD moves (`.git/HEAD`, the branch it points to, packed refs),
//! so an ordinary edit does not rerun it and a build stays fresh.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=REMEDY_COMMIT");
    let commit = std::env::var("REMEDY_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .or_else(|| git(&["rev-parse", "--short", "HEAD"]))
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=REMEDY_COMMIT={}", commit.trim());
    for path in head_files() {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (!text.is_empty()).then_some(text)
}

/// The files whose change means HEAD moved. Only files that exist: cargo reruns a build
/// script on every build when one of its `rerun-if-changed` paths is missing.
fn head_files() -> Vec<PathBuf> {
    let (Some(git_dir), Some(common_dir)) = (
        git(&["rev-parse", "--git-dir"]),
        git(&["rev-parse", "--git-common-dir"]),
    ) else {
        return Vec::new();
    };
    let (git_dir, common_dir) = (PathBuf::from(git_dir), PathBuf::from(common_dir));
    let mut files = vec![git_dir.join("HEAD"), common_dir.join("packed-refs")];
    let head = std::fs::read_to_string(git_dir.join("HEAD")).unwrap_or_default();
    if let Some(reference) = head.trim().strip_prefix("ref: ") {
        // A worktree's branches live in the common directory.
        files.push(git_dir.join(reference));
        files.push(common_dir.join(reference));
    }
    files.sort();
    files.dedup();
    files.retain(|path| Path::new(path).is_file());
    files
}
