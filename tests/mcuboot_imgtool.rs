//! MCUboot images signed by MCUboot's own imgtool (2.5.0, from `scripts/peers-venv.sh`),
//! verified through the public API: keys made with `imgtool keygen` (Ed25519 and ECDSA
//! P-256), images made with `imgtool sign`, each read from a simulated slot in small chunks.
//! A good image verifies with its version and security counter; a damaged one, one signed by
//! another key, a truncated one and an older one are refused, each with its error and the
//! installer's failure for it.
//!
//! Without imgtool these tests fail, unless `IOTADM_ALLOW_MISSING_PEERS` is set, in which
//! case they print why and pass.

#![cfg(all(feature = "mcuboot", feature = "ed25519", feature = "ecdsa-p256"))]

#[path = "common/peers.rs"]
mod peers;

use std::path::{Path, PathBuf};

use iotadm::firmware::mcuboot::{
    self, check_security_counter, check_version, tlv, ImageHeader, ImageKey, ImageVersion,
    McubootError, TlvArea, VerifiedImage, VerifyError,
};
use iotadm::firmware::{Ed25519Verifier, Failure, P256Verifier, PublicKeyVerifier};

fn imgtool() -> Option<PathBuf> {
    peers::python_peer("imgtool")
}

/// A private key made by `imgtool keygen -t kind`, and the public key's DER
/// `SubjectPublicKeyInfo` (`imgtool getpub -e raw`).
fn keygen(_tool: &Path, kind: &str) -> (PathBuf, Vec<u8>) {
    let key = peers::imgtool_keygen(kind).expect("imgtool was found");
    (key.pem, key.spki)
}

fn ed25519_key(spki: &[u8]) -> Ed25519Verifier {
    let raw: [u8; 32] = spki[spki.len() - 32..].try_into().unwrap();
    Ed25519Verifier::new(&raw).expect("an Ed25519 key")
}

fn p256_key(spki: &[u8]) -> P256Verifier {
    P256Verifier::new(&spki[spki.len() - 65..]).expect("a P-256 key")
}

fn payload() -> Vec<u8> {
    (0..10_000u32).map(|i| (i * 31 + i / 7) as u8).collect()
}

const SLOT: u32 = 0x20000;

/// `imgtool sign` of the test payload with `key`, version 1.2.3+4, and `extra` options.
fn sign(_tool: &Path, key: &Path, extra: &[&str]) -> Vec<u8> {
    let slot = format!("{SLOT:#x}");
    let mut options = vec!["--align", "4", "--version", "1.2.3+4", "--slot-size", &slot];
    options.extend_from_slice(extra);
    peers::imgtool_sign_with(key, &payload(), &options)
}

/// Verifies `image` as the installer would: from a slot of flash (the image, then erased
/// bytes), read 64 bytes at most at a time.
fn verify_in_slot(image: &[u8], keys: &[&dyn ImageKey]) -> Result<VerifiedImage, McubootError> {
    let mut slot = vec![0xFF; SLOT as usize];
    slot[..image.len()].copy_from_slice(image);
    let read = |at: u32, buf: &mut [u8]| -> Result<(), &'static str> {
        assert!(buf.len() <= 256, "reads stay small");
        let at = at as usize;
        buf.copy_from_slice(slot.get(at..at + buf.len()).ok_or("past the slot")?);
        Ok(())
    };
    mcuboot::verify_image(read, SLOT, keys).map_err(|e| match e {
        VerifyError::Image(e) => e,
        VerifyError::Read(e) => panic!("the verifier read outside the slot: {e}"),
    })
}

/// Slot offset of the value of the first unprotected TLV of type `kind`.
fn tlv_offset(image: &[u8], kind: u16) -> usize {
    let header = ImageHeader::parse(image).unwrap();
    let start = header.hashed_len() as usize;
    let area = TlvArea::parse(&image[start..]).unwrap();
    let found = area
        .iter()
        .map(Result::unwrap)
        .find(|t| t.kind == kind)
        .unwrap();
    found.value.as_ptr() as usize - image.as_ptr() as usize
}

fn refused(image: &[u8], keys: &[&dyn ImageKey], want: McubootError, failure: Failure) {
    assert_eq!(verify_in_slot(image, keys), Err(want));
    assert_eq!(want.failure(), failure);
    assert_eq!(mcuboot::verify_image_bytes(image, keys), Err(want));
}

/// The checks every key kind gets: `key` signed `image` (signature TLV `sig_tlv`),
/// `other` is another key of the same kind.
fn check_kind(image: &[u8], key: &dyn ImageKey, other: &dyn ImageKey, sig_tlv: u16) {
    let v = verify_in_slot(image, &[key]).expect("imgtool's image verifies");
    assert_eq!(v.version(), ImageVersion::new(1, 2, 3, 4));
    assert_eq!(v.version().code32(), 0x0102_0003);
    assert_eq!(v.security_counter(), None);
    assert_eq!(v.key_index(), 0);
    assert_eq!(v.header().header_size(), 0x200);
    assert_eq!(v.header().image_size(), 10_000);
    assert_eq!(&image[0x200..0x200 + 10_000], &payload()[..]);
    // The same key among others; the signing key is found by its hash.
    let v2 = verify_in_slot(image, &[other, key]).unwrap();
    assert_eq!(v2.key_index(), 1);

    // A flipped payload byte, and a flipped header byte (the version): the hash fails.
    let mut bad = image.to_vec();
    bad[0x200 + 5000] ^= 0x01;
    refused(&bad, &[key], McubootError::HashMismatch, Failure::Corrupted);
    let mut bad = image.to_vec();
    bad[20] ^= 0x01;
    refused(&bad, &[key], McubootError::HashMismatch, Failure::Corrupted);
    let mut bad = image.to_vec();
    bad[1] ^= 0x01;
    refused(&bad, &[key], McubootError::BadMagic, Failure::Corrupted);
    // A flipped signature byte.
    let mut bad = image.to_vec();
    bad[tlv_offset(image, sig_tlv) + 10] ^= 0x01;
    refused(
        &bad,
        &[key],
        McubootError::BadSignature,
        Failure::Unauthentic,
    );
    // Another key.
    refused(
        image,
        &[other],
        McubootError::UnknownKey,
        Failure::Unauthentic,
    );
    // Truncated, anywhere.
    for cut in [16, 0x200 + 4000, image.len() - 40, image.len() - 1] {
        assert_eq!(
            mcuboot::verify_image_bytes(&image[..cut], &[key]),
            Err(McubootError::Truncated),
            "cut at {cut}"
        );
    }
    assert_eq!(McubootError::Truncated.failure(), Failure::Corrupted);

    // Against the running version: only a newer image is taken.
    assert_eq!(
        check_version(ImageVersion::new(1, 2, 3, 3), v.version()),
        Ok(())
    );
    assert_eq!(
        check_version(ImageVersion::new(1, 1, 9, 0), v.version()),
        Ok(())
    );
    for running in [ImageVersion::new(1, 2, 3, 4), ImageVersion::new(1, 3, 0, 0)] {
        assert_eq!(
            check_version(running, v.version()),
            Err(McubootError::Downgrade)
        );
    }
    assert_eq!(McubootError::Downgrade.failure(), Failure::NotAcceptable);
}

#[test]
fn ed25519_images() {
    let Some(tool) = imgtool() else { return };
    let (key, spki) = keygen(&tool, "ed25519");
    let (_, other_spki) = keygen(&tool, "ed25519");
    let image = sign(&tool, &key, &[]);
    let v = ed25519_key(&spki);
    assert_eq!(
        &v.public_key_info()[..],
        &spki[..],
        "imgtool hashes this DER"
    );
    check_kind(&image, &v, &ed25519_key(&other_spki), tlv::ED25519);
    let any = PublicKeyVerifier::from(v.clone());
    assert!(verify_in_slot(&image, &[&any]).is_ok());
    // A P-256 key the device also holds does not stand in for the Ed25519 one.
    let (_, p256_spki) = keygen(&tool, "ecdsa-p256");
    let p = p256_key(&p256_spki);
    refused(
        &image,
        &[&p],
        McubootError::UnknownKey,
        Failure::Unauthentic,
    );
    assert!(verify_in_slot(&image, &[&p, &v]).is_ok());

    // The whole key in the image (PUBKEY) instead of its hash.
    let full = sign(&tool, &key, &["--public-key-format", "full"]);
    assert!(verify_in_slot(&full, &[&v]).is_ok());
    refused(
        &full,
        &[&ed25519_key(&other_spki)],
        McubootError::UnknownKey,
        Failure::Unauthentic,
    );
}

#[test]
fn ecdsa_p256_images() {
    let Some(tool) = imgtool() else { return };
    let (key, spki) = keygen(&tool, "ecdsa-p256");
    let (_, other_spki) = keygen(&tool, "ecdsa-p256");
    let image = sign(&tool, &key, &[]);
    let v = p256_key(&spki);
    assert_eq!(
        &v.public_key_info()[..],
        &spki[..],
        "imgtool hashes this DER"
    );
    check_kind(&image, &v, &p256_key(&other_spki), tlv::ECDSA_SIG);
    // The same key given compressed.
    let point = &spki[spki.len() - 65..];
    let mut compressed = vec![2 + (point[64] & 1)];
    compressed.extend_from_slice(&point[1..33]);
    let c = P256Verifier::new(&compressed).unwrap();
    assert!(verify_in_slot(&image, &[&c]).is_ok());
    // imgtool's --pad-sig pads the DER signature with zeros to 72 bytes.
    let padded = sign(&tool, &key, &["--pad-sig"]);
    assert!(verify_in_slot(&padded, &[&v]).is_ok());
}

#[test]
fn security_counter() {
    let Some(tool) = imgtool() else { return };
    let (key, spki) = keygen(&tool, "ed25519");
    let v = ed25519_key(&spki);
    let image = sign(&tool, &key, &["--security-counter", "7"]);
    let ok = verify_in_slot(&image, &[&v]).unwrap();
    assert_eq!(ok.security_counter(), Some(7));
    assert_eq!(ok.header().protected_tlv_size(), 12);
    assert_eq!(check_security_counter(7, ok.security_counter()), Ok(()));
    assert_eq!(
        check_security_counter(8, ok.security_counter()),
        Err(McubootError::SecurityCounter)
    );
    assert_eq!(
        McubootError::SecurityCounter.failure(),
        Failure::NotAcceptable
    );
    // The counter is covered by the hash: raising it breaks the image.
    let mut bad = image.clone();
    let at = ImageHeader::parse(&image).unwrap().tlv_offset() as usize + 8;
    assert_eq!(&bad[at..at + 4], &7u32.to_le_bytes());
    bad[at] = 9;
    refused(&bad, &[&v], McubootError::HashMismatch, Failure::Corrupted);
    // imgtool's automatic counter is the version without its build number.
    let auto = sign(&tool, &key, &["--security-counter", "auto"]);
    let ok = verify_in_slot(&auto, &[&v]).unwrap();
    assert_eq!(ok.security_counter(), Some(ok.version().code32()));
}
