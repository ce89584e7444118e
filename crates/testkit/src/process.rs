//! Running a helper process from a test: to its end or killed after a timeout (a hung child must
//! not hang the test run), with both pipes drained in threads so that a chatty child cannot block.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What a finished process said.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// The command, for messages.
    pub what: String,
}

impl Run {
    pub fn describe(&self) -> String {
        format!(
            "{}\nexit status: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.what, self.code, self.stdout, self.stderr
        )
    }

    /// Asserts exit status 0 and returns stdout.
    pub fn ok(self) -> String {
        assert_eq!(self.code, Some(0), "expected success:\n{}", self.describe());
        self.stdout
    }

    /// Asserts a verdict of "rejected" (exit status 1), as opposed to success or a crash.
    pub fn rejected(self) -> String {
        assert_eq!(self.code, Some(1), "expected a rejection (exit status 1):\n{}", self.describe());
        self.stdout
    }
}

/// Runs `command` (stdin empty) to its end, or kills it after `timeout` and panics.
pub fn run(command: &mut Command, timeout: Duration) -> Run {
    let what = format!("{command:?}");
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let out = drain(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let err = drain(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let start = Instant::now();
    let status = loop {
        match child.try_wait().unwrap_or_else(|e| panic!("waiting for {what}: {e}")) {
            Some(status) => break status,
            None if start.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{what} did not finish within {timeout:?}");
            }
            None => std::thread::sleep(Duration::from_millis(10)),
        }
    };
    Run { code: status.code(), stdout: out.join().unwrap_or_default(), stderr: err.join().unwrap_or_default(), what }
}
