//! Delta updates through the installer: a detools sequential patch (made by the `detools`
//! tool itself) in a format 2 package is applied from the running image in slot A into
//! slot B, checked against the package's hash of the new image, armed and confirmed; a
//! package for another base image, a damaged patch and a patch that does not match its
//! hash are each refused with their FUMO result code and leave the old image booting.

mod firmware_common;

use firmware_common::*;
use iotadm::firmware::{Error, Failure, Outcome, PackageError, Phase, Slot, IMAGE_OFFSET};

/// Installs `pkg` on a factory part holding version 1 of `base_len` bytes; returns the
/// result of the install and the part after it.
fn install(base_len: usize, pkg: &[u8]) -> (Result<u32, Error>, Mem) {
    let flash = wrap(factory(base_len));
    let result = {
        let mut fw = installer(&flash, 1).unwrap();
        fw.begin().unwrap();
        match stream(&mut fw, pkg, 0) {
            Ok(()) => fw.finish(),
            Err(e) => Err(e),
        }
    };
    (result, flash.into_inner().into_inner())
}

fn slot_image(mem: &Mem, slot: Slot, len: usize) -> &[u8] {
    let at = match slot {
        Slot::A => SLOT_A.0,
        Slot::B => SLOT_B.0,
    } as usize
        + IMAGE_OFFSET as usize;
    &mem.as_bytes()[at..at + len]
}

#[test]
fn each_compression_installs_the_exact_image() {
    let base = payload(1, 2000);
    let target = next_build(&base, 2);
    for compression in ["none", "heatshrink", "crle"] {
        let Some(patch) = detools_patch(&base, &target, compression) else {
            return;
        };
        let pkg = delta_package(2, &base, &target, &patch);
        let flash = wrap(factory(base.len()));
        let mut fw = installer(&flash, 1).unwrap();
        fw.begin().unwrap();
        stream(&mut fw, &pkg, 0).unwrap();
        assert_eq!(fw.finish(), Ok(2), "{compression}");
        fw.arm_trial().unwrap();
        assert_eq!(fw.boot_decision().unwrap().slot, Slot::B);
        fw.confirm().unwrap();
        assert_eq!(fw.last_outcome(), Some(Outcome::Updated { version: 2 }));
        drop(fw);
        let mem = flash.into_inner().into_inner();
        assert_eq!(
            slot_image(&mem, Slot::B, target.len()),
            &target[..],
            "{compression}"
        );
        assert_eq!(valid_image(&mem, Slot::B), Some(2));
        assert_eq!(valid_image(&mem, Slot::A), Some(1), "the base is only read");
    }
}

#[test]
fn a_package_for_another_base_is_refused_before_its_patch() {
    let base = payload(1, 2000);
    let target = next_build(&base, 2);
    let Some(patch) = detools_patch(&base, &target, "heatshrink") else {
        return;
    };
    let pkg = delta_package(2, &base, &target, &patch);
    // The device runs another build of version 1: one byte differs.
    let mut mem = factory(base.len());
    mem.as_bytes_mut()[(SLOT_A.0 + IMAGE_OFFSET) as usize + 1234] ^= 1;
    let flash = wrap(mem);
    let mut fw = installer(&flash, 1).unwrap();
    fw.begin().unwrap();
    let header_len = iotadm::firmware::PackageHeader::parse(&pkg).unwrap().len();
    assert_eq!(
        fw.write_chunk(&pkg[..header_len]),
        Err(Error::Package(PackageError::WrongBase))
    );
    assert_eq!(
        fw.last_outcome(),
        Some(Outcome::Failed {
            reason: Failure::Mismatch
        })
    );
    assert_eq!(PackageError::WrongBase.failure(), Failure::Mismatch);
    assert_eq!(fw.phase(), Phase::Idle);
    assert_eq!(fw.boot_decision().unwrap().slot, Slot::A);
    drop(fw);
    let mem = flash.into_inner().into_inner();
    assert_eq!(
        valid_image(&mem, Slot::B),
        None,
        "nothing of it was written"
    );
}

#[test]
fn a_damaged_patch_is_refused_and_nothing_is_armed() {
    let base = payload(1, 2000);
    let target = next_build(&base, 2);
    let Some(patch) = detools_patch(&base, &target, "heatshrink") else {
        return;
    };
    let mut refused = 0;
    for at in (0..patch.len()).step_by(patch.len() / 16 + 1) {
        let mut bad = patch.clone();
        bad[at] ^= 0x5A;
        // Signed as it is, so only the apply or the image hash can catch it.
        let (result, mem) = install(base.len(), &delta_package(2, &base, &target, &bad));
        match result {
            Err(Error::Package(e)) => {
                assert!(
                    matches!(
                        e,
                        PackageError::BadPatch
                            | PackageError::HashMismatch
                            | PackageError::PatchNotSupported
                    ),
                    "flip at {at}: {e:?}"
                );
                refused += 1;
            }
            other => panic!("flip at {at}: {other:?}"),
        }
        assert_eq!(valid_image(&mem, Slot::A), Some(1));
        assert_eq!(PackageError::BadPatch.failure(), Failure::Corrupted);
    }
    assert!(refused > 0);
    // A patch other than the one the header hashes is refused before it is applied.
    let pkg = delta_package(2, &base, &target, &patch);
    let mut swapped = pkg.clone();
    let last = swapped.len() - 1;
    swapped[last] ^= 1;
    let (result, _) = install(base.len(), &swapped);
    assert_eq!(result, Err(Error::Package(PackageError::HashMismatch)));
}

#[test]
fn a_target_that_leaves_no_room_for_the_patch_is_too_large() {
    let base = payload(1, 2000);
    // Slot B is 8 KiB: a 7 KiB image leaves no sector for the patch after it.
    let target = payload(2, 7 * 1024);
    let Some(patch) = detools_patch(&base, &target, "none") else {
        return;
    };
    let (result, _) = install(base.len(), &delta_package(2, &base, &target, &patch));
    assert_eq!(result, Err(Error::Package(PackageError::TooLarge)));
}
