//! MCUboot images through the installer's public API, as MCUboot's own imgtool (2.5.0, from
//! `scripts/peers-venv.sh`) signs them: Ed25519 and ECDSA P-256 images install through
//! `begin`/`write_chunk`/`finish`, lie in the update slot exactly as received, boot on trial
//! and are confirmed; each refusal (damage, another key, an older version or security
//! counter, another header size, a compressed image, one too large for the slot, an
//! installer without image keys) gives its FUMO result code and leaves the old image
//! booting; a download resumes after a reboot, also with the TLV info header cut by a
//! sector boundary; and the FUMO object installs one delivered as its package.
//!
//! Without imgtool these tests fail, unless `IOTADM_ALLOW_MISSING_PEERS` is set, in which
//! case they print why and pass.

#![cfg(all(feature = "mcuboot", feature = "ed25519", feature = "ecdsa-p256"))]

mod firmware_common;
mod fumo_common;

use std::cell::RefCell;
use std::sync::OnceLock;

use firmware_common::*;
use iotadm::firmware::mcuboot::{self, ImageHeader, ImageKey, ImageVersion, McubootError};
use iotadm::firmware::{
    BootReason, Config, Ed25519Verifier, Error, Failure, HmacSha256Verifier, Installer, Outcome,
    P256Verifier, PackageVerifier, Phase, Slot,
};
use iotadm::fumo::ResultCode;

/// The keys of these tests, made once per test process.
struct Keys {
    ed: ImgtoolKey,
    ed_other: ImgtoolKey,
    p256: ImgtoolKey,
}

fn keys() -> Option<&'static Keys> {
    static KEYS: OnceLock<Option<Keys>> = OnceLock::new();
    KEYS.get_or_init(|| {
        Some(Keys {
            ed: imgtool_keygen("ed25519")?,
            ed_other: imgtool_keygen("ed25519")?,
            p256: imgtool_keygen("ecdsa-p256")?,
        })
    })
    .as_ref()
}

fn ed(key: &ImgtoolKey) -> Ed25519Verifier {
    let raw: [u8; 32] = key.spki[key.spki.len() - 32..].try_into().unwrap();
    Ed25519Verifier::new(&raw).unwrap()
}

fn p256(key: &ImgtoolKey) -> P256Verifier {
    P256Verifier::new(&key.spki[key.spki.len() - 65..]).unwrap()
}

type ImgInst<'a, V> = Installer<Part<'a>, Part<'a>, Part<'a>, V>;

fn open<V: PackageVerifier>(flash: &RefCell<Dev>, version: u32, verifier: V) -> ImgInst<'_, V> {
    Installer::new(
        part(flash, SLOT_A),
        part(flash, SLOT_B),
        part(flash, STATE),
        device(version),
        verifier,
        Config { max_trial_boots: 3 },
    )
    .unwrap()
}

/// The version code the installer records for `version`.
fn code(version: &str) -> u32 {
    let mut parts = version.split(['.', '+']).map(|p| p.parse::<u32>().unwrap());
    let (major, minor, revision) = (parts.next().unwrap(), parts.next().unwrap(), parts.next());
    ImageVersion::new(major as u8, minor as u8, revision.unwrap_or(0) as u16, 0).code32()
}

/// The running image: 1.0.0, signed with `key`, in slot A.
fn factory_for(key: &ImgtoolKey, extra: &[&str]) -> RefCell<Dev> {
    wrap(factory_image(&imgtool_sign(
        key,
        &payload(1, 3000),
        "1.0.0",
        extra,
    )))
}

fn mem(flash: &RefCell<Dev>) -> std::cell::Ref<'_, Mem> {
    std::cell::Ref::map(flash.borrow(), |f| f.inner())
}

/// The version code of the image in `slot` if it verifies under `key`, checked
/// independently of the installer.
fn verified(flash: &RefCell<Dev>, slot: Slot, key: &dyn ImageKey) -> Option<u32> {
    let m = mem(flash);
    let image = mcuboot::verify_image_bytes(slot_bytes(&m, slot), &[key]).ok()?;
    Some(image.version().code32())
}

/// The update of `image` on the installer `inst`: begin, stream, finish.
fn install<V: PackageVerifier>(inst: &mut ImgInst<'_, V>, image: &[u8]) -> Result<u32, Error> {
    inst.begin()?;
    stream(inst, image, 0)?;
    inst.finish()
}

#[test]
fn ed25519_and_p256_images_install_boot_on_trial_and_confirm() {
    let Some(k) = keys() else { return };
    let body = payload(2, 5000);
    for (name, key, verifier) in [
        (
            "ed25519",
            &k.ed,
            iotadm::firmware::PublicKeyVerifier::from(ed(&k.ed)),
        ),
        ("p256", &k.p256, p256(&k.p256).into()),
    ] {
        let flash = factory_for(key, &[]);
        let image = imgtool_sign(key, &body, "1.2.3+4", &[]);
        let mut inst = open(&flash, code("1.0.0"), verifier.clone());
        inst.begin().unwrap();
        stream(&mut inst, &image[..600], 0).unwrap();
        let staged = inst.staged_image().expect("the header is in");
        assert_eq!(staged.version(), ImageVersion::new(1, 2, 3, 4));
        assert_eq!(inst.staged_header(), None, "{name}: not a package");
        // The length is known once the TLV info header is in.
        assert_eq!(inst.package_len(), None, "{name}");
        stream(&mut inst, &image, 600).unwrap();
        assert_eq!(inst.package_len(), Some(image.len() as u32), "{name}");
        assert_eq!(inst.received() as usize, image.len());
        assert_eq!(inst.finish(), Ok(0x0102_0003), "{name}");
        assert_eq!(inst.phase(), Phase::Ready);
        assert_eq!(inst.state().target_version(), 0x0102_0003);

        // In the slot exactly as received, from offset 0; the rest of its last sector erased.
        {
            let m = mem(&flash);
            let slot = slot_bytes(&m, Slot::B);
            assert_eq!(&slot[..image.len()], &image[..], "{name}");
            let end = image.len().div_ceil(SECTOR) * SECTOR;
            assert!(slot[image.len()..end].iter().all(|&b| b == 0xFF));
            let b = sector_range(SLOT_B);
            let counts = &m.erase_counts()[b.start..b.start + end / SECTOR];
            assert!(counts.iter().all(|&c| c == 1), "{name}: erases {counts:?}");
        }
        let info = inst.verify_slot(Slot::B).unwrap();
        assert_eq!(info.version_code, 0x0102_0003);
        assert_eq!(info.version_name(), b"1.2.3+4");
        assert_eq!(info.payload_len, 5000);
        assert_eq!(info.header(), &image[..32]);
        assert_eq!(
            ImageHeader::parse(info.header()).unwrap().header_size(),
            0x200
        );
        // The running image reads back too.
        let running = inst.verify_slot(Slot::A).unwrap();
        assert_eq!(
            (running.version_code, running.version_name()),
            (0x0100_0000, &b"1.0.0"[..])
        );
        inst.arm_trial().unwrap();
        drop(inst);

        // Reboot: the bootloader starts the trial; the new image confirms.
        let mut boot = open(&flash, 0, HmacSha256Verifier::new(KEY).unwrap());
        let d = boot.boot_decision().unwrap();
        assert_eq!(
            (d.slot, d.reason),
            (Slot::B, BootReason::Trial { attempt: 1 })
        );
        drop(boot);
        let mut fw = open(&flash, 0x0102_0003, verifier.clone());
        fw.confirm().unwrap();
        assert_eq!(
            fw.last_outcome(),
            Some(Outcome::Updated {
                version: 0x0102_0003
            })
        );
        assert_eq!(
            ResultCode::from(fw.last_outcome().unwrap()),
            ResultCode::Successful
        );
        assert_eq!(fw.device().version(), 0x0102_0003);
        drop(fw);
        let mut boot = open(&flash, 0, HmacSha256Verifier::new(KEY).unwrap());
        let d = boot.boot_decision().unwrap();
        assert_eq!((d.slot, d.reason), (Slot::B, BootReason::Normal));
        assert_eq!(verified(&flash, Slot::B, &verifier), Some(0x0102_0003));
    }
}

/// After a refusal: recorded as the outcome with its failure, nothing armed, the old image
/// (1.0.0 under `key`) still booting from slot A.
fn assert_refused(flash: &RefCell<Dev>, err: Error, code: u16, key: &dyn ImageKey) {
    let Error::Image(refusal) = err else {
        panic!("not an image refusal: {err:?}")
    };
    assert_eq!(u16::from(ResultCode::from(err)), code, "{err:?}");
    assert_eq!(refusal.failure(), Failure::from(ResultCode::from(err)));
    let mut inst = open(flash, 0, HmacSha256Verifier::new(KEY).unwrap());
    assert_eq!(inst.phase(), Phase::Idle);
    assert_eq!(
        inst.last_outcome(),
        Some(Outcome::Failed {
            reason: refusal.failure()
        })
    );
    assert_eq!(inst.arm_trial(), Err(Error::BadState), "nothing armed");
    let d = inst.boot_decision().unwrap();
    assert_eq!((d.slot, d.reason), (Slot::A, BootReason::Normal));
    assert_eq!(verified(flash, Slot::A, key), Some(0x0100_0000));
}

/// Slot offset of the value of the first unprotected TLV of type `kind`.
fn tlv_value_at(image: &[u8], kind: u16) -> usize {
    let start = ImageHeader::parse(image).unwrap().hashed_len() as usize;
    let area = mcuboot::TlvArea::parse(&image[start..]).unwrap();
    let tlv = area.iter().map(Result::unwrap).find(|t| t.kind == kind);
    tlv.unwrap().value.as_ptr() as usize - image.as_ptr() as usize
}

/// What is refused, the running image's `imgtool sign` options and version, the image, its
/// refusal and its FUMO result code.
type FinishCase<'a> = (&'a str, Vec<&'a str>, &'a str, Vec<u8>, McubootError, u16);

#[test]
fn each_refusal_at_finish_gives_its_result_code_and_the_old_image_boots() {
    let Some(k) = keys() else { return };
    let body = payload(2, 4000);
    let good = imgtool_sign(&k.ed, &body, "1.2.3+4", &[]);
    let good_p256 = imgtool_sign(&k.p256, &body, "1.2.3+4", &[]);
    let flip = |image: &[u8], at: usize| {
        let mut bad = image.to_vec();
        bad[at] ^= 0x01;
        bad
    };
    let mut truncated = good.clone();
    truncated.pop();
    let sig = mcuboot::tlv::ED25519;
    let p256_sig = mcuboot::tlv::ECDSA_SIG;
    let cases: Vec<FinishCase> = vec![
        (
            "payload byte",
            vec![],
            "1.0.0",
            flip(&good, 0x200 + 1234),
            McubootError::HashMismatch,
            402,
        ),
        (
            "header byte",
            vec![],
            "1.0.0",
            flip(&good, 20),
            McubootError::HashMismatch,
            402,
        ),
        (
            "signature byte",
            vec![],
            "1.0.0",
            flip(&good, tlv_value_at(&good, sig) + 7),
            McubootError::BadSignature,
            404,
        ),
        (
            "P-256 signature byte",
            vec![],
            "1.0.0",
            flip(&good_p256, tlv_value_at(&good_p256, p256_sig) + 9),
            McubootError::BadSignature,
            404,
        ),
        (
            "another key",
            vec![],
            "1.0.0",
            imgtool_sign(&k.ed_other, &body, "1.2.3+4", &[]),
            McubootError::UnknownKey,
            404,
        ),
        (
            "truncated",
            vec![],
            "1.0.0",
            truncated,
            McubootError::Truncated,
            402,
        ),
        (
            "older than the running image",
            vec![],
            "2.0.0",
            good.clone(),
            McubootError::Downgrade,
            405,
        ),
        (
            "the running image itself",
            vec![],
            "1.2.3+4",
            good.clone(),
            McubootError::Downgrade,
            405,
        ),
        // Only the build number differs: compared, though not recorded.
        (
            "an older build",
            vec![],
            "1.2.3+5",
            good.clone(),
            McubootError::Downgrade,
            405,
        ),
        (
            "a lower security counter",
            vec!["--security-counter", "5"],
            "1.0.0",
            imgtool_sign(&k.ed, &body, "1.2.3+4", &["--security-counter", "4"]),
            McubootError::SecurityCounter,
            405,
        ),
        (
            "no security counter under a running one",
            vec!["--security-counter", "5"],
            "1.0.0",
            good.clone(),
            McubootError::SecurityCounter,
            405,
        ),
    ];
    for (what, running_extra, running_version, image, want, result) in cases {
        let running = imgtool_sign(&k.ed, &payload(1, 3000), running_version, &running_extra);
        let flash = wrap(factory_image(&running));
        let verifier = iotadm::firmware::AnyVerifier(ed(&k.ed), p256(&k.p256));
        let mut inst = open(&flash, code(running_version), verifier);
        let err = install(&mut inst, &image).expect_err(what);
        assert_eq!(err, Error::Image(want), "{what}");
        drop(inst);
        // The old image is 1.0.0 for the checks after a refusal; not for the version cases.
        if running_version == "1.0.0" {
            assert_refused(&flash, err, result, &ed(&k.ed));
        } else {
            assert_eq!(u16::from(ResultCode::from(err)), result, "{what}");
            let mut inst = open(&flash, 0, ed(&k.ed));
            assert_eq!(inst.boot_decision().unwrap().slot, Slot::A, "{what}");
            assert_eq!(inst.phase(), Phase::Idle);
        }
    }

    // The counters that pass: equal, and higher.
    for counter in ["5", "6"] {
        let running = imgtool_sign(&k.ed, &payload(1, 3000), "1.0.0", &["-s", "5"]);
        let flash = wrap(factory_image(&running));
        let image = imgtool_sign(&k.ed, &body, "1.2.3", &["--security-counter", counter]);
        let mut inst = open(&flash, code("1.0.0"), ed(&k.ed));
        assert_eq!(
            install(&mut inst, &image),
            Ok(0x0102_0003),
            "counter {counter}"
        );
    }
    // A newer build of the same version installs, recorded under the same code.
    let running = imgtool_sign(&k.ed, &payload(1, 3000), "1.2.3+4", &[]);
    let flash = wrap(factory_image(&running));
    let mut inst = open(&flash, code("1.2.3"), ed(&k.ed));
    let newer = imgtool_sign(&k.ed, &body, "1.2.3+5", &[]);
    assert_eq!(install(&mut inst, &newer), Ok(0x0102_0003));
}

#[test]
fn over_an_update_package_image_the_version_code_decides() {
    let Some(k) = keys() else { return };
    let image = imgtool_sign(&k.ed, &payload(2, 2000), "1.2.3", &[]);
    // Slot A holds an update package's image: the device's version code is the running one.
    for (running, expect) in [
        (0x0102_0002, Ok(0x0102_0003)),
        (0x0102_0003, Err(Error::Image(McubootError::Downgrade))),
        (0x0200_0000, Err(Error::Image(McubootError::Downgrade))),
    ] {
        let flash = wrap(factory(3000));
        let mut inst = open(&flash, running, ed(&k.ed));
        assert_eq!(install(&mut inst, &image), expect, "running {running:#x}");
    }
}

#[test]
fn refusals_at_the_header_write_nothing() {
    let Some(k) = keys() else { return };
    let body = payload(2, 3000);
    let compressible: Vec<u8> = (0..5000u32).map(|i| (i % 7) as u8).collect();
    let compressed = imgtool_sign(&k.ed, &compressible, "1.2.3", &["--compression", "lzma2"]);
    assert_ne!(
        ImageHeader::parse(&compressed).unwrap().flags() & mcuboot::flags::COMPRESSED_LZMA2,
        0,
        "imgtool compressed it"
    );
    let big = imgtool_sign(
        &k.ed,
        &payload(2, 9000),
        "1.2.3",
        &["--slot-size", "0x10000"],
    );
    let cases: Vec<(&str, Vec<u8>, McubootError, u16)> = vec![
        (
            "header size 0x100",
            imgtool_sign(&k.ed, &body, "1.2.3", &["--header-size", "0x100"]),
            McubootError::HeaderSize(0x100),
            405,
        ),
        ("compressed", compressed, McubootError::Unsupported, 405),
        (
            "encrypted",
            {
                let mut enc = imgtool_sign(&k.ed, &body, "1.2.3", &[]);
                enc[16] |= mcuboot::flags::ENCRYPTED_AES128 as u8;
                enc
            },
            McubootError::Unsupported,
            405,
        ),
        ("larger than the slot", big, McubootError::TooLarge, 501),
    ];
    for (what, image, want, result) in cases {
        let flash = factory_for(&k.ed, &[]);
        let mut inst = open(&flash, code("1.0.0"), ed(&k.ed));
        inst.begin().unwrap();
        let writes = mem(&flash).stats().writes;
        let err = inst.write_chunk(&image[..100]).unwrap_err();
        assert_eq!(err, Error::Image(want), "{what}");
        assert_eq!(
            mem(&flash).stats().writes - writes,
            1,
            "{what}: only the outcome"
        );
        drop(inst);
        assert_refused(&flash, err, result, &ed(&k.ed));
    }
    assert!(McubootError::HeaderSize(0x100)
        .to_string()
        .contains("--header-size 0x200"));

    // An installer whose verifier has no image key (HMAC) refuses at once, as unauthentic.
    let flash = factory_for(&k.ed, &[]);
    let image = imgtool_sign(&k.ed, &body, "1.2.3", &[]);
    let mut inst = open(&flash, code("1.0.0"), HmacSha256Verifier::new(KEY).unwrap());
    inst.begin().unwrap();
    let writes = mem(&flash).stats().writes;
    let err = inst.write_chunk(&image[..40]).unwrap_err();
    assert_eq!(err, Error::Image(McubootError::UnknownKey));
    assert_eq!(mem(&flash).stats().writes - writes, 1);
    drop(inst);
    assert_refused(&flash, err, 404, &ed(&k.ed));
}

#[test]
fn the_tlv_info_header_sets_the_length_and_its_refusals() {
    let Some(k) = keys() else { return };
    let image = imgtool_sign(&k.ed, &payload(2, 3000), "1.2.3", &[]);
    let info = ImageHeader::parse(&image).unwrap().hashed_len() as usize;
    let cases: Vec<(&str, Vec<u8>, McubootError, u16)> = vec![
        (
            // Header, image and info header fit; the TLVs it announces do not.
            "TLVs past the slot",
            {
                let mut bad = image.clone();
                bad[info + 2..info + 4].copy_from_slice(&0xF000u16.to_le_bytes());
                bad
            },
            McubootError::TooLarge,
            501,
        ),
        (
            "info magic",
            {
                let mut bad = image.clone();
                bad[info] ^= 0x01;
                bad
            },
            McubootError::BadTlvArea,
            402,
        ),
        (
            "a byte past the TLVs",
            {
                let mut long = image.clone();
                long.push(0);
                long
            },
            McubootError::TooLong,
            402,
        ),
    ];
    for (what, bad, want, result) in cases {
        let flash = factory_for(&k.ed, &[]);
        let mut inst = open(&flash, code("1.0.0"), ed(&k.ed));
        inst.begin().unwrap();
        stream(&mut inst, &bad[..info], 0).unwrap();
        assert_eq!(inst.package_len(), None, "{what}");
        let err = match inst.write_chunk(&bad[info..]) {
            Err(e) => e,
            Ok(()) => inst.finish().unwrap_err(),
        };
        assert_eq!(err, Error::Image(want), "{what}");
        drop(inst);
        assert_refused(&flash, err, result, &ed(&k.ed));
    }
}

#[test]
fn a_download_resumes_after_a_reboot_mid_image() {
    let Some(k) = keys() else { return };
    // The unprotected TLV info header at 3070..3074, across the end of the third sector;
    // then at 3000..3004, so that the third sector ends between it and the image's end.
    let across = imgtool_sign(&k.ed, &payload(2, 3070 - 0x200), "1.2.3", &[]);
    let before = imgtool_sign(&k.ed, &payload(2, 3000 - 0x200), "1.2.3", &[]);
    let runs = [
        (
            &across,
            vec![20usize, 100, 1500, 3071, 3073, 3200, across.len() - 1],
        ),
        (&before, vec![3002, 3100, before.len() - 1]),
    ];
    for (image, cuts) in runs {
        resume_at(k, image, &cuts);
    }
}

fn resume_at(k: &Keys, image: &[u8], cuts: &[usize]) {
    let info = ImageHeader::parse(image).unwrap().hashed_len() as usize;
    assert!(image.len() > 3072 && [3070, 3000].contains(&info));
    for &cut in cuts {
        let flash = factory_for(&k.ed, &[]);
        let mut inst = open(&flash, code("1.0.0"), ed(&k.ed));
        inst.begin().unwrap();
        stream(&mut inst, &image[..cut], 0).unwrap();
        // A dropped connection first: resumed on the same installer.
        let off = inst.resume().unwrap() as usize;
        assert!(off <= cut && off.is_multiple_of(SECTOR), "cut {cut}: {off}");
        stream(&mut inst, &image[..cut], off).unwrap();
        drop(inst);

        // Reboot.
        let mut inst = open(&flash, code("1.0.0"), ed(&k.ed));
        assert_eq!(inst.phase(), Phase::Downloading);
        let off = inst.resume_offset() as usize;
        assert_eq!(off, cut / SECTOR * SECTOR, "cut {cut}: progress per sector");
        assert_eq!(inst.resume().unwrap() as usize, off);
        if off > 0 {
            assert_eq!(inst.staged_image().unwrap().version().code32(), 0x0102_0003);
        }
        // The length is known again once the whole info header is in flash.
        let known = (off >= info + 4).then_some(image.len() as u32);
        assert_eq!(inst.package_len(), known, "cut {cut}");
        stream(&mut inst, image, off).unwrap();
        assert_eq!(inst.package_len(), Some(image.len() as u32));
        assert_eq!(inst.finish(), Ok(0x0102_0003), "cut {cut}");
        assert_eq!(&slot_bytes(&mem(&flash), Slot::B)[..image.len()], image);
    }
}

#[test]
fn verify_slot_catches_a_damaged_image() {
    let Some(k) = keys() else { return };
    let image = imgtool_sign(&k.ed, &payload(2, 2000), "1.2.3", &[]);
    let flash = factory_for(&k.ed, &[]);
    let mut inst = open(&flash, code("1.0.0"), ed(&k.ed));
    assert_eq!(install(&mut inst, &image), Ok(0x0102_0003));
    flash.borrow_mut().inner_mut().as_bytes_mut()[SLOT_B.0 as usize + 0x200 + 99] ^= 0x10;
    assert_eq!(
        inst.verify_slot(Slot::B).unwrap_err(),
        Error::Image(McubootError::HashMismatch)
    );
}

#[test]
fn the_image_in_flash_must_be_the_one_announced() {
    let Some(k) = keys() else { return };
    let body = payload(2, 2000);
    let announced = imgtool_sign(&k.ed, &body, "1.2.3+4", &[]);
    // Another authentic image of the same length, written over the slot before `finish`.
    let other = imgtool_sign(&k.ed, &body, "1.2.3+5", &[]);
    assert_eq!(announced.len(), other.len());
    let flash = factory_for(&k.ed, &[]);
    let mut inst = open(&flash, code("1.0.0"), ed(&k.ed));
    inst.begin().unwrap();
    stream(&mut inst, &announced, 0).unwrap();
    let b = SLOT_B.0 as usize;
    flash.borrow_mut().inner_mut().as_bytes_mut()[b..b + other.len()].copy_from_slice(&other);
    let err = inst.finish().unwrap_err();
    assert_eq!(err, Error::Image(McubootError::HashMismatch));
    drop(inst);
    assert_refused(&flash, err, 402, &ed(&k.ed));
}

#[test]
fn the_first_four_image_keys_are_used() {
    let Some(k) = keys() else { return };
    use iotadm::firmware::AnyVerifier;
    let image = imgtool_sign(&k.ed, &payload(2, 1000), "1.2.3", &[]);
    let o = || ed(&k.ed_other);
    for (fourth, expect) in [
        (true, Ok(0x0102_0003)),
        (false, Err(Error::Image(McubootError::UnknownKey))),
    ] {
        let flash = factory_for(&k.ed, &[]);
        let (a, b) = if fourth {
            (AnyVerifier(o(), o()), AnyVerifier(o(), ed(&k.ed)))
        } else {
            (AnyVerifier(o(), o()), AnyVerifier(o(), o()))
        };
        let verifier = AnyVerifier(AnyVerifier(a, b), ed(&k.ed));
        let mut offered = 0;
        verifier.image_keys(&mut |_| offered += 1);
        assert_eq!(offered, 5);
        let mut inst = open(&flash, code("1.0.0"), verifier);
        assert_eq!(
            install(&mut inst, &image),
            expect,
            "the key fourth: {fourth}"
        );
    }
}

mod fumo {
    //! The FUMO object with an MCUboot image as its package.

    use super::fumo_common::*;
    use super::*;
    use iotadm::codes::StatusCode;
    use iotadm::fumo::{Fumo, Io, Poll, State, Ungated};
    use iotadm::schema::STANDARD;
    use iotadm::tree::{Principal, Tree, UriLimits};

    const SRV: Principal<'static> = Principal::Server("srv1");

    type EdFumo<'a> = Fumo<ImgInst<'a, Ed25519Verifier>, Part<'a>, Ungated>;

    fn open_fumo<'a>(flash: &'a RefCell<Dev>, version: u32, key: &ImgtoolKey) -> EdFumo<'a> {
        let inst = open(flash, version, ed(key));
        Fumo::open(
            &STANDARD,
            "fw",
            inst,
            part(flash, FUMO),
            Ungated,
            Default::default(),
        )
        .unwrap()
    }

    fn poll(fumo: &mut EdFumo<'_>) -> Poll {
        let mut buf = [0u8; 300];
        let mut dl = MemDownloader::default();
        let mut ui = ScriptedUser::default();
        let mut progress = |_| {};
        let mut io = Io {
            downloader: &mut dl,
            ui: &mut ui,
            progress: &mut progress,
            buf: &mut buf,
        };
        fumo.poll(&mut io).unwrap()
    }

    /// The part with the FUMO region and the tree: 1.0.0 under `key` in slot A.
    fn part_with_room(key: &ImgtoolKey) -> RefCell<Dev> {
        let small = factory_image(&imgtool_sign(key, &payload(1, 3000), "1.0.0", &[]));
        let mut bytes = vec![0xFF; BIG_FLASH];
        bytes[..FLASH_LEN].copy_from_slice(small.as_bytes());
        wrap(iotadm::flash::MemFlash::with_erase_counters(
            bytes,
            vec![0; BIG_FLASH / SECTOR],
        ))
    }

    /// Pushes `image` into `Update/PkgData` and runs `Exec` on `Update`.
    fn push_and_update<'a>(
        flash: &'a RefCell<Dev>,
        key: &ImgtoolKey,
        image: &[u8],
    ) -> (Result<(), StatusCode>, EdFumo<'a>) {
        let mut tree = Tree::mount(
            storage::<128, 8192, 512>(),
            &STANDARD,
            part(flash, TREE),
            open_fumo(flash, code("1.0.0"), key),
            UriLimits::DEFAULT,
        )
        .unwrap();
        tree.add(Principal::Device, "./FUMO/fw", None, None, None)
            .unwrap();
        let node = "./FUMO/fw/Update/PkgData";
        let mut w = tree
            .begin_write(SRV, node, false, Some(image.len() as u64), None)
            .unwrap();
        let mut pushed = Ok(());
        for c in image.chunks(256) {
            pushed = tree.write_chunk(&mut w, c);
            if pushed.is_err() {
                break;
            }
        }
        let ended = tree.end_write(SRV, w, pushed.is_ok(), None);
        tree.exec(SRV, "./FUMO/fw/Update", b"", Some("u")).unwrap();
        let (_, fumo) = tree.into_parts();
        (pushed.and(ended), fumo)
    }

    #[test]
    fn an_image_delivered_as_the_package_updates_and_reports() {
        let Some(k) = keys() else { return };
        let image = imgtool_sign(&k.ed, &payload(2, 4000), "1.2.3+4", &[]);
        let flash = part_with_room(&k.ed);
        let (pushed, mut fumo) = push_and_update(&flash, &k.ed, &image);
        assert_eq!(pushed, Ok(()));
        assert_eq!(fumo.pkg_version(), "1.2.3+4");
        assert_eq!(poll(&mut fumo), Poll::Reboot);
        drop(fumo);
        let mut boot = open(&flash, 0, ed(&k.ed));
        assert_eq!(boot.boot_decision().unwrap().slot, Slot::B);
        drop(boot);
        let mut fumo = open_fumo(&flash, 0x0102_0003, &k.ed);
        assert_eq!(poll(&mut fumo), Poll::AwaitingConfirm);
        fumo.confirm_update().unwrap();
        let r = fumo.pending_report().unwrap();
        assert_eq!(
            (r.result(), r.alert().data),
            (ResultCode::Successful, "200")
        );
    }

    #[test]
    fn an_image_with_a_bad_signature_reports_404() {
        let Some(k) = keys() else { return };
        let mut image = imgtool_sign(&k.ed, &payload(2, 4000), "1.2.3", &[]);
        let at = tlv_value_at(&image, mcuboot::tlv::ED25519) + 3;
        image[at] ^= 0x01;
        let flash = part_with_room(&k.ed);
        let (pushed, fumo) = push_and_update(&flash, &k.ed, &image);
        assert!(pushed.is_err());
        assert_eq!(fumo.state(), State::UpdateFailedNoData);
        let r = fumo.pending_report().unwrap();
        assert_eq!(
            (r.result(), r.alert().data),
            (ResultCode::FailedValidation, "404")
        );
        assert_eq!(fumo.installer().phase(), Phase::Idle);
    }
}
