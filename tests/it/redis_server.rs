//! A real `redis-server` for the tests of the shared tier: started on a
//! free loopback port in a temporary directory, with no persistence, and
//! killed when dropped. Where the binary is missing, [`RedisServer::start`]
//! says the test was skipped (on the terminal, past the test harness's
//! capture) and returns `None`; under `OFFER_GATEWAY_CI` (set by
//! `.ci/run`, which installs it) a missing server fails the test instead.

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::child::ChildGuard;

/// The server binary, as Debian's `redis-server` package installs it.
const BINARY: &str = "redis-server";

/// A running Redis server, stopped when dropped.
pub struct RedisServer {
    /// Its `redis://127.0.0.1:<port>/0` URL.
    pub url: String,
    /// Its port.
    pub port: u16,
    _process: ChildGuard,
    _dir: tempfile::TempDir,
}

impl RedisServer {
    /// Starts a server for `test`; `None` (after saying so) when
    /// `redis-server` is not installed and this is not CI.
    pub fn start(test: &str) -> Option<RedisServer> {
        Self::start_with(test, &[])
    }

    /// Starts a server with extra command-line settings (`--requirepass
    /// ...`).
    pub fn start_with(test: &str, settings: &[&str]) -> Option<RedisServer> {
        Self::start_at(test, None, settings)
    }

    /// Starts a server on `port` (one a server of this test used before),
    /// or on a free port.
    pub fn start_at(test: &str, port: Option<u16>, settings: &[&str]) -> Option<RedisServer> {
        let Some(binary) = find(BINARY) else {
            let why = format!("{BINARY} is not on PATH (Debian's redis-server package)");
            if std::env::var_os("OFFER_GATEWAY_CI").is_some_and(|v| !v.is_empty()) {
                panic!("{test}: {why}; under CI (OFFER_GATEWAY_CI) it must run");
            }
            eprintln!("SKIPPED {test}: {why}; set OFFER_GATEWAY_CI to make this a failure");
            return None;
        };
        // A port another process takes between this probe and the server's
        // bind makes the server exit: try again with another.
        for _ in 0..5 {
            let port = port.unwrap_or_else(free_port);
            let dir = tempfile::tempdir().expect("a temporary directory");
            let mut command = Command::new(&binary);
            command
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no"])
                .arg("--dir")
                .arg(dir.path())
                .arg("--logfile")
                .arg(dir.path().join("redis.log"))
                .args(settings)
                .stdin(Stdio::null());
            let mut process = ChildGuard::spawn(&mut command);
            if wait_until_listening(port, &mut process) {
                return Some(RedisServer {
                    url: format!("redis://127.0.0.1:{port}/0"),
                    port,
                    _process: process,
                    _dir: dir,
                });
            }
        }
        panic!("{test}: {BINARY} did not start on any of five free ports");
    }
}

impl RedisServer {
    /// Stops the server's process without ending it (`SIGSTOP`): it keeps
    /// its connections and answers nothing, as a hung server does.
    #[cfg(unix)]
    pub fn freeze(&self) {
        signal(self._process.id(), libc::SIGSTOP);
    }

    /// Lets a frozen server go on (`SIGCONT`).
    #[cfg(unix)]
    pub fn thaw(&self) {
        signal(self._process.id(), libc::SIGCONT);
    }
}

#[cfg(unix)]
fn signal(pid: u32, signal: libc::c_int) {
    let pid = libc::pid_t::try_from(pid).expect("a pid");
    // SAFETY: a plain kill(2) of the test's own child process.
    let done = unsafe { libc::kill(pid, signal) };
    assert_eq!(done, 0, "kill({pid}, {signal})");
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

fn wait_until_listening(port: u16, process: &mut ChildGuard) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if !process.is_running() {
            return false;
        }
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// `name` on `PATH` (or in `/usr/sbin`, `/usr/bin`).
fn find(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/usr/bin".into()])
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}
