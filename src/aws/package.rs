//! The Lambda package: a zip whose `bootstrap` (mode 755) is a `remedy` binary.
//!
//! Either the prebuilt zip the config or `--package` names (the pipeline builds it once),
//! or this very binary zipped on the fly into a temporary file. The zip is reproducible —
//! fixed timestamp, one entry — so the same binary always has the same SHA-256, and the
//! artifact key `packages/<sha256>.zip` and the stack hash stay put across runs.
//!
//! Must not: call AWS.

use crate::core::error::Error;
use crate::core::util::hex;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};

/// A package ready to upload.
#[derive(Debug)]
pub(crate) struct Package {
    pub(crate) path: PathBuf,
    pub(crate) sha256: String,
    /// Removed when the package is dropped (a zip made from this binary).
    temporary: bool,
}

impl Package {
    /// The object key in the artifact bucket.
    pub(crate) fn key(&self) -> String {
        format!("packages/{}.zip", self.sha256)
    }

    /// The configured zip, checked to exist and be a zip. Invalid input (exit 2) otherwise.
    pub(crate) fn prebuilt(path: &Path) -> Result<Package, Error> {
        let mut file = File::open(path)
            .map_err(|e| Error::Input(format!("package {}: {e}", path.display())))?;
        let mut magic = [0u8; 4];
        if file.read_exact(&mut magic).is_err() || &magic != b"PK\x03\x04" {
            return Err(Error::Input(format!(
                "package {}: not a zip file (build one with `remedy package`)",
                path.display()
            )));
        }
        let (sha256, _) = digest(path)?;
        Ok(Package {
            path: path.to_owned(),
            sha256,
            temporary: false,
        })
    }

    /// This binary, zipped as `bootstrap` into a temporary file.
    pub(crate) fn from_current_exe() -> Result<Package, Error> {
        let exe = std::env::current_exe()
            .map_err(|e| Error::Failed(format!("cannot find the running binary: {e}")))?;
        let out = std::env::temp_dir().join(format!("remedy-{}-bootstrap.zip", std::process::id()));
        write_bootstrap_zip(&exe, &out)?;
        let (sha256, _) = digest(&out)?;
        Ok(Package {
            path: out,
            sha256,
            temporary: true,
        })
    }
}

impl Drop for Package {
    fn drop(&mut self) {
        if self.temporary {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Writes `binary` into a new zip at `out` as `bootstrap`, mode 755, with a fixed timestamp.
pub fn write_bootstrap_zip(binary: &Path, out: &Path) -> Result<(), Error> {
    let fail = |what: &str, e: &dyn std::fmt::Display| Error::Failed(format!("{what}: {e}"));
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| fail(&format!("cannot create {}", dir.display()), &e))?;
    }
    let input =
        File::open(binary).map_err(|e| fail(&format!("cannot read {}", binary.display()), &e))?;
    let output =
        File::create(out).map_err(|e| fail(&format!("cannot write {}", out.display()), &e))?;
    let mut zip = zip::ZipWriter::new(output);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o755)
        .last_modified_time(zip::DateTime::default())
        .large_file(false);
    zip.start_file("bootstrap", options)
        .map_err(|e| fail("zip", &e))?;
    std::io::copy(&mut BufReader::new(input), &mut zip).map_err(|e| fail("zip", &e))?;
    zip.finish()
        .map_err(|e| fail("zip", &e))?
        .flush()
        .map_err(|e| fail("zip", &e))?;
    Ok(())
}

/// SHA-256 and size of a file, streamed.
pub(crate) fn digest(path: &Path) -> Result<(String, u64), Error> {
    let mut file = BufReader::with_capacity(
        1 << 20,
        File::open(path)
            .map_err(|e| Error::Failed(format!("cannot read {}: {e}", path.display())))?,
    );
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| Error::Failed(format!("cannot read {}: {e}", path.display())))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((hex(&hasher.finalize()), size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zip_is_reproducible_and_executable() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::write(&bin, b"#!/bin/sh\necho hi\n").unwrap();
        let (a, b) = (dir.path().join("a.zip"), dir.path().join("b.zip"));
        write_bootstrap_zip(&bin, &a).unwrap();
        write_bootstrap_zip(&bin, &b).unwrap();
        assert_eq!(digest(&a).unwrap(), digest(&b).unwrap());

        let mut archive = zip::ZipArchive::new(File::open(&a).unwrap()).unwrap();
        assert_eq!(archive.len(), 1);
        let entry = archive.by_name("bootstrap").unwrap();
        assert_eq!(entry.unix_mode().map(|m| m & 0o777), Some(0o755));

        let package = Package::prebuilt(&a).unwrap();
        assert_eq!(package.key(), format!("packages/{}.zip", package.sha256));
        assert!(matches!(Package::prebuilt(&bin), Err(Error::Input(_))));
        assert!(matches!(
            Package::prebuilt(&dir.path().join("none.zip")),
            Err(Error::Input(_))
        ));
    }
}
