//! The test bed as a command, for `make demo`: seeds an organization in a running emulator
//! (the same code the integration tests use) and writes the demo's stub Lambda package.
//!
//! ```text
//! testbed seed --endpoint http://127.0.0.1:5123    # OUs Dev/Staging/Prod, ~30 accounts
//! testbed stub-package PATH                          # a zip whose bootstrap is a stub
//! ```

use testbed::{Emulator, Org};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["seed", "--endpoint", endpoint] => seed(endpoint).await,
        ["stub-package", path] => {
            let dir = std::env::temp_dir().join(format!("remedy-stub-{}", std::process::id()));
            std::fs::create_dir_all(&dir).expect("temp dir");
            let bootstrap = dir.join("bootstrap");
            std::fs::write(
                &bootstrap,
                "#!/bin/sh\n# The emulator stores Lambda code and never runs it.\nexit 0\n",
            )
            .expect("write stub");
            remedy::aws::package::write_bootstrap_zip(&bootstrap, std::path::Path::new(path))
                .expect("zip");
            let _ = std::fs::remove_dir_all(dir);
        }
        _ => {
            eprintln!("usage: testbed seed --endpoint URL | testbed stub-package PATH");
            std::process::exit(2);
        }
    }
}

/// Dev (with nested teams), Staging and Prod OUs, 30 accounts, one of them suspended.
async fn seed(endpoint: &str) {
    let emulator = Emulator::attach(endpoint);
    let mut org = Org::create(&emulator).await;
    org.accounts_in("dev", "/Workloads/Dev", 8).await;
    org.accounts_in("dev-payments", "/Workloads/Dev/Payments", 3)
        .await;
    org.accounts_in("dev-data", "/Workloads/Dev/Data/Lake", 2)
        .await;
    org.accounts_in("staging", "/Workloads/Staging", 6).await;
    org.accounts_in("prod", "/Workloads/Prod", 8).await;
    org.accounts_in("sandbox", "/Sandbox", 2).await;
    let closed = org.account("dev-closed", "/Workloads/Dev").await;
    org.suspend(&closed).await;
    println!(
        "seeded {} accounts in {} OUs ({closed} suspended)",
        org.accounts.len(),
        org.ous.len() - 1
    );
}
