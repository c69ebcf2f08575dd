//! The C interface from C: builds the static library (`ffi/`, for the host) and the C
//! host program `ffi/examples/c-host/host.c` with `gcc -std=c99 -Wall -Wextra -Werror`,
//! and runs it against `iotadm serve` on 127.0.0.1, the scripted test server as a C
//! integrator runs it, with the scripts in `examples/scripts/`. The program reaches iotadm
//! only through `iotadm.h`: its own flash, handlers, user and HTTP client. The server's
//! verdict (its exit status, summary and transcript) judges the sessions; the program's
//! output shows what its callbacks saw.

#[path = "common/serve.rs"]
mod serve;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serve::Serve;

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

/// The `iotadm` tool of this workspace, built once per test run. Cargo gives a test the
/// path of its own package's binaries only, so the test builds `iotadm-host`'s with the
/// profile and target directory this test was built with: the binary lands beside this
/// one's `deps` directory, where Cargo puts it for any build of the workspace. (Cargo has
/// released the directory's lock before tests run.)
fn iotadm() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let exe = std::env::current_exe().expect("the test's own path");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("tests run from <target>/<profile>/deps");
        let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") | None => "dev",
            Some(other) => other,
        };
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--quiet", "-p", "iotadm-host", "--bin", "iotadm"])
            .args(["--profile", profile, "--manifest-path"])
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building iotadm failed");
        profile_dir.join("iotadm")
    })
}

/// A script of `examples/scripts/`.
fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/scripts")
        .join(name)
}

/// A scratch directory for one test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = ffi_dir().join("target/c-host").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

/// `iotadm serve` running a script in a test's directory, and where it writes its files.
struct Served {
    serve: Serve,
    dir: PathBuf,
}

/// What `iotadm serve` said when it stopped, and the transcript it wrote.
struct Verdict {
    serve: serve::Verdict,
    transcript: String,
}

/// What serve said is read as the verdict's own.
impl std::ops::Deref for Verdict {
    type Target = serve::Verdict;

    fn deref(&self) -> &serve::Verdict {
        &self.serve
    }
}

impl Served {
    /// Starts `iotadm serve --script <script> --transcript transcript.xml [extra]` in `dir`
    /// and reads up to the bootstrap it writes there.
    fn start(script_name: &str, dir: &Path, extra: &[&str]) -> Served {
        let mut args = vec![
            "--script".into(),
            script(script_name).into_os_string(),
            "--transcript".into(),
            "transcript.xml".into(),
        ];
        args.extend(extra.iter().map(Into::into));
        let mut serve = Serve::start(iotadm(), &args, dir);
        let listening = serve.wait_for("listening on ");
        assert!(
            listening.starts_with("listening on http://127.0.0.1:"),
            "{listening}"
        );
        serve.wait_for("bootstrap of srv1 written to bootstrap.xml");
        Served {
            serve,
            dir: dir.to_path_buf(),
        }
    }

    /// Reads the lines serve prints until one starts with `prefix`; that line.
    fn wait_for(&mut self, prefix: &str) -> String {
        self.serve.wait_for(prefix)
    }

    /// The bootstrap serve wrote for `srv1`, with the address it listens on.
    fn bootstrap(&self) -> PathBuf {
        self.dir.join("bootstrap.xml")
    }

    /// Closes serve's standard input (the end with `--until-eof`), reads the rest of its
    /// output and waits for it.
    fn finish(self) -> Verdict {
        let serve = self.serve.finish();
        let transcript =
            std::fs::read_to_string(self.dir.join("transcript.xml")).unwrap_or_default();
        Verdict { serve, transcript }
    }
}

impl Verdict {
    /// Server messages (`server -> client`) and how many carried `x-syncml-hmac`.
    fn server_messages(&self) -> (usize, usize) {
        let heads: Vec<&str> = self
            .transcript
            .lines()
            .filter(|l| l.starts_with("=== server -> client"))
            .collect();
        let signed = heads.iter().filter(|l| l.contains("x-syncml-hmac")).count();
        (heads.len(), signed)
    }
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

fn shown(out: &Output, lines: &[String], serve: &[String]) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}\n--- iotadm serve\n{}",
        out.status.code(),
        lines.join("\n"),
        String::from_utf8_lossy(&out.stderr),
        serve.join("\n")
    )
}

/// The verdict for a failure message.
fn judged(v: &Verdict) -> String {
    format!(
        "--- iotadm serve: {}\n{}\n--- stderr\n{}\n--- transcript\n{}",
        v.status,
        v.lines.join("\n"),
        v.stderr,
        v.transcript
    )
}

/// The first boot of a device in `dir`: provisioned with the bootstrap serve wrote, as at
/// the factory, its tree kept in `tree.bin`, then a session it starts. Its output, and
/// that with serve's for a failure message.
fn factory_boot(serve: &Served) -> (Vec<String>, String) {
    let bootstrap = serve.bootstrap();
    let args = [
        "--account",
        "srv1",
        "--flash",
        "tree.bin",
        "--bootstrap",
        bootstrap.to_str().expect("UTF-8 path"),
    ];
    let (out, lines) = run_c(&args, &serve.dir);
    let why = shown(&out, &lines, &serve.serve.lines);
    assert!(out.status.success(), "{why}");
    (lines, why)
}

/// serve's verdict: exit 0, `result: ok`, no violation and every expectation of the
/// script met, with `sessions` sessions.
fn assert_ok(v: &Verdict, sessions: usize) {
    let why = judged(v);
    assert!(v.status.success(), "{why}");
    assert!(has(&v.lines, "result: ok"), "{why}");
    assert!(
        has(
            &v.lines,
            &format!("sessions: {sessions}, violations: 0, expectations not met: 0")
        ),
        "{why}"
    );
    assert!(!v.lines.iter().any(|l| l.starts_with("violation")), "{why}");
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
    let dir = scratch("restart");
    let mut serve = Served::start("c-host-restart.toml", &dir, &[]);

    // First boot: provisioned as at the factory, then a session the device starts.
    let (lines, why) = factory_boot(&serve);
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
    // The server saw the session end before it answered the device's last message.
    let ended = serve.wait_for("session ");
    assert!(
        ended.starts_with("session 1 ended: srv1, session id "),
        "{ended}"
    );
    assert!(
        ended.ends_with(", completed, authenticated, opened with alert 1201"),
        "{ended}"
    );

    // A restart: the account, DevInfo and the nonces come back from flash, no bootstrap.
    let args = ["--account", "srv1", "--flash", "tree.bin"];
    let (out, lines) = run_c(&args, &dir);
    let why = shown(&out, &lines, &serve.serve.lines);
    assert!(out.status.success(), "{why}");
    // serve ends by itself once the script's two sessions have ended.
    let v = serve.finish();
    let why = format!("{why}\n{}", judged(&v));
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

    // The server's verdict: both sessions completed and authenticated, every command got
    // what the script expects (the values read, 200 for the writes, the exec and the
    // user's answers, 405 for a value the C handler keeps and has no write callback
    // for), and no protocol violation.
    assert_ok(&v, 2);
    let second = v
        .lines
        .iter()
        .find(|l| l.starts_with("session 2 ended: "))
        .expect("the second session ended");
    assert!(
        second.ends_with(", completed, authenticated, opened with alert 1201"),
        "{why}"
    );
    for line in [
        "command fwv: Get status 200, results \"BB-7.2.1\"",
        "command sid: Replace status 200",
        "command validate: Exec status 200",
        "command confirm: Alert status 200",
        "command typed: Alert status 200",
        "command choice: Alert status 200",
        "command sid-after: Get status 200, results \"4100\"",
        "command devid: Get status 200, results \"MEID:A0000012345678\"",
        "command model: Get status 200, results \"EH-100\"",
        "command nid: Replace status 200",
        "command fwv-write: Replace status 405",
    ] {
        assert!(has(&v.lines, line), "missing {line:?}\n{why}");
    }
    // The transcript holds every exchange, each server message signed.
    assert_eq!(v.server_messages(), (5, 5), "{why}");
}

#[test]
fn a_package_0_starts_the_session_it_names_once_the_user_agrees() {
    let dir = scratch("package0");
    let mut serve = Served::start("c-host-package0.toml", &dir, &[]);

    // First boot: provisioned, and a session the device starts. Its last server message
    // hands out no fresh nonce, so the nonces both ends keep still agree afterwards.
    let (lines, why) = factory_boot(&serve);
    assert!(
        has(&lines, "session client-initiated: ok, 2 messages sent"),
        "{why}"
    );
    assert_hmac_both_ways(&lines, 2, &why);
    let ended = serve.wait_for("session ");
    assert!(ended.starts_with("session 1 ended: srv1, "), "{ended}");
    assert!(ended.contains(", completed, authenticated, "), "{ended}");

    // Then a package 0, signed with the server nonce the device kept from that session,
    // starts an HMAC session at once: no resynchronisation, no extra challenge round.
    // serve writes it once the first session has ended.
    serve.wait_for("package 0 of srv1 for session 0C0A written to pkg0.bin");
    let args = [
        "--account",
        "srv1",
        "--flash",
        "tree.bin",
        "--notification",
        "pkg0.bin",
    ];
    let (out, lines) = run_c(&args, &dir);
    let why = shown(&out, &lines, &serve.serve.lines);
    assert!(out.status.success(), "{why}");
    let v = serve.finish();
    let why = format!("{why}\n{}", judged(&v));
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

    // Both sessions authenticated and completed; the second is the one package 0 named,
    // opened with Alert 1200.
    assert_ok(&v, 2);
    assert!(
        has(
            &v.lines,
            "session 2 ended: srv1, session id C0A, completed, authenticated, \
             opened with alert 1200"
        ),
        "{why}"
    );
    for line in [
        "command model: Get status 200, results \"EH-100\"",
        "command man: Get status 200, results \"Example Handsets\"",
        "command shown: Alert status 200",
    ] {
        assert!(has(&v.lines, line), "missing {line:?}\n{why}");
    }
    assert_eq!(v.server_messages(), (4, 4), "{why}");
}

#[test]
fn a_forged_package_0_starts_nothing_from_c() {
    let dir = scratch("forged");
    let mut serve = Served::start("c-host-forged-package0.toml", &dir, &["--until-eof"]);
    serve.wait_for("package 0 of srv1 for session 0BAD written to pkg0.bin");
    let pkg0 = dir.join("pkg0.bin");
    let mut bytes = std::fs::read(&pkg0).expect("package 0 written");
    // One bit of the digest flipped.
    bytes[3] ^= 0x01;
    std::fs::write(&pkg0, bytes).expect("package 0 forged");
    let bootstrap = serve.bootstrap();
    let args = [
        "--account",
        "srv1",
        "--bootstrap",
        bootstrap.to_str().expect("UTF-8 path"),
        "--notification",
        "pkg0.bin",
    ];
    let (out, lines) = run_c(&args, &dir);
    let v = serve.finish();
    let why = format!("{}\n{}", shown(&out, &lines, &v.lines), judged(&v));
    assert_eq!(out.status.code(), Some(1), "{why}");
    assert!(
        has(
            &lines,
            "error: package 0: -13 (package 0 forged, truncated or not for this device)"
        ),
        "{why}"
    );
    assert!(!lines.iter().any(|l| l.starts_with("http: ")), "{why}");
    // The server never heard from the device.
    assert_ok(&v, 0);
    assert_eq!(v.server_messages(), (0, 0), "{why}");
}

/// FNV-1a, 32 bits, as the C program prints a streamed value's.
fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(2_166_136_261u32, |h, &b| {
        (h ^ u32::from(b)).wrapping_mul(16_777_619)
    })
}

#[test]
fn c_node_handlers_stream_large_values_check_values_and_hear_events() {
    let dir = scratch("handlers");
    let serve = Served::start("c-host-handlers.toml", &dir, &[]);
    let (lines, why) = factory_boot(&serve);
    let v = serve.finish();
    let why = format!("{why}\n{}", judged(&v));
    let prl = std::fs::read(script("prl.txt")).expect("the roaming list");
    assert!(prl.len() > 8192, "larger than the C program's messages");

    // The roaming list came in chunks, in order, and was kept whole.
    let begin = format!(
        "handler write-begin CDMA/NAM/0/PRL total={} by srv1",
        prl.len()
    );
    assert!(has(&lines, &begin), "{why}");
    let chunks: Vec<&String> = lines
        .iter()
        .filter(|l| l.starts_with("handler write-chunk CDMA/NAM/0/PRL "))
        .collect();
    assert!(chunks.len() >= 2, "{why}");
    assert!(
        chunks[0].starts_with("handler write-chunk CDMA/NAM/0/PRL offset=0 "),
        "{why}"
    );
    let kept = format!(
        "handler write-end CDMA/NAM/0/PRL kept {} bytes fnv1a={:08x}",
        prl.len(),
        fnv1a(&prl)
    );
    assert!(has(&lines, &kept), "{why}");
    for line in [
        // The check ran on the value the tree would have kept, and refused it.
        "handler check DMAcc/srv1/AppAddr/1/Addr = \"ftp://dm.example.com/\" by srv1: refused",
        "handler allow-read DMAcc/srv1/AppAuth/Client/AAuthName by srv1: refused",
        "handler allow-change DMAcc/srv1/AAuthPref by srv1: refused",
        "handler event added DMAcc/srv1/Name by srv1",
        "handler event atomic-started",
        "handler event added DMAcc/srv1/AppAddr/1/Port/1/PortNbr by srv1",
        "handler event atomic-ended",
        "handler event session-ended",
        "done: 0 failures",
    ] {
        assert!(has(&lines, line), "missing {line:?}\n{why}");
    }
    // The bootstrap's nodes were added by the device itself.
    assert!(
        has(
            &lines,
            "handler event added DMAcc/srv1/ServerID by the device"
        ),
        "{why}"
    );

    // The server got the list back whole, and every status the script expects.
    assert_ok(&v, 1);
    for line in [
        "command prl: Replace status 200".to_string(),
        "command addr: Replace status 400".to_string(),
        "command auth-name: Get status 425".to_string(),
        "command auth-pref: Replace status 405".to_string(),
        "command name: Add status 200".to_string(),
        "command atomic: Atomic status 200".to_string(),
        format!(
            "command prl-back: Get status 200, results of {} bytes",
            prl.len()
        ),
    ] {
        assert!(has(&v.lines, &line), "missing {line:?}\n{why}");
    }
    // The refused address left the one the bootstrap gave.
    let addr = v
        .lines
        .iter()
        .find(|l| l.starts_with("command addr-after: Get status 200, results \"http://127.0.0.1:"))
        .is_some();
    assert!(addr, "{why}");
}
