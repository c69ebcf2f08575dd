//! Public-key verifiers for update packages and MCUboot images: Ed25519 (feature `ed25519`,
//! ed25519-dalek) and ECDSA P-256 with SHA-256 (feature `ecdsa-p256`, p256).
//!
//! A device holds only public keys, so a stolen device cannot sign an update for the others;
//! with HMAC ([`HmacSha256Verifier`](super::HmacSha256Verifier)) every device holds the
//! signing key. Each verifier checks package authenticators ([`PackageVerifier`]) of its own
//! [`AuthKind`] and refuses every other kind, and checks an MCUboot image's signature over
//! the image digest (`verify_digest`; with the feature `mcuboot` each is an `ImageKey` and
//! offers itself through `PackageVerifier::image_keys`). [`AnyVerifier`] lets a device
//! accept packages and images signed with any of several keys.

#[cfg(feature = "mcuboot")]
use super::mcuboot::ImageKey;
#[cfg(all(feature = "mcuboot", any(feature = "ed25519", feature = "ecdsa-p256")))]
use super::mcuboot::{tlv, MAX_KEY_INFO_LEN};
use super::package::{AuthKind, PackageVerifier};

/// DER `SubjectPublicKeyInfo` of an Ed25519 key up to the key bytes: SEQUENCE, the
/// algorithm (OID 1.3.101.112), BIT STRING of 33 bytes. The key's 32 bytes follow.
#[cfg(feature = "ed25519")]
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// DER `SubjectPublicKeyInfo` of a P-256 key up to the point: SEQUENCE, the algorithm
/// (id-ecPublicKey with the prime256v1 parameter), BIT STRING of 66 bytes. The uncompressed
/// point's 65 bytes follow.
#[cfg(feature = "ecdsa-p256")]
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// Length of an Ed25519 key's DER `SubjectPublicKeyInfo`.
pub const ED25519_SPKI_LEN: usize = 44;
/// Length of a P-256 key's DER `SubjectPublicKeyInfo` (uncompressed point).
pub const P256_SPKI_LEN: usize = 91;

/// Checks Ed25519 signatures under one public key.
///
/// Verification is strict: a signature whose `S` is not reduced, or whose `R` or key is of
/// small order, is refused, so a valid signature cannot be altered into another valid one.
#[cfg(feature = "ed25519")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ed25519Verifier {
    key: ed25519_dalek::VerifyingKey,
}

#[cfg(feature = "ed25519")]
impl Ed25519Verifier {
    /// A verifier for the 32-byte public key; `None` when the bytes are not a point of the
    /// curve or are a weak (small-order) key, which no signature should be trusted under.
    pub fn new(public_key: &[u8; 32]) -> Option<Self> {
        let key = ed25519_dalek::VerifyingKey::from_bytes(public_key).ok()?;
        (!key.is_weak()).then_some(Self { key })
    }

    /// The 32-byte public key.
    pub fn public_key(&self) -> &[u8; 32] {
        self.key.as_bytes()
    }

    /// The key as a DER `SubjectPublicKeyInfo`, the form imgtool hashes into an image's
    /// key hash.
    pub fn public_key_info(&self) -> [u8; ED25519_SPKI_LEN] {
        let mut out = [0u8; ED25519_SPKI_LEN];
        let (prefix, key) = out.split_at_mut(ED25519_SPKI_PREFIX.len());
        prefix.copy_from_slice(&ED25519_SPKI_PREFIX);
        key.copy_from_slice(self.key.as_bytes());
        out
    }

    /// True when `signature` (64 bytes) signs `message` under the key.
    pub fn verify_message(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(signature) = ed25519_dalek::Signature::from_slice(signature) else {
            return false;
        };
        self.key.verify_strict(message, &signature).is_ok()
    }

    /// True when `signature` (64 bytes) signs `digest` under the key, the digest itself
    /// being the signed message: what imgtool signs for an MCUboot image (unless asked for
    /// a "pure" signature over the whole image).
    pub fn verify_digest(&self, digest: &[u8; 32], signature: &[u8]) -> bool {
        self.verify_message(digest, signature)
    }
}

#[cfg(feature = "ed25519")]
impl PackageVerifier for Ed25519Verifier {
    fn verify(&self, kind: AuthKind, signed: &[u8], authenticator: &[u8]) -> bool {
        kind == AuthKind::Ed25519 && self.verify_message(signed, authenticator)
    }

    #[cfg(feature = "mcuboot")]
    fn image_keys<'s>(&'s self, keys: &mut dyn FnMut(&'s dyn ImageKey)) {
        keys(self);
    }
}

#[cfg(all(feature = "mcuboot", feature = "ed25519"))]
impl ImageKey for Ed25519Verifier {
    fn signature_tlv(&self) -> u16 {
        tlv::ED25519
    }

    fn public_key_info(&self) -> heapless::Vec<u8, MAX_KEY_INFO_LEN> {
        heapless::Vec::from_slice(&Self::public_key_info(self)).unwrap_or_default()
    }

    fn verify_digest(&self, digest: &[u8; 32], signature: &[u8]) -> bool {
        Self::verify_digest(self, digest, signature)
    }
}

/// Checks ECDSA P-256 signatures over SHA-256 digests under one public key.
///
/// Signatures with a high `S` are accepted, as MCUboot, imgtool and OpenSSL have them.
#[cfg(feature = "ecdsa-p256")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct P256Verifier {
    key: p256::ecdsa::VerifyingKey,
}

#[cfg(feature = "ecdsa-p256")]
impl P256Verifier {
    /// A verifier for a SEC1-encoded public key: 65 bytes uncompressed (`04 || x || y`) or
    /// 33 bytes compressed (`02`/`03 || x`). `None` when it is not a point of the curve.
    pub fn new(sec1_public_key: &[u8]) -> Option<Self> {
        p256::ecdsa::VerifyingKey::from_sec1_bytes(sec1_public_key)
            .ok()
            .map(|key| Self { key })
    }

    /// The key as an uncompressed SEC1 point (65 bytes).
    pub fn public_key(&self) -> [u8; 65] {
        let mut out = [0u8; 65];
        let point = self.key.to_sec1_point(false);
        if let Some(dst) = out.get_mut(..point.as_bytes().len()) {
            dst.copy_from_slice(point.as_bytes());
        }
        out
    }

    /// The key as a DER `SubjectPublicKeyInfo` (uncompressed point), the form imgtool
    /// hashes into an image's key hash.
    pub fn public_key_info(&self) -> [u8; P256_SPKI_LEN] {
        let mut out = [0u8; P256_SPKI_LEN];
        let (prefix, key) = out.split_at_mut(P256_SPKI_PREFIX.len());
        prefix.copy_from_slice(&P256_SPKI_PREFIX);
        key.copy_from_slice(&self.public_key());
        out
    }

    /// True when `signature`, raw `r || s` (64 bytes), signs the SHA-256 digest `digest`.
    pub fn verify_digest_raw(&self, digest: &[u8; 32], signature: &[u8]) -> bool {
        use p256::ecdsa::signature::hazmat::PrehashVerifier;
        p256::ecdsa::Signature::from_slice(signature)
            .is_ok_and(|sig| self.key.verify_prehash(digest, &sig).is_ok())
    }

    /// True when `signature`, in ASN.1 DER as imgtool writes it into an MCUboot image,
    /// signs the SHA-256 digest `digest`. Zero bytes after the DER value (imgtool's
    /// `--pad-sig`) are allowed; anything else after it is not.
    pub fn verify_digest(&self, digest: &[u8; 32], signature: &[u8]) -> bool {
        use p256::ecdsa::signature::hazmat::PrehashVerifier;
        // A P-256 signature's DER SEQUENCE is under 128 bytes: its length is one byte.
        let Some(&len) = signature.get(1) else {
            return false;
        };
        let Some((der, padding)) = signature.split_at_checked(usize::from(len) + 2) else {
            return false;
        };
        if padding.iter().any(|&b| b != 0) {
            return false;
        }
        p256::ecdsa::Signature::from_der(der)
            .is_ok_and(|sig| self.key.verify_prehash(digest, &sig).is_ok())
    }
}

#[cfg(feature = "ecdsa-p256")]
impl PackageVerifier for P256Verifier {
    fn verify(&self, kind: AuthKind, signed: &[u8], authenticator: &[u8]) -> bool {
        use sha2::{Digest, Sha256};
        if kind != AuthKind::EcdsaP256Sha256 {
            return false;
        }
        let digest: [u8; 32] = Sha256::digest(signed).into();
        self.verify_digest_raw(&digest, authenticator)
    }

    #[cfg(feature = "mcuboot")]
    fn image_keys<'s>(&'s self, keys: &mut dyn FnMut(&'s dyn ImageKey)) {
        keys(self);
    }
}

#[cfg(all(feature = "mcuboot", feature = "ecdsa-p256"))]
impl ImageKey for P256Verifier {
    fn signature_tlv(&self) -> u16 {
        tlv::ECDSA_SIG
    }

    fn public_key_info(&self) -> heapless::Vec<u8, MAX_KEY_INFO_LEN> {
        heapless::Vec::from_slice(&Self::public_key_info(self)).unwrap_or_default()
    }

    fn verify_digest(&self, digest: &[u8; 32], signature: &[u8]) -> bool {
        Self::verify_digest(self, digest, signature)
    }
}

/// One public key of either kind, for a device (or host) that learns the kind with the key.
#[cfg(any(feature = "ed25519", feature = "ecdsa-p256"))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKeyVerifier {
    /// An Ed25519 key.
    #[cfg(feature = "ed25519")]
    Ed25519(Ed25519Verifier),
    /// An ECDSA P-256 key.
    #[cfg(feature = "ecdsa-p256")]
    P256(P256Verifier),
}

#[cfg(any(feature = "ed25519", feature = "ecdsa-p256"))]
impl PublicKeyVerifier {
    /// The package authenticator kind this key verifies.
    pub fn auth_kind(&self) -> AuthKind {
        match self {
            #[cfg(feature = "ed25519")]
            Self::Ed25519(_) => AuthKind::Ed25519,
            #[cfg(feature = "ecdsa-p256")]
            Self::P256(_) => AuthKind::EcdsaP256Sha256,
        }
    }

    /// True when `signature` signs the MCUboot image digest `digest` under the key, in the
    /// form imgtool writes for the key's kind (see each verifier's `verify_digest`).
    pub fn verify_digest(&self, digest: &[u8; 32], signature: &[u8]) -> bool {
        match self {
            #[cfg(feature = "ed25519")]
            Self::Ed25519(v) => v.verify_digest(digest, signature),
            #[cfg(feature = "ecdsa-p256")]
            Self::P256(v) => v.verify_digest(digest, signature),
        }
    }
}

#[cfg(any(feature = "ed25519", feature = "ecdsa-p256"))]
impl PackageVerifier for PublicKeyVerifier {
    fn verify(&self, kind: AuthKind, signed: &[u8], authenticator: &[u8]) -> bool {
        match self {
            #[cfg(feature = "ed25519")]
            Self::Ed25519(v) => v.verify(kind, signed, authenticator),
            #[cfg(feature = "ecdsa-p256")]
            Self::P256(v) => v.verify(kind, signed, authenticator),
        }
    }

    #[cfg(feature = "mcuboot")]
    fn image_keys<'s>(&'s self, keys: &mut dyn FnMut(&'s dyn ImageKey)) {
        keys(self);
    }
}

#[cfg(all(feature = "mcuboot", any(feature = "ed25519", feature = "ecdsa-p256")))]
impl ImageKey for PublicKeyVerifier {
    fn signature_tlv(&self) -> u16 {
        match self {
            #[cfg(feature = "ed25519")]
            Self::Ed25519(k) => ImageKey::signature_tlv(k),
            #[cfg(feature = "ecdsa-p256")]
            Self::P256(k) => ImageKey::signature_tlv(k),
        }
    }

    fn public_key_info(&self) -> heapless::Vec<u8, MAX_KEY_INFO_LEN> {
        match self {
            #[cfg(feature = "ed25519")]
            Self::Ed25519(k) => ImageKey::public_key_info(k),
            #[cfg(feature = "ecdsa-p256")]
            Self::P256(k) => ImageKey::public_key_info(k),
        }
    }

    fn verify_digest(&self, digest: &[u8; 32], signature: &[u8]) -> bool {
        Self::verify_digest(self, digest, signature)
    }
}

#[cfg(feature = "ed25519")]
impl From<Ed25519Verifier> for PublicKeyVerifier {
    fn from(v: Ed25519Verifier) -> Self {
        Self::Ed25519(v)
    }
}

#[cfg(feature = "ecdsa-p256")]
impl From<P256Verifier> for PublicKeyVerifier {
    fn from(v: P256Verifier) -> Self {
        Self::P256(v)
    }
}

/// Accepts a package that either verifier accepts: a device that holds two keys (say an
/// Ed25519 key and a P-256 key, or an old and a new key during a rotation). Nest it for
/// more. It offers the MCUboot image keys of both, the first's first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnyVerifier<A, B>(pub A, pub B);

impl<A: PackageVerifier, B: PackageVerifier> PackageVerifier for AnyVerifier<A, B> {
    fn verify(&self, kind: AuthKind, signed: &[u8], authenticator: &[u8]) -> bool {
        self.0.verify(kind, signed, authenticator) || self.1.verify(kind, signed, authenticator)
    }

    #[cfg(feature = "mcuboot")]
    fn image_keys<'s>(&'s self, keys: &mut dyn FnMut(&'s dyn ImageKey)) {
        self.0.image_keys(keys);
        self.1.image_keys(keys);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIGNED: &[u8] = b"the 140 signed bytes of a package header, or any message";

    #[cfg(feature = "ed25519")]
    fn ed25519_key(seed: u8) -> ed25519_dalek::SigningKey {
        ed25519_dalek::SigningKey::from_bytes(&[seed; 32])
    }

    #[cfg(feature = "ed25519")]
    #[test]
    fn ed25519_packages_and_digests() {
        use ed25519_dalek::Signer;
        let sk = ed25519_key(7);
        let v = Ed25519Verifier::new(sk.verifying_key().as_bytes()).unwrap();
        assert_eq!(v.public_key(), sk.verifying_key().as_bytes());
        let sig = sk.sign(SIGNED).to_bytes();
        assert!(v.verify(AuthKind::Ed25519, SIGNED, &sig));
        assert!(!v.verify(AuthKind::EcdsaP256Sha256, SIGNED, &sig));
        assert!(!v.verify(AuthKind::HmacSha256, SIGNED, &sig));
        assert!(!v.verify(AuthKind::Ed25519, &SIGNED[1..], &sig));
        assert!(!v.verify(AuthKind::Ed25519, SIGNED, &sig[..63]));
        let mut bad = sig;
        bad[10] ^= 0x20;
        assert!(!v.verify(AuthKind::Ed25519, SIGNED, &bad));
        let other = Ed25519Verifier::new(ed25519_key(8).verifying_key().as_bytes()).unwrap();
        assert!(!other.verify(AuthKind::Ed25519, SIGNED, &sig));

        let digest = [0x5a; 32];
        let dsig = sk.sign(&digest).to_bytes();
        assert!(v.verify_digest(&digest, &dsig));
        assert!(!v.verify_digest(&[0x5b; 32], &dsig));
    }

    #[cfg(feature = "ed25519")]
    #[test]
    fn ed25519_refuses_malleated_signatures_and_weak_keys() {
        use ed25519_dalek::Signer;
        let sk = ed25519_key(9);
        let v = Ed25519Verifier::new(sk.verifying_key().as_bytes()).unwrap();
        let sig = sk.sign(SIGNED).to_bytes();
        // S + L (the group order) is the same scalar, not reduced: refused.
        const L: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let mut malleated = sig;
        let mut carry = 0u16;
        for i in 0..32 {
            let s = u16::from(sig[32 + i]) + u16::from(L[i]) + carry;
            malleated[32 + i] = s as u8;
            carry = s >> 8;
        }
        assert_eq!(carry, 0, "S + L fits 256 bits for this key");
        assert!(!v.verify(AuthKind::Ed25519, SIGNED, &malleated));
        // The identity point (y = 1) is a weak key.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(Ed25519Verifier::new(&identity).is_none());
    }

    #[cfg(feature = "ed25519")]
    #[test]
    fn ed25519_public_key_info_is_der_spki() {
        let sk = ed25519_key(3);
        let v = Ed25519Verifier::new(sk.verifying_key().as_bytes()).unwrap();
        let spki = v.public_key_info();
        assert_eq!(&spki[..12], &ED25519_SPKI_PREFIX);
        assert_eq!(&spki[12..], sk.verifying_key().as_bytes());
        assert_eq!(usize::from(spki[1]) + 2, spki.len());
    }

    #[cfg(feature = "ecdsa-p256")]
    fn p256_key(seed: u8) -> p256::ecdsa::SigningKey {
        p256::ecdsa::SigningKey::from_slice(&[seed; 32]).unwrap()
    }

    #[cfg(feature = "ecdsa-p256")]
    fn p256_verifier(sk: &p256::ecdsa::SigningKey, compress: bool) -> P256Verifier {
        P256Verifier::new(sk.verifying_key().to_sec1_point(compress).as_bytes()).unwrap()
    }

    #[cfg(feature = "ecdsa-p256")]
    #[test]
    fn p256_packages_raw_signatures() {
        use p256::ecdsa::signature::Signer;
        let sk = p256_key(5);
        let v = p256_verifier(&sk, false);
        let sig: p256::ecdsa::Signature = sk.sign(SIGNED);
        let raw = sig.to_bytes();
        assert!(v.verify(AuthKind::EcdsaP256Sha256, SIGNED, &raw));
        assert!(!v.verify(AuthKind::Ed25519, SIGNED, &raw));
        assert!(!v.verify(AuthKind::EcdsaP256Sha256, b"other", &raw));
        // The package format carries r || s, not DER.
        assert!(!v.verify(AuthKind::EcdsaP256Sha256, SIGNED, sig.to_der().as_bytes()));
        let other = p256_verifier(&p256_key(6), false);
        assert!(!other.verify(AuthKind::EcdsaP256Sha256, SIGNED, &raw));
    }

    #[cfg(feature = "ecdsa-p256")]
    #[test]
    fn p256_digests_in_der_padded_and_high_s() {
        use p256::ecdsa::signature::hazmat::PrehashSigner;
        let sk = p256_key(11);
        let v = p256_verifier(&sk, false);
        let digest = [0x42u8; 32];
        let sig: p256::ecdsa::Signature = sk.sign_prehash(&digest).unwrap();
        let der = sig.to_der();
        assert!(v.verify_digest(&digest, der.as_bytes()));
        assert!(v.verify_digest_raw(&digest, &sig.to_bytes()));
        assert!(!v.verify_digest(&[0x43; 32], der.as_bytes()));
        // imgtool's --pad-sig: zeros after the DER value.
        let mut padded = der.as_bytes().to_vec();
        padded.resize(72, 0);
        assert!(v.verify_digest(&digest, &padded));
        *padded.last_mut().unwrap() = 1;
        assert!(!v.verify_digest(&digest, &padded));
        assert!(!v.verify_digest(&digest, &der.as_bytes()[..der.len() - 1]));
        assert!(!v.verify_digest(&digest, &[]));
        assert!(!v.verify_digest(&digest, &[0x30]));
        // Both S and n - S verify (OpenSSL and imgtool do not normalise S).
        let flipped = sig.normalize_s();
        let (low, high) = if flipped == sig {
            (
                sig,
                p256::ecdsa::Signature::from_scalars(sig.r(), -*sig.s()).unwrap(),
            )
        } else {
            (flipped, sig)
        };
        assert!(v.verify_digest(&digest, low.to_der().as_bytes()));
        assert!(v.verify_digest(&digest, high.to_der().as_bytes()));
    }

    #[cfg(feature = "ecdsa-p256")]
    #[test]
    fn p256_keys_compressed_or_not() {
        let sk = p256_key(12);
        let full = p256_verifier(&sk, false);
        let compressed = p256_verifier(&sk, true);
        assert_eq!(full, compressed);
        assert_eq!(full.public_key()[0], 4);
        let spki = full.public_key_info();
        assert_eq!(&spki[..26], &P256_SPKI_PREFIX);
        assert_eq!(&spki[26..], &full.public_key());
        assert_eq!(usize::from(spki[1]) + 2, spki.len());
        assert!(P256Verifier::new(&[4; 65]).is_none());
        assert!(P256Verifier::new(&full.public_key()[..64]).is_none());
        assert!(P256Verifier::new(&[]).is_none());
    }

    #[cfg(all(feature = "ed25519", feature = "ecdsa-p256"))]
    #[test]
    fn either_key_kind() {
        use ed25519_dalek::Signer as _;
        let ed = ed25519_key(1);
        let ec = p256_key(2);
        let ed_sig = ed.sign(SIGNED).to_bytes();
        let ec_sig: p256::ecdsa::Signature = ec.sign(SIGNED);
        let ed_v =
            PublicKeyVerifier::from(Ed25519Verifier::new(ed.verifying_key().as_bytes()).unwrap());
        let ec_v = PublicKeyVerifier::from(p256_verifier(&ec, false));
        assert_eq!(ed_v.auth_kind(), AuthKind::Ed25519);
        assert_eq!(ec_v.auth_kind(), AuthKind::EcdsaP256Sha256);
        assert!(ed_v.verify(AuthKind::Ed25519, SIGNED, &ed_sig));
        assert!(!ec_v.verify(AuthKind::Ed25519, SIGNED, &ed_sig));
        let both = AnyVerifier(ed_v.clone(), ec_v.clone());
        assert!(both.verify(AuthKind::Ed25519, SIGNED, &ed_sig));
        assert!(both.verify(AuthKind::EcdsaP256Sha256, SIGNED, &ec_sig.to_bytes()));
        assert!(!both.verify(AuthKind::EcdsaP256Sha256, SIGNED, &ed_sig));
        assert!(!AnyVerifier(ec_v, ed_v).verify(AuthKind::HmacSha256, SIGNED, &ed_sig));
    }

    /// The public key info of each key `v` offers for MCUboot images, in order.
    #[cfg(feature = "mcuboot")]
    fn offered(v: &dyn PackageVerifier) -> std::vec::Vec<std::vec::Vec<u8>> {
        let mut out = std::vec::Vec::new();
        v.image_keys(&mut |k| out.push(k.public_key_info().to_vec()));
        out
    }

    #[cfg(all(feature = "mcuboot", feature = "ed25519", feature = "ecdsa-p256"))]
    #[test]
    fn verifiers_offer_their_image_keys() {
        let ed = Ed25519Verifier::new(ed25519_key(1).verifying_key().as_bytes()).unwrap();
        let ec = p256_verifier(&p256_key(2), false);
        let ed_info = ed.public_key_info().to_vec();
        let ec_info = ec.public_key_info().to_vec();
        assert_eq!(offered(&ed), core::slice::from_ref(&ed_info));
        assert_eq!(offered(&ec), core::slice::from_ref(&ec_info));
        assert_eq!(
            offered(&PublicKeyVerifier::from(ec.clone())),
            core::slice::from_ref(&ec_info)
        );
        let both = AnyVerifier(ed.clone(), AnyVerifier(ec.clone(), ed.clone()));
        assert_eq!(offered(&both), [ed_info.clone(), ec_info, ed_info.clone()]);
        // Through a reference, as a vendor passes `&dyn PackageVerifier`.
        let by_ref: &dyn PackageVerifier = &ed;
        assert_eq!(offered(&by_ref), core::slice::from_ref(&ed_info));
        // HMAC has no public key: nothing, alone or beside a key.
        let hmac = super::super::HmacSha256Verifier::new(b"k").unwrap();
        assert!(offered(&hmac).is_empty());
        assert_eq!(offered(&AnyVerifier(hmac, ed)), [ed_info]);
    }
}
