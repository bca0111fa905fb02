//! Revocation against loopback servers that play the brokers and providers.
//! Nothing here reaches beyond 127.0.0.1.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::common::{findings, Env, Fake};
use crate::validate::{Reply, Seen, Server};

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Runs `keysweep ARGS` and returns (code, stdout JSON, stderr).
fn run(env: &Env, args: &[&str], vars: &[(&str, &str)]) -> (i32, Value, String) {
    let mut c = env.cmd();
    c.args(args);
    // The test's config is the user's own choice: trust it as --config would.
    if env.path().join("keysweep.toml").is_file() {
        c.env("KEYSWEEP_CONFIG", "keysweep.toml");
    }
    for (k, v) in vars {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {stderr}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    (out.status.code().unwrap(), json, stderr)
}

fn scan(env: &Env, extra: &[&str], vars: &[(&str, &str)]) -> (i32, Value, String) {
    // Secrets shown so findings can be told apart; the audit log and stderr
    // are checked for the secret separately.
    let mut args = vec![
        "scan",
        ".",
        "--revoke",
        "--allow-internal",
        "-f",
        "json",
        "--show-secrets",
    ];
    args.extend_from_slice(extra);
    run(env, &args, vars)
}

fn revocation<'a>(json: &'a Value, secret: &str) -> &'a Value {
    let f = findings(json)
        .iter()
        .find(|f| f["secret"] == secret)
        .unwrap_or_else(|| panic!("no finding for {secret}: {json:#}"));
    &f["revocation"]
}

fn audit_lines(env: &Env) -> Vec<Value> {
    std::fs::read_to_string(env.path().join(".keysweep/audit.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A GitHub stand-in: `/user` answers 200 while `live` holds, then 401;
/// `/credentials/revoke` answers 202 and clears `live`.
fn github(token: String) -> (Server, Arc<AtomicBool>) {
    let live = Arc::new(AtomicBool::new(true));
    let l = live.clone();
    let server = Server::start(move |req: &Seen, _| match req.target.as_str() {
        "/user"
            if l.load(Ordering::SeqCst)
                && req.header("authorization") == Some(&format!("Bearer {token}")) =>
        {
            Reply::new(200, r#"{"login":"octocat"}"#)
        }
        "/user" => Reply::new(401, r#"{"message":"Bad credentials"}"#),
        "/credentials/revoke" if req.method == "POST" && req.body.contains(&token) => {
            l.store(false, Ordering::SeqCst);
            Reply::new(202, "")
        }
        _ => Reply::new(404, r#"{"message":"Not Found"}"#),
    });
    (server, live)
}

const PROVIDER_CONFIG: &str = r#"
[revoke]
mode = "MODE"
rules = ["github-*", "slack-*"]
audit_log = ".keysweep/audit.jsonl"
[[revoke.broker]]
kind = "provider"
"#;

#[test]
fn github_credentials_revoke_enforced_and_confirmed_then_idempotent() {
    let mut fake = Fake::new(601);
    let token = fake.github_pat();
    let (gh, live) = github(token.clone());
    let env = Env::new();
    env.write("app.env", format!("GITHUB_TOKEN={token}\n"));
    env.write("keysweep.toml", PROVIDER_CONFIG.replace("MODE", "enforce"));
    let ep = format!("github={}", gh.url);

    let (code, json, stderr) = scan(&env, &["--endpoint", &ep], &[]);
    assert_eq!(code, 1, "findings, no failed revocation: {stderr}");
    let r = revocation(&json, &token);
    assert_eq!(r["status"], "revoked-confirmed", "{json:#}");
    assert_eq!(r["broker"], "provider #1");
    assert!(!live.load(Ordering::SeqCst));
    let revokes: Vec<Seen> = gh
        .requests()
        .into_iter()
        .filter(|s| s.target == "/credentials/revoke")
        .collect();
    assert_eq!(revokes.len(), 1);
    let body: Value = serde_json::from_str(&revokes[0].body).unwrap();
    assert_eq!(body["credentials"][0], token.as_str());
    assert_eq!(json["summary"]["revocation"]["revoked_confirmed"], 1);

    let log = audit_lines(&env);
    assert_eq!(log.len(), 1, "{log:#?}");
    let e = &log[0];
    assert_eq!(e["outcome"], "revoked");
    assert_eq!(e["http_status"], 202);
    assert_eq!(e["broker"], "provider #1");
    assert_eq!(e["rule"], "github-pat-classic");
    assert_eq!(e["location"], "app.env:1");
    assert_eq!(e["fingerprint"], findings(&json)[0]["fingerprint"]);
    assert!(e["time"].as_str().unwrap().ends_with('Z'));

    // A second sweep (the secret is still in the file) sends nothing: the
    // audit log already records the revocation. The secret is dead now, so
    // require = "any" makes the policy let it through to the idempotency check.
    env.write(
        "keysweep.toml",
        PROVIDER_CONFIG.replace("MODE", "enforce") + "require = \"any\"\n",
    );
    let toml = std::fs::read_to_string(env.path().join("keysweep.toml")).unwrap();
    let toml = toml.replace("require = \"any\"\n", "").replace(
        "mode = \"enforce\"",
        "mode = \"enforce\"\nrequire = \"any\"",
    );
    env.write("keysweep.toml", toml);
    let (code, json, stderr) = scan(&env, &["--endpoint", &ep], &[]);
    assert_eq!(code, 1, "{stderr}");
    let r = revocation(&json, &token);
    assert_eq!(r["status"], "skipped");
    assert!(
        r["detail"].as_str().unwrap().contains("already revoked"),
        "{r}"
    );
    assert_eq!(
        gh.requests()
            .iter()
            .filter(|s| s.target == "/credentials/revoke")
            .count(),
        1
    );
    assert_eq!(audit_lines(&env).len(), 1);
}

#[test]
fn dry_run_prints_the_call_and_sends_nothing() {
    let mut fake = Fake::new(602);
    let token = fake.github_pat();
    let (gh, live) = github(token.clone());
    let env = Env::new();
    env.write("app.env", format!("GITHUB_TOKEN={token}\n"));
    env.write("keysweep.toml", PROVIDER_CONFIG.replace("MODE", "dry-run"));
    let ep = format!("github={}", gh.url);
    let (code, json, stderr) = scan(&env, &["--endpoint", &ep], &[]);
    assert_eq!(code, 1, "{stderr}");
    let r = revocation(&json, &token);
    assert_eq!(r["status"], "would-revoke", "{json:#}");
    let call = format!("POST {}/credentials/revoke", gh.url);
    assert_eq!(r["detail"], call.as_str());
    assert!(
        stderr.contains(&format!(
            "would call {call} (broker provider #1) for github-pat-classic at app.env:1"
        )),
        "{stderr}"
    );
    assert!(!stderr.contains(&token));
    assert!(live.load(Ordering::SeqCst));
    assert!(gh.requests().iter().all(|s| s.target == "/user"));
    assert!(!env.path().join(".keysweep/audit.jsonl").exists());
}

#[test]
fn slack_auth_revoke() {
    let mut fake = Fake::new(603);
    let token = format!("xoxb-107353974698-1060992210017-{}A1b", fake.alnum(21));
    let revoked = Arc::new(AtomicBool::new(false));
    let r2 = revoked.clone();
    let want = format!("Bearer {token}");
    let slack = Server::start(move |req: &Seen, _| {
        let ours = req.header("authorization") == Some(want.as_str());
        match req.target.as_str() {
            "/api/auth.test" if ours && !r2.load(Ordering::SeqCst) => {
                Reply::new(200, r#"{"ok":true,"user":"bot"}"#)
            }
            "/api/auth.test" => Reply::new(200, r#"{"ok":false,"error":"token_revoked"}"#),
            "/api/auth.revoke" if ours => {
                r2.store(true, Ordering::SeqCst);
                Reply::new(200, r#"{"ok":true,"revoked":true}"#)
            }
            _ => Reply::new(404, "{}"),
        }
    });
    let env = Env::new();
    env.write("bot.py", format!("SLACK = \"{token}\"\n"));
    env.write("keysweep.toml", PROVIDER_CONFIG.replace("MODE", "enforce"));
    let ep = format!("slack={}", slack.url);
    let (code, json, stderr) = scan(&env, &["--endpoint", &ep], &[]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        revocation(&json, &token)["status"],
        "revoked-confirmed",
        "{json:#}"
    );
    assert!(revoked.load(Ordering::SeqCst));
    let seen = slack.requests();
    let rv = seen
        .iter()
        .find(|s| s.target == "/api/auth.revoke")
        .unwrap();
    assert_eq!(rv.method, "POST");
}

#[test]
fn vault_token_revoke_with_operator_token() {
    let mut fake = Fake::new(604);
    let token = format!("hvs.CAES{}Q7z", fake.alnum(40));
    let vault = Server::start(|req: &Seen, _| {
        if req.target == "/v1/auth/token/revoke"
            && req.method == "POST"
            && req.header("x-vault-token") == Some("operator-token")
        {
            Reply::new(204, "")
        } else {
            Reply::new(403, r#"{"errors":["permission denied"]}"#)
        }
    });
    let env = Env::new();
    env.write(".env", format!("VAULT_TOKEN={token}\n"));
    env.write(
        "keysweep.toml",
        format!(
            r#"
[revoke]
mode = "enforce"
require = "any"
rules = ["vault-*"]
audit_log = ".keysweep/audit.jsonl"
[[revoke.broker]]
kind = "vault"
address = "{}"
token_env = "KS_VAULT_ADMIN"
"#,
            vault.url
        ),
    );
    let (code, json, stderr) = scan(&env, &[], &[("KS_VAULT_ADMIN", "operator-token")]);
    assert_eq!(code, 1, "{stderr}");
    let r = revocation(&json, &token);
    assert_eq!(
        r["status"], "revoked",
        "no Vault validator to confirm: {json:#}"
    );
    assert_eq!(r["broker"], "vault #1");
    let seen = vault.requests();
    assert_eq!(seen.len(), 1);
    let body: Value = serde_json::from_str(&seen[0].body).unwrap();
    assert_eq!(body["token"], token.as_str());
    assert_eq!(audit_lines(&env)[0]["http_status"], 204);

    // Without the operator token's variable the broker fails, and says why.
    let env2 = Env::new();
    env2.write(".env", format!("VAULT_TOKEN={token}\n"));
    env2.write(
        "keysweep.toml",
        std::fs::read_to_string(env.path().join("keysweep.toml")).unwrap(),
    );
    let (code, json, _) = scan(&env2, &[], &[]);
    assert_eq!(code, 3);
    let r = revocation(&json, &token);
    assert_eq!(r["status"], "failed");
    assert!(
        r["detail"].as_str().unwrap().contains("KS_VAULT_ADMIN"),
        "{r}"
    );
}

fn http_config(url: &str, extra: &str) -> String {
    format!(
        r#"
[revoke]
mode = "enforce"
require = "any"
rules = ["github-*"]
audit_log = ".keysweep/audit.jsonl"
[[revoke.broker]]
kind = "http"
url = "{url}/v1/revocations"
token_env = "KS_BROKER_TOKEN"
{extra}
"#
    )
}

#[test]
fn http_broker_protocol_with_hmac_and_hash_only() {
    let mut fake = Fake::new(605);
    let token = fake.github_pat();
    let key = "hmac-key-for-tests";
    let bad_sig = Arc::new(AtomicBool::new(false));
    let b2 = bad_sig.clone();
    let broker = Server::start(move |req: &Seen, _| {
        let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
        mac.update(req.body.as_bytes());
        let want = format!("sha256={}", hex(&mac.finalize().into_bytes()));
        if req.header("x-keysweep-signature") != Some(want.as_str())
            || req.header("authorization") != Some("Bearer broker-token")
        {
            b2.store(true, Ordering::SeqCst);
            return Reply::new(401, r#"{"status":"failed","detail":"bad signature"}"#);
        }
        Reply::new(
            200,
            r#"{"status":"revoked","reference":"REV-42","detail":"rotated by broker"}"#,
        )
    });
    // GitHub's /user, for the confirmation after revocation: the token is dead.
    let gh = Server::start(|_: &Seen, _| Reply::new(401, r#"{"message":"Bad credentials"}"#));
    let env = Env::new();
    env.write("app.env", format!("GITHUB_TOKEN={token}\n"));
    env.write(
        "keysweep.toml",
        http_config(
            &broker.url,
            "hmac_key_env = \"KS_HMAC\"\nsend_secret = false",
        ),
    );
    let ep = format!("github={}", gh.url);
    let (code, json, stderr) = scan(
        &env,
        &["--endpoint", &ep],
        &[("KS_BROKER_TOKEN", "broker-token"), ("KS_HMAC", key)],
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(!bad_sig.load(Ordering::SeqCst));
    let r = revocation(&json, &token);
    assert_eq!(r["status"], "revoked-confirmed", "{json:#}");
    assert_eq!(r["broker"], "http #1");
    assert!(r["detail"].as_str().unwrap().contains("REV-42"), "{r}");

    let seen = broker.requests();
    assert_eq!(seen.len(), 1);
    let req = &seen[0];
    assert_eq!(req.method, "POST");
    assert_eq!(req.target, "/v1/revocations");
    let body: Value = serde_json::from_str(&req.body).unwrap();
    let fp = findings(&json)[0]["fingerprint"].as_str().unwrap();
    assert_eq!(req.header("idempotency-key"), Some(fp));
    assert_eq!(body["fingerprint"], fp);
    assert_eq!(body["rule_id"], "github-pat-classic");
    assert_eq!(body["provider"], "github");
    assert_eq!(body["location"]["path"], "app.env");
    assert_eq!(body["location"]["line"], 1);
    assert!(body.get("secret").is_none(), "send_secret = false: {body}");
    assert!(!req.body.contains(&token));
    assert_eq!(
        body["secret_sha256"],
        hex(&Sha256::digest(token.as_bytes()))
    );

    let log = audit_lines(&env);
    assert_eq!(log[0]["reference"], "REV-42");
    assert_eq!(log[0]["http_status"], 200);
}

#[test]
fn failing_brokers_never_lose_findings() {
    let mut fake = Fake::new(606);
    let (t500, tbad, tslow, tok) = (
        fake.github_pat(),
        fake.github_pat(),
        fake.github_pat(),
        fake.github_pat(),
    );
    let (a, b, c) = (t500.clone(), tbad.clone(), tslow.clone());
    let broker = Server::start(move |req: &Seen, _| {
        if req.body.contains(&a) {
            Reply::new(500, "internal error")
        } else if req.body.contains(&b) {
            Reply::new(200, "<html>not json</html>")
        } else if req.body.contains(&c) {
            Reply {
                delay: Duration::from_secs(4),
                ..Reply::new(200, r#"{"status":"revoked"}"#)
            }
        } else {
            Reply::new(200, r#"{"status":"revoked"}"#)
        }
    });
    let gh = Server::start(|_: &Seen, _| Reply::new(401, r#"{"message":"Bad credentials"}"#));
    let env = Env::new();
    env.write(
        "app.env",
        format!("A={t500}\nB={tbad}\nC={tslow}\nD={tok}\n"),
    );
    env.write("keysweep.toml", http_config(&broker.url, ""));
    let ep = format!("github={}", gh.url);
    let (code, json, stderr) = scan(
        &env,
        &["--endpoint", &ep, "--validate-timeout", "1s"],
        &[("KS_BROKER_TOKEN", "t")],
    );
    assert_eq!(code, 3, "some revocations failed: {stderr}");
    assert_eq!(findings(&json).len(), 4, "every finding is reported");
    let detail = |t: &str| {
        let r = revocation(&json, t);
        assert_eq!(r["status"], "failed", "{r}");
        r["detail"].as_str().unwrap().to_string()
    };
    let d = detail(&t500);
    assert!(d.contains("HTTP 500"), "{d}");
    let d = detail(&tbad);
    assert!(d.contains("without a status"), "{d}");
    assert!(
        detail(&tslow).contains("timeout after 1s"),
        "{}",
        detail(&tslow)
    );
    assert_eq!(revocation(&json, &tok)["status"], "revoked-confirmed");
    assert_eq!(json["summary"]["revocation"]["failed"], 3);
    assert_eq!(
        stderr.matches("keysweep: revocation failed:").count(),
        3,
        "{stderr}"
    );

    let log = audit_lines(&env);
    let outcomes: Vec<&str> = log.iter().map(|e| e["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes.iter().filter(|o| **o == "failed").count(), 3);
    assert_eq!(outcomes.iter().filter(|o| **o == "revoked").count(), 1);
    let raw = std::fs::read_to_string(env.path().join(".keysweep/audit.jsonl")).unwrap();
    for t in [&t500, &tbad, &tslow, &tok] {
        assert!(
            !raw.contains(t.as_str()),
            "the audit log holds a raw secret"
        );
    }
}

#[test]
fn policy_filters() {
    let mut fake = Fake::new(607);
    let (dead, other) = (fake.github_pat(), fake.github_pat());
    let gh = Server::start(|_: &Seen, _| Reply::new(401, r#"{"message":"Bad credentials"}"#));
    let env = Env::new();
    let slack = format!("xoxb-107353974698-1060992210017-{}A1b", fake.alnum(21));
    env.write("a.env", format!("GITHUB_TOKEN={dead}\nSLACK={slack}\n"));
    env.write("b.env", format!("GH={other}\n"));
    // require = live (default): the dead GitHub token is skipped; Slack is
    // not in `rules`; nothing accepts the finding in b.env? The vault broker
    // handles only Vault tokens.
    env.write(
        "keysweep.toml",
        r#"
[revoke]
mode = "enforce"
rules = ["github-*"]
[[revoke.broker]]
kind = "vault"
address = "http://127.0.0.1:9"
"#,
    );
    let ep = format!("github={}", gh.url);
    let (code, json, stderr) = scan(&env, &["--endpoint", &ep], &[]);
    assert_eq!(code, 1, "{stderr}");
    let r = revocation(&json, &dead);
    assert_eq!(r["status"], "skipped");
    assert!(
        r["detail"]
            .as_str()
            .unwrap()
            .contains("not validated live (validation: invalid)"),
        "{r}"
    );
    let r = revocation(&json, &slack);
    assert_eq!(r["status"], "skipped");
    assert!(
        r["detail"]
            .as_str()
            .unwrap()
            .contains("not in [revoke] rules"),
        "{r}"
    );

    env.write(
        "keysweep.toml",
        r#"
[revoke]
mode = "enforce"
require = "any"
rules = ["github-*"]
[[revoke.broker]]
kind = "vault"
address = "http://127.0.0.1:9"
"#,
    );
    let (_, json, _) = scan(&env, &["--endpoint", &ep], &[]);
    let r = revocation(&json, &other);
    assert_eq!(r["status"], "skipped");
    assert!(
        r["detail"]
            .as_str()
            .unwrap()
            .contains("no configured broker"),
        "{r}"
    );

    // --revoke without a [revoke] table is an error, not a silent no-op.
    std::fs::remove_file(env.path().join("keysweep.toml")).unwrap();
    let out = env.cmd().args(["scan", ".", "--revoke"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("[revoke]"));
}

#[test]
fn revoke_from_report() {
    let mut fake = Fake::new(608);
    let token = fake.github_pat();
    let (gh, live) = github(token.clone());
    let env = Env::new();
    env.write("src/app.env", format!("GITHUB_TOKEN={token}\n"));
    let ep = format!("github={}", gh.url);
    // A redacted report is refused.
    let out = env
        .cmd()
        .args(["scan", "src", "-f", "json", "-o", "redacted.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    env.write("keysweep.toml", PROVIDER_CONFIG.replace("MODE", "enforce"));
    let out = env
        .cmd()
        .args(["revoke", "--from", "redacted.json", "--allow-internal"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("redacted secrets") && err.contains("--show-secrets"),
        "{err}"
    );
    assert!(live.load(Ordering::SeqCst));

    // A report with secrets and validation is acted on.
    let out = env
        .cmd()
        .args(["scan", "src", "-f", "json", "--show-secrets", "--validate"])
        .args(["--allow-internal", "--endpoint", &ep, "-o", "report.json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (code, json, stderr) = run(
        &env,
        &[
            "revoke",
            "--from",
            "report.json",
            "--allow-internal",
            "--endpoint",
            &ep,
            "-f",
            "json",
        ],
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
    let f = &findings(&json)[0];
    assert_ne!(f["secret"], token.as_str(), "revoke reports redact secrets");
    assert_eq!(f["revocation"]["status"], "revoked-confirmed", "{json:#}");
    assert!(!live.load(Ordering::SeqCst));
    assert_eq!(audit_lines(&env).len(), 1);
}

#[cfg(unix)]
#[test]
fn command_broker_gets_the_finding_on_stdin() {
    use std::os::unix::fs::PermissionsExt;
    let mut fake = Fake::new(609);
    let (ok, bad) = (fake.github_pat(), fake.github_pat());
    let env = Env::new();
    env.write("app.env", format!("A={ok}\nB={bad}\n"));
    let script = env.write(
        "scripts/revoke.sh",
        format!(
            "#!/bin/sh\nin=$(cat)\necho \"$in\" >> \"$(dirname \"$0\")/seen.jsonl\"\n\
             case \"$in\" in *{bad}*) echo 'provider refused' >&2; exit 4;; esac\necho REF-7\n"
        ),
    );
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    env.write(
        "keysweep.toml",
        r#"
[revoke]
mode = "enforce"
require = "any"
rules = ["github-*"]
audit_log = ".keysweep/audit.jsonl"
[[revoke.broker]]
kind = "command"
command = ["./scripts/revoke.sh"]
"#,
    );
    let gh = Server::start(|_: &Seen, _| Reply::new(401, r#"{"message":"Bad credentials"}"#));
    let ep = format!("github={}", gh.url);
    let (code, json, stderr) = scan(&env, &["--endpoint", &ep], &[]);
    assert_eq!(code, 3, "{stderr}");
    let r = revocation(&json, &ok);
    assert_eq!(r["status"], "revoked-confirmed", "{r}");
    assert_eq!(r["broker"], "command #1");
    assert!(r["detail"].as_str().unwrap().contains("REF-7"), "{r}");
    let r = revocation(&json, &bad);
    assert_eq!(r["status"], "failed");
    assert!(
        r["detail"].as_str().unwrap().contains("provider refused"),
        "{r}"
    );
    let seen = std::fs::read_to_string(env.path().join("scripts/seen.jsonl")).unwrap();
    let first: Value = serde_json::from_str(seen.lines().next().unwrap()).unwrap();
    assert_eq!(first["secret"], ok.as_str());
    assert_eq!(first["rule_id"], "github-pat-classic");
    assert_eq!(audit_lines(&env)[0]["reference"], "REF-7");
}

#[test]
fn human_report_shows_revocation() {
    let mut fake = Fake::new(610);
    let token = fake.github_pat();
    let (gh, _live) = github(token.clone());
    let env = Env::new();
    env.write("app.env", format!("GITHUB_TOKEN={token}\n"));
    env.write("keysweep.toml", PROVIDER_CONFIG.replace("MODE", "dry-run"));
    let ep = format!("github={}", gh.url);
    let out = env
        .cmd()
        .args([
            "scan",
            ".",
            "--revoke",
            "--allow-internal",
            "--endpoint",
            &ep,
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "revocation   would-revoke via provider #1: POST {}/credentials/revoke",
            gh.url
        )),
        "{stdout}"
    );
    assert!(stdout.contains("revocation: 1 would revoke"), "{stdout}");
    assert!(!stdout.contains(&token));
}

#[test]
fn dry_run_redacts_a_secret_in_the_url() {
    let mut fake = Fake::new(611);
    let token = fake.crc32_token("npm");
    let env = Env::new();
    env.write(
        ".npmrc",
        format!("//registry.npmjs.org/:_authToken={token}\n"),
    );
    env.write(
        "keysweep.toml",
        "[revoke]\nrequire = \"any\"\nrules = [\"npm-*\"]\n[[revoke.broker]]\nkind = \"provider\"\n",
    );
    let (code, json, stderr) = scan(&env, &[], &[]);
    assert_eq!(code, 1, "{stderr}");
    let r = revocation(&json, &token);
    assert_eq!(r["status"], "would-revoke", "{json:#}");
    let detail = r["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("DELETE https://registry.npmjs.org/-/npm/v1/tokens/token/npm_"),
        "{detail}"
    );
    assert!(!detail.contains(&token), "{detail}");
    assert!(
        stderr.contains("would call DELETE https://registry.npmjs.org/"),
        "{stderr}"
    );
    assert!(!stderr.contains(&token), "{stderr}");
}

/// A keysweep.toml found in the scanned tree must not choose where secrets go:
/// brokers with their own address need a config the user chose.
#[test]
fn a_found_config_cannot_send_secrets_to_its_own_broker() {
    let mut fake = Fake::new(612);
    let token = fake.github_pat();
    let hits = Arc::new(AtomicBool::new(false));
    let h = hits.clone();
    let broker = Server::start(move |_: &Seen, _| {
        h.store(true, Ordering::SeqCst);
        Reply::new(200, r#"{"status":"revoked"}"#)
    });
    let env = Env::new();
    env.write("app.env", format!("GITHUB_TOKEN={token}\n"));
    env.write("keysweep.toml", http_config(&broker.url, ""));
    let out = env
        .cmd()
        .args(["scan", ".", "--revoke", "--allow-internal"])
        .env("KS_BROKER_TOKEN", "t")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("found in the scanned tree") && err.contains("--config"),
        "{err}"
    );
    assert!(!hits.load(Ordering::SeqCst), "nothing may reach the broker");
    // The same file chosen with --config is trusted.
    let out = env
        .cmd()
        .args([
            "scan",
            ".",
            "--revoke",
            "--allow-internal",
            "--config",
            "keysweep.toml",
        ])
        .env("KS_BROKER_TOKEN", "t")
        .output()
        .unwrap();
    assert!(
        hits.load(Ordering::SeqCst),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
