//! The C interface from C: builds the static library (`ffi/`, for the host) and the C
//! host program `ffi/examples/c-host/host.c` with `gcc -std=c99 -Wall -Wextra -Werror`,
//! and runs it against the test server on 127.0.0.1. The program reaches iotadm only
//! through `iotadm.h`: its own flash, handlers, user and HTTP client. The server's
//! transcript judges the sessions; the program's output shows what its callbacks saw.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use common::device::{account, cred};
use iotadm::auth::AuthScheme;
use iotadm::notification::UiMode;
use iotadm_host::testserver::{Account, Cmd, Script, SessionState, TestServer, Transcript};

/// The ffi crate.
fn ffi_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("ffi")
}

/// Builds the static library and the C program once per test run; the program's path.
fn c_host() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let ffi = ffi_dir();
        let target = ffi.join("target");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        // Its own target directory: the outer build's lock and settings stay out of it.
        let status = Command::new(cargo)
            .args(["build", "--quiet", "--manifest-path"])
            .arg(ffi.join("Cargo.toml"))
            .arg("--target-dir")
            .arg(&target)
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("CARGO_BUILD_TARGET")
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building the ffi crate failed");
        let out_dir = target.join("c-host");
        std::fs::create_dir_all(&out_dir).expect("output directory");
        let exe = out_dir.join("c-host");
        let out = Command::new("gcc")
            .args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-O1", "-I"])
            .arg(ffi.join("include"))
            .arg(ffi.join("examples/c-host/host.c"))
            .arg(target.join("debug/libiotadm_ffi.a"))
            .arg("-o")
            .arg(&exe)
            .output()
            .expect("gcc runs (the C interface tests need a C compiler)");
        assert!(
            out.status.success(),
            "the C host program does not compile warning-free:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        exe
    })
}

/// A scratch directory for one test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = ffi_dir().join("target/c-host").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

/// Runs the C program; its exit status and output lines.
fn run_c(args: &[&str], dir: &Path) -> (Output, Vec<String>) {
    let out = Command::new(c_host())
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the C program runs");
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    (out, lines)
}

fn has(lines: &[String], line: &str) -> bool {
    lines.iter().any(|l| l == line)
}

fn shown(out: &Output, lines: &[String], t: &Transcript) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}\n--- server\n{}",
        out.status.code(),
        lines.join("\n"),
        String::from_utf8_lossy(&out.stderr),
        t.render()
    )
}

/// How the account authenticates.
#[derive(Clone, Copy)]
enum Auth {
    /// HMAC both ways: every message carries `x-syncml-hmac`, in and out.
    Hmac,
    /// Basic from the client, MD5 digest from the server, which also signs package 0.
    Digest,
}

/// A server with the one account `srv1`.
fn server(auth: Auth, script: Script) -> TestServer {
    let account = match auth {
        Auth::Hmac => Account::new("srv1")
            .client_hmac("dev", "devpw", b"n-1")
            .server_cred(AuthScheme::None, "srv1", "srvpw", b"s-1"),
        Auth::Digest => Account::new("srv1")
            .client_basic("dev", "devpw")
            .server_cred(AuthScheme::Md5Digest, "srv1", "srvpw", b"s-1"),
    };
    TestServer::start(vec![account], script).expect("test server starts")
}

/// The factory's bootstrap of `srv1` at the server's address, written to `dir`.
fn bootstrap(server: &TestServer, auth: Auth, dir: &Path) -> PathBuf {
    let url = server.url("srv1");
    let (client, server_cred) = match auth {
        Auth::Hmac => (
            cred(AuthScheme::Hmac, "dev", "devpw", b"n-1"),
            cred(AuthScheme::Hmac, "srv1", "srvpw", b"s-1"),
        ),
        Auth::Digest => (
            cred(AuthScheme::Basic, "dev", "devpw", b""),
            cred(AuthScheme::Md5Digest, "srv1", "srvpw", b"s-1"),
        ),
    };
    let spec = account("srv1", &url, Some(client), Some(server_cred));
    let path = dir.join("bootstrap.xml");
    std::fs::write(&path, spec.bootstrap_message()).expect("bootstrap written");
    path
}

/// The first boot of a device in `dir`: provisioned with `bootstrap` as at the factory,
/// its tree kept in `tree.bin`, then a session it starts. Its output, the server's
/// transcript so far, and both for a failure message.
fn factory_boot(
    server: &TestServer,
    bootstrap: &Path,
    dir: &Path,
) -> (Vec<String>, Transcript, String) {
    let args = [
        "--account",
        "srv1",
        "--flash",
        "tree.bin",
        "--bootstrap",
        bootstrap.to_str().expect("UTF-8 path"),
    ];
    let (out, lines) = run_c(&args, dir);
    let t = server.transcript();
    let why = shown(&out, &lines, &t);
    assert!(out.status.success(), "{why}");
    (lines, t, why)
}

/// Every one of the `exchanges` HTTP requests and replies carried `x-syncml-hmac`.
fn assert_hmac_both_ways(lines: &[String], exchanges: usize, why: &str) {
    let http: Vec<&String> = lines.iter().filter(|l| l.starts_with("http: ")).collect();
    assert_eq!(http.len(), exchanges, "{why}");
    assert!(
        http.iter()
            .all(|l| l.contains(" bytes +hmac -> 200, ") && l.ends_with(" bytes +hmac")),
        "{why}"
    );
}

#[test]
fn a_c_device_is_provisioned_runs_a_session_and_another_after_a_restart() {
    let script = Script::new()
        .package([
            Cmd::get("./DevDetail/FwV").label("fwv"),
            Cmd::replace("./CDMA/NAM/0/HOME_SID", "4100").label("sid"),
            Cmd::exec("./CDMA/SPASM/Validate")
                .data("A1B2")
                .correlator("c-7")
                .label("validate"),
            Cmd::confirm("MINDT=5", "Apply the new home system?").label("confirm"),
            Cmd::text_input("MAXLEN=8&IT=N", "Home SID").label("typed"),
            Cmd::single_choice("", "Roaming", &["home only", "automatic", "any"]).label("choice"),
        ])
        .package([
            Cmd::get("./CDMA/NAM/0/HOME_SID").label("sid-after"),
            Cmd::get("./DevInfo/DevId").label("devid"),
        ])
        .next_session()
        .package([
            Cmd::get("./DevInfo/Mod").label("model"),
            Cmd::replace("./CDMA/NAM/0/HOME_NID", "12").label("nid"),
            Cmd::replace("./DevDetail/FwV", "forged").label("fwv-write"),
        ]);
    let server = server(Auth::Hmac, script);
    let dir = scratch("restart");
    let bootstrap = bootstrap(&server, Auth::Hmac, &dir);

    // First boot: provisioned as at the factory, then a session the device starts.
    let (lines, t, why) = factory_boot(&server, &bootstrap, &dir);
    for line in [
        "open: ok",
        "check a missing node is 404: ok",
        "check NULL with a length is refused: ok",
        "check a permanent node is not deleted: ok",
        "check storage too small is refused: ok",
        "check unknown codes have a name: ok",
        "handler read DevDetail/FwV",
        "handler write CDMA/NAM/0/HOME_SID = \"4100\" by srv1",
        "handler exec CDMA/SPASM/Validate data=\"A1B2\" correlator=c-7 by srv1",
        "ui confirm \"Apply the new home system?\" -> yes",
        "ui text-input \"Home SID\" -> \"4100\"",
        "ui single-choice \"Roaming\" [1:home only] [2:automatic] [3:any] -> 2",
        "session client-initiated: ok, 3 messages sent",
        "node ./DevDetail/FwV = \"BB-7.2.1\"",
        "node ./CDMA/NAM/0/HOME_SID = \"4100\"",
        "node ./DMAcc/srv1/AppAddr/1/AddrType = \"URI\"",
        "done: 0 failures",
    ] {
        assert!(has(&lines, line), "missing {line:?}\n{why}");
    }
    assert!(
        lines.iter().any(|l| l.starts_with("bootstrap: ok, ")),
        "{why}"
    );
    assert_hmac_both_ways(&lines, 3, &why);
    assert_eq!(t.results_for("fwv")[0].data_str(), "BB-7.2.1", "{why}");
    for label in ["sid", "validate", "confirm", "typed", "choice"] {
        assert_eq!(t.status(label), Some(200), "{label}\n{why}");
    }
    assert_eq!(t.results_for("sid-after")[0].data_str(), "4100", "{why}");
    assert_eq!(
        t.results_for("devid")[0].data_str(),
        "MEID:A0000012345678",
        "{why}"
    );
    assert_eq!(t.sessions().len(), 1, "{why}");
    assert_eq!(t.sessions()[0].state, SessionState::Completed, "{why}");

    // A restart: the account, DevInfo and the nonces come back from flash, no bootstrap.
    let args = ["--account", "srv1", "--flash", "tree.bin"];
    let (out, lines) = run_c(&args, &dir);
    let t = server.finish();
    let why = shown(&out, &lines, &t);
    assert!(out.status.success(), "{why}");
    for line in [
        "flash: restored from tree.bin",
        "handler write CDMA/NAM/0/HOME_NID = \"12\" by srv1",
        "done: 0 failures",
    ] {
        assert!(has(&lines, line), "missing {line:?}\n{why}");
    }
    // The last server message of the first session handed out no fresh nonce, so the
    // server's first MAC of this one is accepted at once: no extra challenge round.
    assert!(
        has(&lines, "session client-initiated: ok, 2 messages sent"),
        "{why}"
    );
    assert_hmac_both_ways(&lines, 2, &why);
    assert!(!lines.iter().any(|l| l.starts_with("bootstrap")), "{why}");
    assert_eq!(t.sessions().len(), 2, "{why}");
    assert!(t.sessions().iter().all(|s| s.authenticated), "{why}");
    assert_eq!(t.sessions()[1].state, SessionState::Completed, "{why}");
    assert_eq!(t.results_for("model")[0].data_str(), "EH-100", "{why}");
    assert_eq!(t.status("nid"), Some(200), "{why}");
    // A value the C handler keeps and has no write callback for: refused.
    assert_eq!(t.status("fwv-write"), Some(405), "{why}");
    assert!(t.violations().is_empty(), "{:#?}\n{why}", t.violations());
}

#[test]
fn a_package_0_starts_the_session_it_names_once_the_user_agrees() {
    let script = Script::new()
        .package([Cmd::get("./DevInfo/Mod").label("model")])
        .next_session()
        .package([
            Cmd::get("./DevInfo/Man").label("man"),
            Cmd::display("MINDT=2", "Your phone is being updated").label("shown"),
        ]);
    let server = server(Auth::Hmac, script);
    let dir = scratch("package0");
    let bootstrap = bootstrap(&server, Auth::Hmac, &dir);

    // First boot: provisioned, and a session the device starts. Its last server message
    // hands out no fresh nonce, so the nonces both ends keep still agree afterwards.
    let (lines, t, why) = factory_boot(&server, &bootstrap, &dir);
    assert!(
        has(&lines, "session client-initiated: ok, 2 messages sent"),
        "{why}"
    );
    assert_hmac_both_ways(&lines, 2, &why);
    assert_eq!(t.sessions().len(), 1, "{why}");
    assert!(t.sessions()[0].authenticated, "{why}");
    assert_eq!(t.results_for("model")[0].data_str(), "EH-100", "{why}");

    // Then a package 0, signed with the server nonce the device kept from that session,
    // starts an HMAC session at once: no resynchronisation, no extra challenge round.
    let pkg0 = server
        .package0("srv1", UiMode::UserInteraction, 0x0C0A)
        .expect("package 0");
    std::fs::write(dir.join("pkg0.bin"), pkg0).expect("package 0 written");
    let args = [
        "--account",
        "srv1",
        "--flash",
        "tree.bin",
        "--notification",
        "pkg0.bin",
    ];
    let (out, lines) = run_c(&args, &dir);
    let t = server.finish();
    let why = shown(&out, &lines, &t);
    assert!(out.status.success(), "{why}");
    for line in [
        "ui asked: may srv1 start a session? yes",
        "package 0: ok, account srv1, session 0C0A, ui mode 3",
        "ui display \"Your phone is being updated\" -> yes",
        "session server-initiated: ok, 2 messages sent",
        "done: 0 failures",
    ] {
        assert!(has(&lines, line), "missing {line:?}\n{why}");
    }
    assert_hmac_both_ways(&lines, 2, &why);
    assert_eq!(t.sessions().len(), 2, "{why}");
    assert!(t.sessions().iter().all(|s| s.authenticated), "{why}");
    assert_eq!(t.sessions()[1].session_id, "C0A", "{why}");
    assert_eq!(t.sessions()[1].state, SessionState::Completed, "{why}");
    let alert = t
        .client_commands()
        .iter()
        .find(|c| c.session == 1)
        .expect("the device's first command of the second session");
    assert_eq!(alert.alert, Some(1200), "{why}");
    assert_eq!(
        t.results_for("man")[0].data_str(),
        "Example Handsets",
        "{why}"
    );
    assert_eq!(t.status("shown"), Some(200), "{why}");
    assert!(t.violations().is_empty(), "{:#?}\n{why}", t.violations());
}

#[test]
fn a_forged_package_0_starts_nothing_from_c() {
    let server = server(
        Auth::Digest,
        Script::new().package([Cmd::get("./DevInfo/Man")]),
    );
    let dir = scratch("forged");
    let bootstrap = bootstrap(&server, Auth::Digest, &dir);
    let mut pkg0 = server
        .package0("srv1", UiMode::Background, 0x0BAD)
        .expect("package 0");
    // One bit of the digest flipped.
    pkg0[3] ^= 0x01;
    std::fs::write(dir.join("pkg0.bin"), pkg0).expect("package 0 written");
    let args = [
        "--account",
        "srv1",
        "--bootstrap",
        bootstrap.to_str().expect("UTF-8 path"),
        "--notification",
        "pkg0.bin",
    ];
    let (out, lines) = run_c(&args, &dir);
    let t = server.finish();
    let why = shown(&out, &lines, &t);
    assert_eq!(out.status.code(), Some(1), "{why}");
    assert!(
        has(
            &lines,
            "error: package 0: -13 (package 0 forged, truncated or not for this device)"
        ),
        "{why}"
    );
    assert!(!lines.iter().any(|l| l.starts_with("http: ")), "{why}");
    assert!(t.sessions().is_empty(), "{why}");
}
