//! `iotadm package` with public-key signatures, run as a user would: packages signed with
//! Ed25519 and ECDSA P-256 keys made by imgtool (2.5.0, from `scripts/peers-venv.sh`) and,
//! where it is installed, OpenSSL; `iotadm package verify` on those packages and on MCUboot
//! images signed by imgtool, under the right key (exit 0) and under others (a failing exit
//! with one line on standard error).
//!
//! Without imgtool these tests fail, unless `IOTADM_ALLOW_MISSING_PEERS` is set, in which
//! case they print why and pass.

#[path = "../../tests/common/peers.rs"]
mod peers;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use iotadm::firmware::{AuthKind, PackageHeader};

fn imgtool() -> Option<PathBuf> {
    peers::python_peer("imgtool")
}

fn openssl_present() -> bool {
    Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn scratch(name: &str) -> PathBuf {
    peers::peer_scratch("cli-package").join(name)
}

fn tool(program: &Path, args: &[&str]) -> Vec<u8> {
    let args: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
    peers::run_peer(program, &args)
}

fn iotadm(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_iotadm"))
        .args(args)
        .output()
        .expect("run iotadm")
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A private key and its public key, both PEM files.
struct Key {
    private: PathBuf,
    public: PathBuf,
}

fn imgtool_key(imgtool: &Path, kind: &str) -> Key {
    let private = scratch("key.pem");
    let public = scratch("pub.pem");
    tool(imgtool, &["keygen", "-k", p(&private), "-t", kind]);
    tool(
        imgtool,
        &["getpub", "-k", p(&private), "-e", "pem", "-o", p(&public)],
    );
    Key { private, public }
}

fn openssl_key(args: &[&str]) -> Key {
    let private = scratch("key.pem");
    let public = scratch("pub.pem");
    let mut all = args.to_vec();
    all.extend_from_slice(&["-out", p(&private)]);
    tool(Path::new("openssl"), &all);
    tool(
        Path::new("openssl"),
        &["pkey", "-in", p(&private), "-pubout", "-out", p(&public)],
    );
    Key { private, public }
}

fn succeeds(out: &Output) {
    assert!(
        out.status.success(),
        "iotadm failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A failing exit with one line on standard error that contains `reason`.
fn fails_with(out: &Output, reason: &str) {
    assert!(!out.status.success(), "iotadm accepted it");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err:?}");
    assert!(err.contains(reason), "{reason:?} not in {err:?}");
}

fn build(key: &Path, payload: &Path, out: &Path) -> Output {
    iotadm(&[
        "package",
        "--model",
        "IOTA-1",
        "--hw-id",
        "rev-c",
        "--to-code",
        "8",
        "--to-version",
        "8.0.1",
        "--key",
        p(key),
        "--payload",
        p(payload),
        "-o",
        p(out),
    ])
}

#[test]
fn packages_signed_with_either_kind_verify_under_their_key_only() {
    let Some(imgtool) = imgtool() else { return };
    let mut keys = vec![
        (imgtool_key(&imgtool, "ed25519"), AuthKind::Ed25519),
        (
            imgtool_key(&imgtool, "ecdsa-p256"),
            AuthKind::EcdsaP256Sha256,
        ),
    ];
    if openssl_present() {
        keys.push((
            openssl_key(&["genpkey", "-algorithm", "ed25519"]),
            AuthKind::Ed25519,
        ));
        // SEC1 `EC PRIVATE KEY`, after an `EC PARAMETERS` block.
        keys.push((
            openssl_key(&["ecparam", "-genkey", "-name", "prime256v1"]),
            AuthKind::EcdsaP256Sha256,
        ));
        keys.push((
            openssl_key(&[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
            ]),
            AuthKind::EcdsaP256Sha256,
        ));
    } else {
        eprintln!("openssl is not installed: only imgtool's keys are tried");
    }
    let payload = scratch("image.bin");
    let image: Vec<u8> = (0..6000u32).map(|i| (i * 13) as u8).collect();
    std::fs::write(&payload, &image).unwrap();

    let mut packages = Vec::new();
    for (key, kind) in &keys {
        let out = scratch("update.pkg");
        succeeds(&build(&key.private, &payload, &out));
        let bytes = std::fs::read(&out).unwrap();
        let header = PackageHeader::parse(&bytes).unwrap();
        assert_eq!(header.auth_kind(), *kind);
        assert_eq!(header.authenticator().len(), 64);
        assert_eq!(&bytes[header.len()..], &image[..]);
        for with in [&key.private, &key.public] {
            let v = iotadm(&["package", "verify", "--key", p(with), p(&out)]);
            succeeds(&v);
            assert!(String::from_utf8_lossy(&v.stdout).contains("update package to 8 (8.0.1)"));
        }
        packages.push(out);
    }
    // Every package fails under every other key, of either kind.
    for (i, package) in packages.iter().enumerate() {
        for (j, (key, _)) in keys.iter().enumerate() {
            if i != j {
                let v = iotadm(&["package", "verify", "--key", p(&key.public), p(package)]);
                fails_with(&v, "authenticator does not verify");
            }
        }
    }
    // A flipped payload byte breaks the payload hash.
    let mut bytes = std::fs::read(&packages[0]).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let damaged = scratch("damaged.pkg");
    std::fs::write(&damaged, &bytes).unwrap();
    let v = iotadm(&[
        "package",
        "verify",
        "--key",
        p(&keys[0].0.public),
        p(&damaged),
    ]);
    fails_with(&v, "payload hash mismatch");
}

#[test]
fn mcuboot_images_verify_under_their_key_only() {
    let Some(imgtool) = imgtool() else { return };
    let ed = imgtool_key(&imgtool, "ed25519");
    let ec = imgtool_key(&imgtool, "ecdsa-p256");
    let mut images = Vec::new();
    for key in [&ed, &ec] {
        let out = scratch("app.signed.bin");
        let image = peers::imgtool_sign_with(
            &key.private,
            &[0x5A; 4096],
            &[
                "--align",
                "4",
                "--version",
                "1.2.3+4",
                "--slot-size",
                "0x10000",
                "--security-counter",
                "5",
            ],
        );
        std::fs::write(&out, image).unwrap();
        for with in [&key.private, &key.public] {
            let v = iotadm(&["package", "verify", "--key", p(with), p(&out)]);
            succeeds(&v);
            let said = String::from_utf8_lossy(&v.stdout);
            assert!(
                said.contains("MCUboot image 1.2.3+4, security counter 5 verifies"),
                "{said}"
            );
        }
        images.push(out);
    }
    fails_with(
        &iotadm(&["package", "verify", "--key", p(&ec.public), p(&images[0])]),
        "not signed with a known key",
    );
    fails_with(
        &iotadm(&["package", "verify", "--key", p(&ed.public), p(&images[1])]),
        "not signed with a known key",
    );
    let mut bytes = std::fs::read(&images[1]).unwrap();
    bytes[0x200 + 100] ^= 1;
    let damaged = scratch("damaged.bin");
    std::fs::write(&damaged, &bytes).unwrap();
    fails_with(
        &iotadm(&["package", "verify", "--key", p(&ec.public), p(&damaged)]),
        "image hash mismatch",
    );
}

#[test]
fn bad_keys_and_files_are_refused_in_one_line() {
    let junk = scratch("junk.bin");
    std::fs::write(&junk, b"neither kind of file").unwrap();
    let not_a_key = scratch("not-a-key.pem");
    std::fs::write(&not_a_key, "hello\n").unwrap();
    fails_with(
        &iotadm(&["package", "verify", "--key", p(&not_a_key), p(&junk)]),
        "iotadm package verify: ",
    );
    // An HMAC package still builds with --key-hex; a key must be given, and only one.
    let payload = scratch("image.bin");
    std::fs::write(&payload, b"image").unwrap();
    let out = scratch("update.pkg");
    let hmac = |extra: &[&str]| {
        let mut args = vec![
            "package",
            "--model",
            "IOTA-1",
            "--to-code",
            "2",
            "--to-version",
            "2",
            "--payload",
            p(&payload),
            "-o",
            p(&out),
        ];
        args.extend_from_slice(extra);
        iotadm(&args)
    };
    succeeds(&hmac(&["--key-hex", "00112233"]));
    assert_eq!(
        PackageHeader::parse(&std::fs::read(&out).unwrap())
            .unwrap()
            .auth_kind(),
        AuthKind::HmacSha256
    );
    assert!(!hmac(&[]).status.success());
    assert!(!hmac(&["--key-hex", "00", "--key", p(&not_a_key)])
        .status
        .success());
    fails_with(&hmac(&["--key", p(&not_a_key)]), "no PEM private key");
    if let Some(imgtool) = imgtool() {
        let key = imgtool_key(&imgtool, "ed25519");
        fails_with(
            &iotadm(&["package", "verify", "--key", p(&key.public), p(&junk)]),
            "neither an iotadm update package nor an MCUboot image",
        );
    }
}
