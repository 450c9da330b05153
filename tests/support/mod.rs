//! What the integration tests share: the test bed (`testbed.rs`: the emulator, a seeded
//! organization, the request recorder) and running the `remedy` binary against it.

#![allow(dead_code)] // each test binary uses a different part of it

mod testbed;

pub use testbed::*;

use std::path::Path;
use std::process::{Command, Output, Stdio};

/// `remedy` with the environment pointed at the emulator, run in `dir`.
pub fn remedy_command(emulator: &Emulator, dir: &Path) -> Command {
    let (key, secret) = emulator.keys();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_remedy"));
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("AWS_ENDPOINT_URL", &emulator.endpoint)
        .env("AWS_ACCESS_KEY_ID", key)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env("AWS_REGION", REGION)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::null());
    cmd
}

/// A scratch folder holding a `remedy.yaml` and a small package zip.
pub struct Workdir {
    pub dir: tempfile::TempDir,
}

impl Workdir {
    /// Writes `config` as remedy.yaml; a tiny `package.zip` is there for `package:`.
    pub fn new(config: &str) -> Workdir {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("remedy.yaml"), config).expect("write config");
        // A real zip with a `bootstrap`: the emulator stores Lambda code, never runs it.
        let script = dir.path().join("bootstrap");
        std::fs::write(&script, "#!/bin/sh\nexit 0\n").expect("write bootstrap");
        let zip = dir.path().join("package.zip");
        remedy::package::write_bootstrap_zip(&script, &zip).expect("zip");
        Workdir { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, name: &str, text: &str) {
        std::fs::write(self.dir.path().join(name), text).expect("write file");
    }
}

/// The output of a remedy run, with helpers for assertions.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not one JSON document ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// Runs `remedy ARGS` in `dir` against the emulator.
pub fn remedy(emulator: &Emulator, dir: &Path, args: &[&str]) -> Run {
    remedy_command(emulator, dir)
        .args(args)
        .output()
        .expect("run remedy")
        .into()
}
