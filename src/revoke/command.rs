//! The `command` broker: a program of the user's gets the finding, secret
//! included, as JSON on standard input; exit status 0 means revoked. The
//! first line of its standard output is the reference, the last line of its
//! standard error the detail of a failure.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{short, Answer, Job, Outcome};

/// How long a command may run.
const TIMEOUT: Duration = Duration::from_secs(60);

pub(crate) fn describe(command: &[String]) -> String {
    format!("run {} (finding JSON on stdin)", command.join(" "))
}

fn program(job: &Job<'_>, first: &str) -> PathBuf {
    let p = PathBuf::from(first);
    // `./scripts/revoke.sh` in a config means next to the config.
    if p.is_relative() && p.components().count() > 1 {
        job.base_dir.join(p)
    } else {
        p
    }
}

pub(crate) fn revoke(job: &Job<'_>, command: &[String]) -> Outcome {
    let Some(first) = command.first() else {
        return Outcome::failed("command is empty", None);
    };
    let mut child = match Command::new(program(job, first))
        .args(&command[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => return Outcome::failed(format!("cannot run {first}: {e}"), None),
    };
    let input = serde_json::to_vec(job.finding).expect("finding serializes");
    // Feed and drain on threads: a program that writes more than a pipe
    // holds before reading its input must not deadlock us.
    let stdin = child.stdin.take();
    let feeder = std::thread::spawn(move || {
        if let Some(mut stdin) = stdin {
            // A program that does not read its input still decides by exit code.
            let _ = stdin.write_all(&input);
        }
    });
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            if let Some(mut p) = pipe {
                let _ = p.by_ref().take(1 << 20).read_to_string(&mut s);
                let _ = std::io::copy(&mut p, &mut std::io::sink());
            }
            s
        })
    };
    let out = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if start.elapsed() > TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Outcome::failed(format!("{first} did not finish within 60s"), None);
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Outcome::failed(format!("{first}: {e}"), None),
        }
    };
    let _ = feeder.join();
    let out = out.join().unwrap_or_default();
    let err = err.join().unwrap_or_default();
    let last_err = err.trim().lines().last().map(short).unwrap_or_default();
    if status.success() {
        let reference = Some(short(&out)).filter(|s| !s.is_empty());
        Outcome {
            answer: Answer::Revoked,
            http_status: None,
            reference,
            detail: format!("{first} exited 0"),
        }
    } else {
        Outcome::failed(format!("{first} failed ({status}): {last_err}"), None)
    }
}
