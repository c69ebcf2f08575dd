//! Whole update packages, header and payload in one buffer, as a host builds them for a
//! server to deliver: the allocating counterparts of [`PackageBuilder`]'s header functions;
//! signing keys read from PEM files; and the check of a package or an MCUboot image under a
//! public key, made with the core's verifiers.

use iotadm::firmware::mcuboot::{self, ImageVersion};
use iotadm::firmware::package::{payload_digest, AuthKind, BuildError, PackageBuilder, SIGNED_LEN};
use iotadm::firmware::{
    Ed25519Verifier, P256Verifier, PackageError, PackageHeader, PackageVerifier, PublicKeyVerifier,
};

/// The whole package for `payload`, authenticated with HMAC-SHA256 under `key`.
pub fn build_hmac(
    builder: &PackageBuilder<'_>,
    payload: &[u8],
    key: &[u8],
) -> Result<Vec<u8>, BuildError> {
    let header = builder.header_hmac(payload, key)?;
    let mut out = Vec::with_capacity(header.len() + payload.len());
    out.extend_from_slice(&header);
    out.extend_from_slice(payload);
    Ok(out)
}

/// The whole package for `payload`, authenticated by `sign`, which receives the signed
/// bytes and must return exactly `auth_len` bytes of kind `kind` (a signature made by a
/// key the host holds, e.g. with imgtool or OpenSSL).
pub fn build_signed(
    builder: &PackageBuilder<'_>,
    payload: &[u8],
    kind: AuthKind,
    auth_len: usize,
    sign: impl FnOnce(&[u8]) -> Vec<u8>,
) -> Result<Vec<u8>, BuildError> {
    let len = u32::try_from(payload.len()).map_err(|_| BuildError::PayloadTooLarge)?;
    let signed = builder.signed_part(len, &payload_digest(payload), kind, auth_len)?;
    let auth = sign(&signed);
    if auth.len() != auth_len {
        return Err(BuildError::BadAuthenticator);
    }
    let mut out = Vec::with_capacity(SIGNED_LEN + auth_len + payload.len());
    out.extend_from_slice(&signed);
    out.extend_from_slice(&auth);
    out.extend_from_slice(payload);
    Ok(out)
}

/// A private key that signs packages: Ed25519, or ECDSA P-256 with SHA-256.
#[derive(Clone)]
pub enum SigningKey {
    /// An Ed25519 key.
    Ed25519(ed25519_dalek::SigningKey),
    /// An ECDSA P-256 key.
    P256(p256::ecdsa::SigningKey),
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Ed25519(_) => "SigningKey::Ed25519(<hidden>)",
            Self::P256(_) => "SigningKey::P256(<hidden>)",
        })
    }
}

/// The text of the first PEM block labelled `label` in `pem`, which may hold others (as
/// `openssl ecparam -genkey` writes the curve's parameters before the key).
fn pem_block<'a>(pem: &'a str, label: &str) -> Option<&'a str> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin)?;
    let stop = pem[start..].find(&end)? + start + end.len();
    Some(&pem[start..stop])
}

impl SigningKey {
    /// Reads a PEM private key: PKCS#8 (`PRIVATE KEY`, as `imgtool keygen -t ed25519` or
    /// `-t ecdsa-p256` and `openssl genpkey` write it) of an Ed25519 or P-256 key, or a
    /// SEC1 P-256 key (`EC PRIVATE KEY`, as `openssl ecparam -genkey` writes it).
    pub fn from_pem(pem: &str) -> Result<Self, String> {
        use ed25519_dalek::pkcs8::DecodePrivateKey as _;
        if let Some(block) = pem_block(pem, "PRIVATE KEY") {
            if let Ok(key) = ed25519_dalek::SigningKey::from_pkcs8_pem(block) {
                return Ok(Self::Ed25519(key));
            }
            return p256::SecretKey::from_pkcs8_pem(block)
                .map(|k| Self::P256(k.into()))
                .map_err(|_| "not a PKCS#8 Ed25519 or P-256 private key".into());
        }
        if let Some(block) = pem_block(pem, "EC PRIVATE KEY") {
            return p256::SecretKey::from_sec1_pem(block)
                .map(|k| Self::P256(k.into()))
                .map_err(|_| "not a SEC1 P-256 private key".into());
        }
        if pem.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
            return Err("encrypted private keys are not supported".into());
        }
        Err("no PEM private key (PRIVATE KEY or EC PRIVATE KEY)".into())
    }

    /// The authenticator kind this key makes.
    pub fn auth_kind(&self) -> AuthKind {
        match self {
            Self::Ed25519(_) => AuthKind::Ed25519,
            Self::P256(_) => AuthKind::EcdsaP256Sha256,
        }
    }

    /// The 64-byte package authenticator of `signed`: Ed25519, or ECDSA P-256 over its
    /// SHA-256 as `r || s`.
    pub fn sign(&self, signed: &[u8]) -> Vec<u8> {
        use ed25519_dalek::Signer as _;
        match self {
            Self::Ed25519(k) => k.sign(signed).to_bytes().to_vec(),
            Self::P256(k) => {
                let sig: p256::ecdsa::Signature = k.sign(signed);
                sig.to_bytes().to_vec()
            }
        }
    }

    /// The core's verifier for the public half of this key.
    pub fn verifier(&self) -> Result<PublicKeyVerifier, String> {
        match self {
            Self::Ed25519(k) => verifier_ed25519(&k.verifying_key()),
            Self::P256(k) => verifier_p256(k.verifying_key()),
        }
    }
}

fn verifier_ed25519(key: &ed25519_dalek::VerifyingKey) -> Result<PublicKeyVerifier, String> {
    Ed25519Verifier::new(key.as_bytes())
        .map(PublicKeyVerifier::Ed25519)
        .ok_or_else(|| "weak Ed25519 public key".into())
}

fn verifier_p256(key: &p256::ecdsa::VerifyingKey) -> Result<PublicKeyVerifier, String> {
    P256Verifier::new(key.to_sec1_point(false).as_bytes())
        .map(PublicKeyVerifier::P256)
        .ok_or_else(|| "unusable P-256 public key".into())
}

/// Reads the public key to verify with from a PEM file: a public key (`PUBLIC KEY`,
/// SubjectPublicKeyInfo, as `imgtool getpub -e pem` and `openssl pkey -pubout` write it)
/// or any private key [`SigningKey::from_pem`] reads. The result is the core's verifier,
/// so the host checks signatures with the device's code.
pub fn verifier_from_pem(pem: &str) -> Result<PublicKeyVerifier, String> {
    use ed25519_dalek::pkcs8::DecodePublicKey as _;
    if let Some(block) = pem_block(pem, "PUBLIC KEY") {
        if let Ok(key) = ed25519_dalek::VerifyingKey::from_public_key_pem(block) {
            return verifier_ed25519(&key);
        }
        return p256::ecdsa::VerifyingKey::from_public_key_pem(block)
            .map_err(|_| "not an Ed25519 or P-256 public key".to_string())
            .and_then(|k| verifier_p256(&k));
    }
    SigningKey::from_pem(pem)?.verifier()
}

/// The whole package for `payload`, signed with `key` (Ed25519 or ECDSA P-256).
pub fn build_with_key(
    builder: &PackageBuilder<'_>,
    payload: &[u8],
    key: &SigningKey,
) -> Result<Vec<u8>, BuildError> {
    build_signed(builder, payload, key.auth_kind(), 64, |signed| {
        key.sign(signed)
    })
}

/// What [`verify`] found in a file it accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verified {
    /// An iotadm update package: its target version code and name.
    Package {
        /// Version code after the update.
        to_code: u32,
        /// Human-readable version after the update.
        to_name: String,
    },
    /// An MCUboot image: its version and security counter.
    Mcuboot {
        /// The image version.
        version: ImageVersion,
        /// The protected security counter, if any.
        security_counter: Option<u32>,
    },
}

/// Verifies `file`, an iotadm update package or an MCUboot image, under `key` with the
/// core's own checks: for a package its framing, authenticator and payload hash (not the
/// device match, which needs a device); for an image everything
/// [`mcuboot::verify_image`] checks.
pub fn verify(file: &[u8], key: &PublicKeyVerifier) -> Result<Verified, String> {
    if file.starts_with(&iotadm::firmware::package::MAGIC) {
        let header = PackageHeader::parse(file).map_err(|e| e.to_string())?;
        if !key.verify(
            header.auth_kind(),
            header.signed_bytes(),
            header.authenticator(),
        ) {
            return Err(PackageError::BadAuthenticator.to_string());
        }
        let payload = &file[header.len()..];
        match payload.len().cmp(&(header.payload_len() as usize)) {
            std::cmp::Ordering::Less => return Err(PackageError::Truncated.to_string()),
            std::cmp::Ordering::Greater => return Err(PackageError::TooLong.to_string()),
            std::cmp::Ordering::Equal => {}
        }
        if payload_digest(payload) != header.payload_sha256() {
            return Err(PackageError::HashMismatch.to_string());
        }
        return Ok(Verified::Package {
            to_code: header.to_code(),
            to_name: String::from_utf8_lossy(header.to_name()).into_owned(),
        });
    }
    if file.starts_with(&mcuboot::IMAGE_MAGIC.to_le_bytes()) {
        let image = mcuboot::verify_image_bytes(file, &[key]).map_err(|e| e.to_string())?;
        return Ok(Verified::Mcuboot {
            version: image.version(),
            security_counter: image.security_counter(),
        });
    }
    Err("neither an iotadm update package nor an MCUboot image".into())
}
