//! `iotadm device`, run as a user would against the scripted server on loopback: provision
//! from a bootstrap file, connect, answer a package 0, and refuse a forged one; the state
//! directory keeps the handset between runs.

use std::process::Command;

#[path = "../../tests/common/certs.rs"]
mod certs;

use iotadm::auth::AuthScheme;
use iotadm::notification::UiMode;
use iotadm_host::sim::{AccountSpec, CredSpec};
use iotadm_host::testserver::{
    Account, Cmd, Script, ServerOptions, ServerTls, SessionState, TestServer,
};
use iotadm_host::TlsIdentity;

fn iotadm_with(args: &[&str], env: impl FnOnce(&mut Command)) -> (bool, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_iotadm"));
    command.args(args);
    env(&mut command);
    let out = command.output().expect("run iotadm");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// `iotadm device --state STATE` with `args`.
fn device(state: &str, args: &[&str]) -> (bool, String) {
    device_with(state, args, |_| {})
}

/// `iotadm device --state STATE` with `args`, its environment set by `env`.
fn device_with(state: &str, args: &[&str], env: impl FnOnce(&mut Command)) -> (bool, String) {
    let mut all = vec!["device", "--state", state];
    all.extend_from_slice(args);
    iotadm_with(&all, env)
}

fn state_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("iotadm-cli-device-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn a_provisioned_handset_connects_then_answers_a_notification() {
    let script = Script::new()
        .package([
            Cmd::get("./DevInfo/DevId").label("devid"),
            Cmd::get("./DevDetail/FwV").label("fwv"),
            Cmd::get("./DevDetail/OEM").label("oem"),
            Cmd::get("./DevDetail/LrgObj").label("lrgobj"),
            Cmd::add("./DMAcc/srv1/AppAddr/1/Port/1/PortNbr", "8080").label("port"),
        ])
        .next_session()
        .package([Cmd::get("./DMAcc/srv1/AppAddr/1/Port/1/PortNbr").label("port again")]);
    let server = TestServer::start(
        vec![Account::new("srv1")
            .client_md5("handset", "client-secret", b"nonce-0")
            .server_cred(AuthScheme::Basic, "srv1", "server-secret", b"snonce-0")],
        script,
    )
    .unwrap();
    let url = server.url("srv1");
    let dir = state_dir("connect");
    let spec = AccountSpec {
        node: "srv1",
        server_id: "srv1",
        addr: &url,
        client: Some(CredSpec {
            scheme: AuthScheme::Md5Digest,
            name: "handset",
            secret: "client-secret",
            nonce: b"nonce-0",
        }),
        server: Some(CredSpec {
            scheme: AuthScheme::Basic,
            name: "srv1",
            secret: "server-secret",
            nonce: b"snonce-0",
        }),
        acl: None,
    };
    let out = bootstrapped(&dir, &spec, &["--dev-id", "IMEI:356938035643809"]);
    assert!(out.contains("bootstrap applied"), "{out}");
    let state = dir.to_str().unwrap();

    let (ok, out) = device(
        state,
        &["--connect", "--encoding", "xml", "--fw-version", "9.9.1"],
    );
    assert!(ok, "{out}");
    assert!(
        out.contains("<Data>1201</Data>"),
        "package 1 is shown: {out}"
    );
    assert!(out.contains("session ended"), "{out}");

    // A forged package 0 starts nothing.
    let mut forged = server.package0("srv1", UiMode::Background, 0x42).unwrap();
    forged[3] ^= 1;
    let p0 = dir.with_extension("p0");
    std::fs::write(&p0, &forged).unwrap();
    let (ok, out) = device(state, &["--notify", p0.to_str().unwrap()]);
    assert!(!ok, "a forged notification must fail: {out}");
    assert!(out.contains("digest"), "{out}");

    let genuine = server
        .package0_push("srv1", UiMode::Background, 0x42)
        .unwrap();
    std::fs::write(&p0, &genuine).unwrap();
    let (ok, out) = device(state, &["--notify", p0.to_str().unwrap()]);
    assert!(ok, "{out}");
    assert!(out.contains("package 0 verified"), "{out}");

    let t = server.finish();
    assert!(t.violations().is_empty(), "{:#?}", t.violations());
    assert_eq!(t.status("devid"), Some(200));
    assert_eq!(
        t.results_for("devid")[0].data_str(),
        "IMEI:356938035643809",
        "DevId set when the state was made, kept by a run that names none"
    );
    assert_eq!(
        t.results_for("fwv")[0].data_str(),
        "9.9.1",
        "given at this run"
    );
    assert_eq!(t.results_for("oem")[0].data_str(), "iotadm", "the default");
    assert_eq!(t.results_for("lrgobj")[0].data_str(), "true");
    assert_eq!(t.status("port"), Some(200));
    // The value written in the first session was kept in the state directory.
    assert_eq!(t.results_for("port again")[0].data_str(), "8080");
    let sessions = t.sessions();
    assert_eq!(
        sessions.len(),
        2,
        "the forged notification started no session"
    );
    assert!(
        sessions.iter().all(|s| s.state == SessionState::Completed),
        "{sessions:#?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(&p0);
}

/// An operator's provisioning file as `iotadm device --bootstrap` takes it: a bare TNDS
/// document whose nonce is Base64 and which names no ACL. The account's server then
/// manages it (adds an address, renames it) and the first session authenticates at once.
#[test]
fn a_tnds_bootstrap_with_a_b64_nonce_and_no_acl_gives_a_working_account() {
    use base64::Engine as _;
    let nonce = [0x01u8, 0xFF, 0x10, 0x80, 0x7F, 0x00, 0x33, 0xC4];
    let script = Script::new().package([
        Cmd::add("./DMAcc/op/AppAddr/2/Addr", "http://127.0.0.1:9/backup").label("add"),
        Cmd::add("./DMAcc/op/Name", "Operator").label("name"),
        Cmd::get("./DMAcc/op/AppAddr").label("addrs"),
    ]);
    let server = TestServer::start(
        vec![Account::new("srv1").client_md5("handset", "client-secret", &nonce)],
        script,
    )
    .unwrap();
    let tnds = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<MgmtTree xmlns=\"syncml:dmddf1.2\">\n\
         <VerDTD>1.2</VerDTD>\n<Node><NodeName>op</NodeName><Path>./DMAcc</Path>\n\
         <Node><NodeName>ServerID</NodeName><Value>srv1</Value></Node>\n\
         <Node><NodeName>AppAddr</NodeName><Node><NodeName>1</NodeName>\
         <Node><NodeName>Addr</NodeName><Value>{}</Value></Node></Node></Node>\n\
         <Node><NodeName>AppAuth</NodeName><Node><NodeName>c</NodeName>\n\
         <Node><NodeName>AAuthLevel</NodeName><Value>CLCRED</Value></Node>\n\
         <Node><NodeName>AAuthType</NodeName><Value>DIGEST</Value></Node>\n\
         <Node><NodeName>AAuthName</NodeName><Value>handset</Value></Node>\n\
         <Node><NodeName>AAuthSecret</NodeName><Value>client-secret</Value></Node>\n\
         <Node><NodeName>AAuthData</NodeName><RTProperties><Format><b64/></Format></RTProperties>\
         <Value>{}</Value></Node>\n</Node></Node>\n</Node>\n</MgmtTree>\n",
        server.url("srv1"),
        base64::engine::general_purpose::STANDARD.encode(nonce)
    );
    let dir = state_dir("tnds");
    let boot = dir.with_extension("tnds.xml");
    std::fs::write(&boot, tnds).unwrap();
    let state = dir.to_str().unwrap();
    let (ok, out) = device(state, &["--bootstrap", boot.to_str().unwrap()]);
    assert!(ok, "{out}");
    let (ok, out) = device(state, &["--connect"]);
    assert!(ok, "{out}");
    let t = server.finish();
    assert_eq!(t.status("add"), Some(200), "{}", t.render());
    assert_eq!(t.status("name"), Some(200));
    assert_eq!(t.results_for("addrs")[0].data_str(), "1/2");
    // One session, whose first message was accepted: the nonce arrived whole.
    assert_eq!(t.sessions().len(), 1);
    assert!(
        !t.render().contains("<Data>401</Data>"),
        "a challenge was needed:\n{}",
        t.render()
    );
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(&boot);
}

/// A server for `srv1` serving HTTPS as `identity`, and a handset provisioned with its
/// `https://` address: the state directory.
fn https_handset(name: &str, identity: &TlsIdentity) -> (TestServer, std::path::PathBuf) {
    let server = TestServer::start_with(
        vec![Account::new("srv1").client_basic("handset", "client-secret")],
        Script::new()
            .package([Cmd::get("./DevInfo/Mod").label("model")])
            .next_session()
            .package([Cmd::get("./DevInfo/Man").label("man")]),
        ServerOptions {
            tls: Some(ServerTls::new(identity.clone())),
            ..ServerOptions::default()
        },
    )
    .unwrap();
    let dir = https_account(&server, name);
    (server, dir)
}

/// A handset in a new state directory named after `name`, provisioned with the account
/// `srv1` at the server's `https://` address.
fn https_account(server: &TestServer, name: &str) -> std::path::PathBuf {
    let url = server.url("srv1");
    assert!(url.starts_with("https://"), "{url}");
    let spec = AccountSpec {
        node: "srv1",
        server_id: "srv1",
        addr: &url,
        client: Some(CredSpec {
            scheme: AuthScheme::Basic,
            name: "handset",
            secret: "client-secret",
            nonce: b"",
        }),
        server: None,
        acl: None,
    };
    let dir = state_dir(name);
    bootstrapped(&dir, &spec, &[]);
    dir
}

/// Provisions the handset in `dir` from `spec`'s bootstrap message through
/// `iotadm device --bootstrap FILE ARGS`; what it printed.
fn bootstrapped(dir: &std::path::Path, spec: &AccountSpec<'_>, args: &[&str]) -> String {
    let boot = dir.with_extension("bootstrap.xml");
    std::fs::write(&boot, spec.bootstrap_message()).unwrap();
    let mut all = vec!["--bootstrap", boot.to_str().unwrap()];
    all.extend_from_slice(args);
    let (ok, out) = device(dir.to_str().unwrap(), &all);
    assert!(ok, "{out}");
    let _ = std::fs::remove_file(&boot);
    out
}

/// `--connect` to an `https://` account trusting the test CA with `--ca`: a whole
/// session. Without `--ca`, or to a server whose certificate has expired or is for another
/// name, the run fails with the reason and the server receives no message.
#[test]
fn a_session_over_https_trusts_the_ca_given_and_refuses_bad_certificates() {
    let Some(pki) = certs::pki() else { return };
    let ca = pki.ca_file.to_str().unwrap();

    let (server, dir) = https_handset("https", &pki.server);
    let state = dir.to_str().unwrap();
    let (ok, out) = device(state, &["--connect"]);
    assert!(!ok, "the test CA is not among the platform's roots: {out}");
    assert!(out.contains("not issued by a trusted authority"), "{out}");
    assert!(server.transcript().records().is_empty());
    let (ok, out) = device(state, &["--connect", "--ca", ca]);
    assert!(ok, "{out}");
    assert!(out.contains("session ended"), "{out}");
    // The platform's roots are trusted by default: here the store is the test CA alone
    // (rustls-native-certs reads SSL_CERT_FILE instead of the system's store).
    let (ok, out) = device_with(state, &["--connect"], |c| {
        c.env("SSL_CERT_FILE", &pki.ca_file)
            .env_remove("SSL_CERT_DIR");
    });
    assert!(ok, "{out}");
    let t = server.finish();
    assert_eq!(t.results_for("model")[0].data_str(), "iotadm-sim");
    assert_eq!(t.results_for("man")[0].data_str(), "iotadm");
    assert_eq!(t.sessions().len(), 2);
    assert!(t
        .sessions()
        .iter()
        .all(|s| s.state == SessionState::Completed));
    let _ = std::fs::remove_dir_all(&dir);

    for (name, identity, reason) in [
        ("expired", &pki.expired, "certificate has expired"),
        (
            "untrusted",
            &pki.untrusted,
            "not issued by a trusted authority",
        ),
        (
            "other-name",
            &pki.other_name,
            "is for another name (dm.example.com), not 127.0.0.1",
        ),
    ] {
        let (server, dir) = https_handset(name, identity);
        let (ok, out) = device(dir.to_str().unwrap(), &["--connect", "--ca", ca]);
        assert!(!ok, "{name}: {out}");
        assert!(out.contains(reason), "{name}: {out}");
        // Package 1 never left: the tool shows no message as sent.
        assert!(!out.contains("client -> server"), "{name}: {out}");
        let t = server.finish();
        assert!(t.records().is_empty(), "{name}: {}", t.render());
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// A server using mutual TLS: refused without `--client-cert`, a session with one.
#[test]
fn a_client_certificate_is_shown_to_a_server_that_asks() {
    let Some(pki) = certs::pki() else { return };
    let server = TestServer::start_with(
        vec![Account::new("srv1").client_basic("handset", "client-secret")],
        Script::new().package([Cmd::get("./DevInfo/Mod").label("model")]),
        ServerOptions {
            tls: Some(ServerTls {
                client_roots_pem: Some(pki.ca.clone()),
                ..ServerTls::new(pki.server.clone())
            }),
            ..ServerOptions::default()
        },
    )
    .unwrap();
    let dir = https_account(&server, "mutual");
    let state = dir.to_str().unwrap();
    let ca = pki.ca_file.to_str().unwrap();
    let (ok, out) = device(state, &["--connect", "--ca", ca]);
    assert!(!ok, "{out}");
    assert!(out.contains("the server refused the connection"), "{out}");
    assert!(server.transcript().records().is_empty());
    let files = pki.dir.join("cli-client");
    std::fs::create_dir_all(&files).unwrap();
    let (cert, key) = (files.join("client.pem"), files.join("client.key"));
    std::fs::write(&cert, &pki.client.chain_pem).unwrap();
    std::fs::write(&key, &pki.client.key_pem).unwrap();
    let (ok, out) = device(
        state,
        &[
            "--connect",
            "--ca",
            ca,
            "--client-cert",
            cert.to_str().unwrap(),
            "--client-key",
            key.to_str().unwrap(),
        ],
    );
    assert!(ok, "{out}");
    let t = server.finish();
    assert_eq!(t.results_for("model")[0].data_str(), "iotadm-sim");
    assert_eq!(t.sessions().len(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_ca_file_without_a_certificate_is_refused() {
    let dir = state_dir("bad-ca");
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("not-a-ca.pem");
    std::fs::write(&bad, "just text\n").unwrap();
    let (ok, out) = device(
        dir.to_str().unwrap(),
        &[
            "--connect",
            "--account",
            "srv1",
            "--ca",
            bad.to_str().unwrap(),
        ],
    );
    assert!(!ok, "{out}");
    assert!(out.contains("not-a-ca.pem"), "{out}");
    assert!(out.contains("no CERTIFICATE"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}
