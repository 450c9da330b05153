//! A mitmproxy addon of `tests/faults/` between remedy and the emulator (reverse-proxy mode,
//! its own venv: `make faults-venv`): `faults.py` (throttling, errors, dropped connections)
//! or `latency.py` (AWS's round trips, stack operations that take time).

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use testbed::Emulator;

pub struct Proxy {
    child: Child,
    pub url: String,
    /// The file the addon writes what it saw or did into, on exit.
    out: std::path::PathBuf,
}

impl Proxy {
    /// `tests/faults/<addon>` in front of `emulator`, with `--set` options; the addon writes
    /// its JSON on exit to `dir/<addon>.json`, through its option `out_option`.
    pub fn start(
        emulator: &Emulator,
        dir: &std::path::Path,
        addon: &str,
        out_option: &str,
        options: &[String],
    ) -> Proxy {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let out = dir.join(format!("{addon}.json"));
        let script = format!("{}/tests/faults/{addon}", env!("CARGO_MANIFEST_DIR"));
        let mut command = Command::new("mitmdump");
        command.args([
            "--mode",
            &format!("reverse:{}", emulator.endpoint),
            "--listen-host",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-q",
            "-s",
            &script,
            "--set",
            &format!("{out_option}={}", out.display()),
        ]);
        for option in options {
            command.args(["--set", option]);
        }
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mitmdump (make faults-venv) on PATH");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the proxy did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Proxy {
            child,
            url: format!("http://127.0.0.1:{port}"),
            out,
        }
    }

    /// Stops the proxy and reads what its addon wrote.
    pub fn stop(mut self) -> serde_json::Value {
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        let text = std::fs::read_to_string(&self.out).expect("the addon's output");
        serde_json::from_str(&text).unwrap()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}
