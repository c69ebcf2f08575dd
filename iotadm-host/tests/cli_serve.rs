//! `iotadm serve`, run as a user would: the example scripts are valid and each one is run
//! by a test (the handset one here against `iotadm device`, the C host ones by the root
//! crate's `tests/c_api.rs`), the documented example is the tested file, and a run fails
//! with a non-zero exit when an expectation is not met or the client breaks a rule.

#[path = "../../tests/common/certs.rs"]
mod certs;
#[path = "../../tests/common/serve.rs"]
mod serve;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;

use serve::Serve;

/// The repository's root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the host crate lives in the repository")
        .to_path_buf()
}

fn scripts() -> Vec<PathBuf> {
    let mut all: Vec<PathBuf> = std::fs::read_dir(root().join("examples/scripts"))
        .expect("examples/scripts")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    all.sort();
    all
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("iotadm-cli-serve-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

/// `iotadm serve ARGS` of this crate, in `dir`.
fn serve(args: &[&str], dir: &Path) -> Serve {
    Serve::start(Path::new(env!("CARGO_BIN_EXE_iotadm")), args, dir)
}

/// `iotadm device --state hs ARGS` in `dir`.
fn device(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_iotadm"))
        .args(["device", "--state", "hs"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("iotadm device runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    text
}

#[test]
fn every_example_script_is_valid_and_run_by_a_test() {
    let all = scripts();
    assert!(!all.is_empty());
    let c_api = std::fs::read_to_string(root().join("tests/c_api.rs")).expect("tests/c_api.rs");
    for path in all {
        let out = Command::new(env!("CARGO_BIN_EXE_iotadm"))
            .args(["serve", "--check", "--script"])
            .arg(&path)
            .output()
            .expect("iotadm serve runs");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.starts_with("script ok: "),
            "{}: {text}{}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let name = path.file_name().and_then(|n| n.to_str()).expect("name");
        assert!(
            name == "handset.toml" || c_api.contains(&format!("\"{name}\"")),
            "no test runs {name}"
        );
    }
}

#[test]
fn the_documented_example_is_the_tested_one() {
    let doc = std::fs::read_to_string(root().join("docs/serve.md")).expect("docs/serve.md");
    let example =
        std::fs::read_to_string(root().join("examples/scripts/handset.toml")).expect("example");
    let block = doc
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("```\n").next())
        .expect("a toml block in docs/serve.md");
    assert_eq!(
        block, example,
        "docs/serve.md shows examples/scripts/handset.toml"
    );
}

#[test]
fn the_handset_example_runs_against_the_simulated_handset() {
    let dir = scratch("handset");
    let script = root().join("examples/scripts/handset.toml");
    let script = script.to_str().expect("UTF-8 path");
    let mut serve = serve(&["--script", script, "--transcript", "t.xml"], &dir);
    let listening = serve.wait_for("listening on ");
    assert!(listening.starts_with("listening on http://127.0.0.1:"));
    serve.wait_for("bootstrap of srv1 written to bootstrap.xml");
    assert!(device(&dir, &["--bootstrap", "bootstrap.xml"]).contains("bootstrap applied"));
    assert!(device(&dir, &["--connect"]).contains("session ended"));
    serve.wait_for("package 0 of srv1 for session 0042 written to pkg0.bin");
    assert!(device(&dir, &["--notify", "pkg0.bin"]).contains("package 0 verified"));
    // Both sessions ended: serve stops by itself.
    let verdict = serve.finish();
    let (ok, out) = (verdict.status.success(), verdict.text());
    assert!(ok, "{out}");
    for line in [
        "session 2 ended: srv1, session id 42, completed, authenticated, opened with alert 1200",
        "command both: Atomic status 200",
        "command permanent: Delete status 405",
        "command s1.p2.c1: Get status 200, results \"8081\"",
        "sessions: 2, violations: 0, expectations not met: 0",
        "result: ok",
    ] {
        assert!(out.lines().any(|l| l == line), "missing {line:?}:\n{out}");
    }
    let transcript = std::fs::read_to_string(dir.join("t.xml")).expect("transcript");
    assert_eq!(transcript.matches("=== client -> server").count(), 5);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_expectation_not_met_fails_the_run() {
    let dir = scratch("unmet");
    std::fs::write(
        dir.join("s.toml"),
        "[[account]]\nserver_id = \"srv1\"\nbootstrap = \"b.xml\"\n\
         [[session]]\nexpect_alert = 1200\n[[session.package]]\n\
         commands = [ { get = \"./DevDetail/OEM\", label = \"oem\", expect_data = \"Acme\" },\n\
         { get = \"./Nowhere\", expect_status = 200 } ]\n",
    )
    .expect("script");
    let mut serve = serve(&["--script", "s.toml"], &dir);
    serve.wait_for("bootstrap of srv1 written to b.xml");
    device(&dir, &["--bootstrap", "b.xml"]);
    device(&dir, &["--connect"]);
    let verdict = serve.finish();
    let (ok, out) = (verdict.status.success(), verdict.text());
    assert!(!ok, "{out}");
    for line in [
        "not met: session 1: opened with alert 1201, expected 1200",
        "not met: command oem: results \"iotadm\", expected \"Acme\"",
        "not met: command s1.p1.c2: status 404, expected 200",
        "sessions: 1, violations: 0, expectations not met: 3",
        "result: failed",
    ] {
        assert!(out.lines().any(|l| l == line), "missing {line:?}:\n{out}");
    }
    assert!(out.contains("iotadm serve: 0 violation(s), 3 expectation(s) not met"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_protocol_violation_fails_the_run() {
    let dir = scratch("violation");
    std::fs::write(dir.join("s.toml"), "[[account]]\nserver_id = \"srv1\"\n").expect("script");
    let mut serve = serve(&["--script", "s.toml", "--until-eof"], &dir);
    let account = serve.wait_for("account srv1 at http://");
    let url = account.trim_start_matches("account srv1 at http://");
    let (host, path) = url.split_once('/').expect("host and path");
    // A body that is no SyncML message at all.
    let body = b"<SyncML><SyncHdr>";
    let mut tcp = TcpStream::connect(host).expect("serve accepts");
    write!(
        tcp,
        "POST /{path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/vnd.syncml.dm+xml\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .expect("request");
    tcp.write_all(body).expect("body");
    let mut reply = String::new();
    let _ = tcp.read_to_string(&mut reply);
    let verdict = serve.finish();
    let (ok, out) = (verdict.status.success(), verdict.text());
    assert!(!ok, "{out}");
    assert!(
        out.lines().any(|l| l.starts_with("violation: ")),
        "{reply}\n{out}"
    );
    assert!(out.lines().any(|l| l == "result: failed"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A script that gives the server a certificate serves HTTPS: the handset trusting the
/// certificate's CA (`iotadm device --ca`) runs its session, and serve judges it.
#[test]
fn a_script_with_a_certificate_serves_https() {
    let Some(pki) = certs::pki() else {
        return;
    };
    let dir = scratch("https");
    std::fs::write(dir.join("cert.pem"), &pki.server.chain_pem).expect("certificate");
    std::fs::write(dir.join("key.pem"), &pki.server.key_pem).expect("key");
    std::fs::write(
        dir.join("s.toml"),
        "[server]\ntls_cert = \"cert.pem\"\ntls_key = \"key.pem\"\n\
         [[account]]\nserver_id = \"srv1\"\nbootstrap = \"b.xml\"\n\
         [[session]]\nexpect_alert = 1201\n[[session.package]]\n\
         commands = [ { get = \"./DevInfo/Mod\", label = \"mod\" } ]\n",
    )
    .expect("script");
    let mut serve = serve(&["--script", "s.toml"], &dir);
    let listening = serve.wait_for("listening on ");
    assert!(
        listening.starts_with("listening on https://127.0.0.1:"),
        "{listening}"
    );
    serve.wait_for("bootstrap of srv1 written to b.xml");
    device(&dir, &["--bootstrap", "b.xml"]);
    let ca = pki.ca_file.to_str().expect("UTF-8 path");
    assert!(device(&dir, &["--connect", "--ca", ca]).contains("session ended"));
    let verdict = serve.finish();
    assert!(verdict.status.success(), "{}", verdict.text());
    assert!(
        verdict
            .lines
            .iter()
            .any(|l| l.starts_with("command mod: Get status 200")),
        "{}",
        verdict.text()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A certificate without its key is a mistake in the script, named before anything runs.
#[test]
fn a_certificate_without_its_key_is_refused() {
    let dir = scratch("https-half");
    std::fs::write(
        dir.join("s.toml"),
        "[server]\ntls_cert = \"cert.pem\"\n[[account]]\nserver_id = \"srv1\"\n",
    )
    .expect("script");
    let verdict = serve(&["--script", "s.toml", "--until-eof"], &dir).finish();
    assert!(!verdict.status.success());
    assert!(
        verdict.stderr.contains("tls_cert and tls_key go together"),
        "{}",
        verdict.text()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
