//! `iotadm serve` run by a test: started in a directory of its own, its output read line
//! by line as it comes, and its verdict (exit status, every line, standard error) when it
//! stops. Shared by the host crate's CLI tests and the C interface's tests.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Lines, Read};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};

/// `iotadm serve` running, and the lines it printed so far.
pub struct Serve {
    child: Child,
    out: Lines<BufReader<ChildStdout>>,
    /// Every line read so far.
    pub lines: Vec<String>,
}

/// What `iotadm serve` said when it stopped.
pub struct Verdict {
    pub status: ExitStatus,
    pub lines: Vec<String>,
    pub stderr: String,
}

impl Verdict {
    /// Standard output and standard error, for a failing assertion to show.
    pub fn text(&self) -> String {
        format!("{}\n{}", self.lines.join("\n"), self.stderr)
    }
}

impl Serve {
    /// Starts `iotadm serve ARGS` (the tool at `iotadm`) in `dir`.
    pub fn start<S: AsRef<OsStr>>(iotadm: &Path, args: &[S], dir: &Path) -> Serve {
        let mut child = Command::new(iotadm)
            .arg("serve")
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("iotadm serve runs");
        let out = BufReader::new(child.stdout.take().expect("piped")).lines();
        Serve {
            child,
            out,
            lines: Vec::new(),
        }
    }

    /// Reads the lines serve prints until one starts with `prefix`; that line.
    pub fn wait_for(&mut self, prefix: &str) -> String {
        for line in self.out.by_ref() {
            let line = line.expect("serve's output is text");
            self.lines.push(line.clone());
            if line.starts_with(prefix) {
                return line;
            }
        }
        panic!(
            "iotadm serve ended without {prefix:?}:\n{}",
            self.lines.join("\n")
        );
    }

    /// Closes serve's standard input (the end with `--until-eof`), reads the rest of its
    /// output and waits for it.
    pub fn finish(mut self) -> Verdict {
        drop(self.child.stdin.take());
        for line in self.out.by_ref() {
            self.lines.push(line.expect("serve's output is text"));
        }
        let mut stderr = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut stderr);
        }
        let status = self.child.wait().expect("serve ends");
        Verdict {
            status,
            lines: std::mem::take(&mut self.lines),
            stderr,
        }
    }
}

impl Drop for Serve {
    /// A test that fails half-way stops its server.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
