//! `iotadm package`: builds an update package (header, authenticator, payload) from a
//! firmware image, in the format of `docs/update-package.md`, authenticated with an HMAC key
//! or signed with an Ed25519 or ECDSA P-256 private key; `iotadm package verify` checks a
//! package or an MCUboot image under a public key, with the device's own verifiers.

use std::path::PathBuf;

use iotadm::firmware::package::{payload_digest, ImageDigest};
use iotadm::firmware::{PackageBuilder, PackageHeader};
use iotadm_host::package::{build_with_key, verifier_from_pem, verify, SigningKey, Verified};

/// `iotadm package`: the build options, or a subcommand.
#[derive(clap::Args, Debug, Clone)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub(crate) struct PackageCommand {
    #[command(subcommand)]
    pub(crate) command: Option<PackageSub>,
    #[command(flatten)]
    pub(crate) build: Option<PackageArgs>,
}

/// The subcommands of `iotadm package`.
#[derive(clap::Subcommand, Debug, Clone)]
pub(crate) enum PackageSub {
    /// Check an update package or an MCUboot image (as imgtool signs it) under a key: exit 0
    /// when it verifies.
    Verify(VerifyArgs),
}

/// Arguments of `iotadm package verify`.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct VerifyArgs {
    /// The key, PEM: a public key (as `imgtool getpub -e pem` or `openssl pkey -pubout`
    /// write it) or a private key (Ed25519 or ECDSA P-256).
    #[arg(long)]
    pub(crate) key: PathBuf,
    /// The update package or MCUboot image.
    pub(crate) image: PathBuf,
}

/// Arguments of `iotadm package` that build a package.
#[derive(clap::Args, Debug, Clone)]
#[command(group = clap::ArgGroup::new("auth").required(true).args(["key_hex", "key"]))]
pub(crate) struct PackageArgs {
    /// Target device model (up to 32 bytes).
    #[arg(long)]
    pub(crate) model: String,
    /// Target hardware id (up to 32 bytes); empty for any hardware of the model.
    #[arg(long, default_value = "")]
    pub(crate) hw_id: String,
    /// Lowest running version code the package applies to.
    #[arg(long, default_value_t = 0)]
    pub(crate) from_min: u32,
    /// Highest running version code the package applies to.
    #[arg(long, default_value_t = u32::MAX)]
    pub(crate) from_max: u32,
    /// Version code after the update (must be higher than the running one).
    #[arg(long)]
    pub(crate) to_code: u32,
    /// Human-readable version after the update (FUMO PkgVersion, up to 16 bytes).
    #[arg(long)]
    pub(crate) to_version: String,
    /// The per-device(-model) HMAC-SHA256 key, in hex (1 to 64 bytes).
    #[arg(long)]
    pub(crate) key_hex: Option<String>,
    /// A PEM private key to sign the package with: Ed25519 or ECDSA P-256, PKCS#8 (as
    /// `imgtool keygen` and `openssl genpkey` write it) or SEC1 (`openssl ecparam -genkey`).
    #[arg(long, value_name = "FILE.pem")]
    pub(crate) key: Option<PathBuf>,
    /// The firmware image to wrap (for a delta package: the new image the patch gives).
    #[arg(long)]
    pub(crate) payload: PathBuf,
    /// Makes a delta package (format 2): the image the device runs, which `--patch`
    /// turns into `--payload`.
    #[arg(long, value_name = "OLD", requires = "patch")]
    pub(crate) delta_from: Option<PathBuf>,
    /// The detools sequential patch from `--delta-from` to `--payload` (`detools
    /// create_patch -t sequential -c none|crle|heatshrink`); checked to give `--payload`.
    #[arg(long, value_name = "PATCH", requires = "delta_from")]
    pub(crate) patch: Option<PathBuf>,
    /// Where to write the package.
    #[arg(short = 'o', long = "out")]
    pub(crate) out: PathBuf,
}

fn decode_hex(s: &str) -> Result<Vec<u8>, String> {
    let s = s.trim();
    if !s.len().is_multiple_of(2) {
        return Err("--key-hex: odd number of hex digits".into());
    }
    s.as_bytes()
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|p| u8::from_str_radix(p, 16).ok())
                .ok_or_else(|| format!("--key-hex: not hex: {:?}", String::from_utf8_lossy(pair)))
        })
        .collect()
}

/// Runs `iotadm package`: builds a package, or verifies one.
pub(crate) fn run(cmd: PackageCommand) -> Result<(), String> {
    match (cmd.command, cmd.build) {
        (Some(PackageSub::Verify(args)), _) => run_verify(&args),
        (None, Some(args)) => run_build(args),
        (None, None) => Err("give the build options (see --help) or a subcommand".into()),
    }
}

fn read_key(path: &std::path::Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Checks `args.image` under `args.key` and prints what verified.
fn run_verify(args: &VerifyArgs) -> Result<(), String> {
    let key = verifier_from_pem(&read_key(&args.key)?)
        .map_err(|e| format!("{}: {e}", args.key.display()))?;
    let file = std::fs::read(&args.image).map_err(|e| format!("{}: {e}", args.image.display()))?;
    let what = verify(&file, &key).map_err(|e| format!("{}: {e}", args.image.display()))?;
    match what {
        Verified::Package { to_code, to_name } => println!(
            "{}: update package to {to_code} ({to_name}) verifies",
            args.image.display()
        ),
        Verified::Mcuboot {
            version,
            security_counter,
        } => {
            let counter = security_counter
                .map(|c| format!(", security counter {c}"))
                .unwrap_or_default();
            println!(
                "{}: MCUboot image {version}{counter} verifies",
                args.image.display()
            );
        }
    }
    Ok(())
}

/// Builds the package described by `args` and writes it to `args.out`.
fn run_build(args: PackageArgs) -> Result<(), String> {
    if args.from_min > args.from_max {
        return Err(format!(
            "--from-min {} is above --from-max {}",
            args.from_min, args.from_max
        ));
    }
    let hmac_key = match &args.key_hex {
        Some(hex) => {
            let key = decode_hex(hex)?;
            if key.is_empty() || key.len() > 64 {
                return Err("--key-hex: the key must be 1 to 64 bytes".into());
            }
            Some(key)
        }
        None => None,
    };
    let signing_key = match &args.key {
        Some(path) => Some(
            SigningKey::from_pem(&read_key(path)?)
                .map_err(|e| format!("{}: {e}", path.display()))?,
        ),
        None => None,
    };
    let read = |path: &PathBuf| std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()));
    let image = read(&args.payload)?;
    let mut builder = PackageBuilder::new(&args.model, &args.hw_id)
        .from_versions(args.from_min, args.from_max)
        .to_version(args.to_code, &args.to_version);
    // The package's payload: the image, or the patch that gives it.
    let payload = match (&args.delta_from, &args.patch) {
        (Some(old_path), Some(patch_path)) => {
            let old = read(old_path)?;
            let patch = read(patch_path)?;
            let mut made = Vec::with_capacity(image.len());
            iotadm_host::delta::apply(&old, &mut &patch[..], &mut made)
                .map_err(|e| format!("{}: {e}", patch_path.display()))?;
            if made != image {
                return Err(format!(
                    "{}: applied to {} it does not give {}",
                    patch_path.display(),
                    old_path.display(),
                    args.payload.display()
                ));
            }
            let digest = |bytes: &[u8], path: &PathBuf| {
                ImageDigest::of(bytes).ok_or_else(|| format!("{}: too large", path.display()))
            };
            builder = builder.delta(digest(&old, old_path)?, digest(&image, &args.payload)?);
            patch
        }
        _ => image,
    };
    let package = match (hmac_key, signing_key) {
        (Some(key), _) => {
            let header = builder
                .header_hmac(&payload, &key)
                .map_err(|e| e.to_string())?;
            let mut package = Vec::with_capacity(header.len() + payload.len());
            package.extend_from_slice(&header);
            package.extend_from_slice(&payload);
            package
        }
        (None, Some(key)) => {
            let package = build_with_key(&builder, &payload, &key).map_err(|e| e.to_string())?;
            // Checked with the device's verifier before it leaves the tool.
            verify(&package, &key.verifier()?)?;
            package
        }
        (None, None) => return Err("give --key-hex or --key".into()),
    };
    // Read back what was built, so a bad field never leaves the tool.
    let parsed = PackageHeader::parse(&package).map_err(|e| e.to_string())?;
    debug_assert_eq!(parsed.payload_sha256(), payload_digest(&payload));
    std::fs::write(&args.out, &package).map_err(|e| format!("{}: {e}", args.out.display()))?;
    println!(
        "{}: {} bytes, {} {} -> {} ({}), payload {} bytes",
        args.out.display(),
        package.len(),
        args.model,
        args.hw_id,
        args.to_code,
        args.to_version,
        payload.len()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use iotadm::firmware::{AuthKind, HmacSha256Verifier, PackageVerifier};

    fn args(dir: &std::path::Path) -> PackageArgs {
        PackageArgs {
            model: "IOTA-1".into(),
            hw_id: "rev-c".into(),
            from_min: 3,
            from_max: 7,
            to_code: 8,
            to_version: "8.0.1".into(),
            key_hex: Some("00112233445566778899aabbccddeeff".into()),
            key: None,
            payload: dir.join("image.bin"),
            delta_from: None,
            patch: None,
            out: dir.join("update.pkg"),
        }
    }

    fn tempdir(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("iotadm-package-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("temp dir");
        d
    }

    #[test]
    fn builds_a_package_the_device_accepts() {
        let dir = tempdir("ok");
        let image: Vec<u8> = (0..5000u32).map(|i| (i * 7) as u8).collect();
        std::fs::write(dir.join("image.bin"), &image).expect("write image");
        run_build(args(&dir)).expect("package");
        let pkg = std::fs::read(dir.join("update.pkg")).expect("read package");
        let h = PackageHeader::parse(&pkg).expect("header");
        assert_eq!(h.model(), b"IOTA-1");
        assert_eq!(h.hardware_id(), b"rev-c");
        assert_eq!((h.from_min(), h.from_max(), h.to_code()), (3, 7, 8));
        assert_eq!(h.to_name(), b"8.0.1");
        assert_eq!(h.payload_len(), 5000);
        assert_eq!(&pkg[h.len()..], &image[..]);
        let key = decode_hex("00112233445566778899aabbccddeeff").expect("hex");
        let v = HmacSha256Verifier::new(&key).expect("key");
        assert!(v.verify(AuthKind::HmacSha256, h.signed_bytes(), h.authenticator()));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn refuses_bad_arguments() {
        let dir = tempdir("bad");
        std::fs::write(dir.join("image.bin"), b"img").expect("write image");
        let mut a = args(&dir);
        a.key_hex = Some("abc".into());
        assert!(run_build(a).unwrap_err().contains("odd"));
        let mut a = args(&dir);
        a.key_hex = Some("zz".into());
        assert!(run_build(a).unwrap_err().contains("not hex"));
        let mut a = args(&dir);
        a.from_min = 9;
        assert!(run_build(a).is_err());
        let mut a = args(&dir);
        a.to_version = "a version name that is far too long".into();
        assert!(run_build(a).unwrap_err().contains("too long"));
        let mut a = args(&dir);
        a.payload = dir.join("missing.bin");
        assert!(run_build(a).is_err());
        assert!(
            !dir.join("update.pkg").exists(),
            "nothing written on refusal"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
