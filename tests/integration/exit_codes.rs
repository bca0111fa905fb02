//! Exit codes: 0 clean, 1 findings, 2 errors; `--exit-zero`.

use crate::common::{Env, Fake};

#[test]
fn clean_is_zero() {
    let env = Env::new();
    env.write("a.txt", "nothing to see\n");
    env.cmd().args(["scan", "."]).assert().code(0);
}

#[test]
fn findings_are_one_and_exit_zero_overrides() {
    let env = Env::new();
    env.write("a.txt", Fake::new(10).github_pat());
    env.cmd().args(["scan", "."]).assert().code(1);
    env.cmd()
        .args(["scan", "--exit-zero", "."])
        .assert()
        .code(0);
}

#[test]
fn usage_errors_are_two() {
    let env = Env::new();
    env.cmd()
        .args(["scan", "--format", "xml", "."])
        .assert()
        .code(2);
    env.cmd()
        .args(["scan", "--max-file-size", "lots", "."])
        .assert()
        .code(2);
    env.cmd().args(["frobnicate"]).assert().code(2);
}

#[test]
fn missing_path_is_an_error_but_the_rest_is_scanned() {
    let env = Env::new();
    env.write("a.txt", Fake::new(11).github_pat());
    let out = env
        .cmd()
        .args(["scan", "missing-dir", "a.txt"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.contains("a.txt:1:1"), "{stdout}");
    assert!(
        stderr.contains("missing-dir: no such file or directory"),
        "{stderr}"
    );
}
