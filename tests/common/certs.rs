//! Certificates for the HTTPS tests, made at test time by the `openssl` command (a peer:
//! the certificates are what a real CA tool writes, not what this project thinks one is).
//! One set per test process: a trusted CA, server certificates from it for the loopback
//! address (valid, expired, for another name), a client certificate from it, and a server
//! certificate from a CA nobody trusts.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use iotadm_host::TlsIdentity;

/// The certificates of one test process.
pub struct Pki {
    /// Where the files are.
    pub dir: PathBuf,
    /// The trusted CA's certificate (PEM), and its file.
    pub ca: Vec<u8>,
    pub ca_file: PathBuf,
    /// For `127.0.0.1` and `localhost`, valid now.
    pub server: TlsIdentity,
    /// For `127.0.0.1` and `localhost`, valid only in January 2020.
    pub expired: TlsIdentity,
    /// For `dm.example.com` only, valid now.
    pub other_name: TlsIdentity,
    /// For `127.0.0.1` and `localhost`, valid now, issued by a CA that is not trusted.
    pub untrusted: TlsIdentity,
    /// A client certificate from the trusted CA (mutual TLS).
    pub client: TlsIdentity,
    /// A client certificate from the untrusted CA.
    pub untrusted_client: TlsIdentity,
}

/// This process's certificates, made on first use; `None` when `openssl` is missing and
/// `IOTADM_ALLOW_MISSING_PEERS` allows that.
pub fn pki() -> Option<&'static Pki> {
    static PKI: OnceLock<Option<Pki>> = OnceLock::new();
    PKI.get_or_init(|| {
        // Not `peers::system_peer`: the tests that make certificates load the peers module
        // through other paths, and a module may be loaded once.
        if Command::new("openssl").arg("version").output().is_err() {
            if std::env::var_os("IOTADM_ALLOW_MISSING_PEERS").is_none() {
                panic!("openssl is missing: install it (IOTADM_ALLOW_MISSING_PEERS=1 skips)");
            }
            eprintln!("skipped (IOTADM_ALLOW_MISSING_PEERS is set): openssl is not installed");
            return None;
        }
        Some(make())
    })
    .as_ref()
}

/// The extensions `openssl ca` gives each certificate it issues (`ext.cnf`).
const EXTENSIONS: &str = "\
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
[loopback]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
[other_name]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:dm.example.com
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
";

/// The CA settings of `openssl ca`, for a CA whose files are in `dir`.
fn ca_config(dir: &Path) -> String {
    format!(
        "[ca]\ndefault_ca = issuer\n[issuer]\ndatabase = {d}/index.txt\nserial = {d}/serial\n\
         new_certs_dir = {d}\ndefault_md = sha256\npolicy = anything\nunique_subject = no\n\
         [anything]\ncommonName = supplied\n",
        d = dir.display()
    )
}

/// The `openssl` tool, working in the directory of one set of certificates (its
/// `ext.cnf` there).
struct Openssl<'a> {
    root: &'a Path,
}

impl Openssl<'_> {
    fn run(&self, args: &[&str]) {
        let out = Command::new("openssl").args(args).output().unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `openssl req` for a new P-256 key written to `key`, with the subject `name`, its
    /// request or certificate written to `out`; `extra` says which.
    fn req(&self, key: &Path, out: &Path, name: &str, extra: &[&str]) {
        let subject = format!("/CN={name}");
        let mut args = vec!["req"];
        args.extend_from_slice(extra);
        args.extend([
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            path(key),
            "-out",
            path(out),
            "-subj",
            &subject,
        ]);
        self.run(&args);
    }

    /// The extensions file every certificate takes its section from.
    fn extensions(&self) -> PathBuf {
        self.root.join("ext.cnf")
    }
}

/// A certificate authority made by `openssl req -x509` (P-256), issuing with `openssl ca`.
struct Ca {
    dir: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

impl Ca {
    fn new(openssl: &Openssl<'_>, name: &str) -> Ca {
        let dir = openssl.root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("index.txt"), "").unwrap();
        std::fs::write(dir.join("serial"), "1000\n").unwrap();
        std::fs::write(dir.join("ca.cnf"), ca_config(&dir)).unwrap();
        let (cert, key) = (dir.join("ca.pem"), dir.join("ca.key"));
        let ext = openssl.extensions();
        let extra = [
            "-x509",
            "-days",
            "3",
            "-config",
            path(&ext),
            "-extensions",
            "ca",
        ];
        openssl.req(&key, &cert, name, &extra);
        Ca { dir, cert, key }
    }

    /// A new key and a certificate for it with the extensions of `section`; `dates` are
    /// `openssl ca`'s `-startdate` and `-enddate`, or two days from now.
    fn issue(
        &self,
        openssl: &Openssl<'_>,
        name: &str,
        section: &str,
        dates: Option<(&str, &str)>,
    ) -> TlsIdentity {
        let root = openssl.root;
        let (key, csr, cert) = (
            root.join(format!("{name}.key")),
            root.join(format!("{name}.csr")),
            root.join(format!("{name}.pem")),
        );
        let (config, ext) = (self.dir.join("ca.cnf"), openssl.extensions());
        openssl.req(&key, &csr, name, &["-new"]);
        let mut args = vec![
            "ca",
            "-batch",
            "-notext",
            "-config",
            path(&config),
            "-cert",
            path(&self.cert),
            "-keyfile",
            path(&self.key),
            "-in",
            path(&csr),
            "-out",
            path(&cert),
            "-extfile",
            path(&ext),
            "-extensions",
            section,
        ];
        match dates {
            Some((start, end)) => args.extend(["-startdate", start, "-enddate", end]),
            None => args.extend(["-days", "2"]),
        }
        openssl.run(&args);
        TlsIdentity {
            chain_pem: std::fs::read(&cert).unwrap(),
            key_pem: std::fs::read(&key).unwrap(),
        }
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 temporary path")
}

fn make() -> Pki {
    let dir = std::env::temp_dir().join(format!("iotadm-pki-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("ext.cnf"), EXTENSIONS).unwrap();
    let openssl = Openssl { root: &dir };
    let trusted = Ca::new(&openssl, "iotadm-test-ca");
    let rogue = Ca::new(&openssl, "iotadm-rogue-ca");
    Pki {
        ca: std::fs::read(&trusted.cert).unwrap(),
        ca_file: trusted.cert.clone(),
        server: trusted.issue(&openssl, "server", "loopback", None),
        expired: trusted.issue(
            &openssl,
            "expired",
            "loopback",
            Some(("20200101000000Z", "20200201000000Z")),
        ),
        other_name: trusted.issue(&openssl, "other-name", "other_name", None),
        untrusted: rogue.issue(&openssl, "untrusted", "loopback", None),
        client: trusted.issue(&openssl, "client", "client", None),
        untrusted_client: rogue.issue(&openssl, "untrusted-client", "client", None),
        dir,
    }
}
