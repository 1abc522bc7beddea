//! A child process that is killed and reaped when dropped, also when the
//! test that started it fails: no test leaves a process behind.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};

/// A running child process, killed on drop.
pub struct ChildGuard {
    child: Child,
}

impl ChildGuard {
    /// Starts `command` with its standard output piped (and its standard
    /// error discarded).
    pub fn spawn(command: &mut Command) -> Self {
        let child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the binary runs");
        ChildGuard { child }
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Reads standard output up to (not including) the first line for
    /// which `last` holds; returns the lines read and that line.
    pub fn read_until(&mut self, last: impl Fn(&str) -> bool) -> (Vec<String>, String) {
        let stdout: ChildStdout = self.child.stdout.take().expect("stdout is piped");
        let mut lines = Vec::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if last(&line) {
                return (lines, line);
            }
            lines.push(line);
        }
        panic!("the process ended before printing the expected line: {lines:?}");
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
