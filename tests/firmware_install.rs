//! The firmware installer through its public API: every verb, out-of-order calls, every
//! validation failure, bit flips, resumption, trial boots, confirm, rollback and backup.

mod firmware_common;

use std::cell::RefCell;

use firmware_common::*;
use iotadm::firmware::{
    AuthKind, BootReason, Error, Outcome, PackageBuilder, PackageError, PackageVerifier, Phase,
    Slot,
};
use iotadm::flash::{FaultPlan, FaultyFlash};
use iotadm::fumo::ResultCode;

fn fresh() -> RefCell<Dev> {
    wrap(factory(3000))
}

fn mem(flash: &RefCell<Dev>) -> std::cell::Ref<'_, Mem> {
    std::cell::Ref::map(flash.borrow(), |f| f.inner())
}

/// Download, verify, back up and arm version 2.
fn prepare(inst: &mut Inst<'_>, flash: &RefCell<Dev>, pkg: &[u8]) {
    inst.begin().unwrap();
    stream(inst, pkg, 0).unwrap();
    assert_eq!(inst.finish().unwrap(), 2);
    inst.backup(&mut part(flash, BACKUP), &mut [part(flash, USER)])
        .unwrap();
    inst.arm_trial().unwrap();
}

#[test]
fn update_confirm_and_one_erase_per_sector() {
    let flash = fresh();
    let pkg = package(2, &payload(2, 5000));
    let mut inst = installer(&flash, 1).unwrap();
    assert_eq!(inst.phase(), Phase::Idle);
    assert_eq!(inst.active_slot(), Slot::A);
    assert_eq!(inst.update_slot(), Slot::B);
    inst.begin().unwrap();
    assert_eq!(inst.phase(), Phase::Downloading);
    stream(&mut inst, &pkg, 0).unwrap();
    assert_eq!(inst.received() as usize, pkg.len());
    assert_eq!(inst.package_len(), Some(pkg.len() as u32));
    assert_eq!(inst.finish().unwrap(), 2);
    assert_eq!(inst.phase(), Phase::Ready);
    assert_eq!(inst.state().target_version(), 2);
    let info = inst.verify_slot(Slot::B).unwrap();
    assert_eq!(info.version_code, 2);
    assert_eq!(info.version_name(), b"2.0");
    assert_eq!(info.payload_len, 5000);
    inst.arm_trial().unwrap();
    assert_eq!(inst.phase(), Phase::Trial);
    drop(inst);

    // Reboot: the bootloader starts the trial.
    let mut boot = installer(&flash, 0).unwrap();
    let d = boot.boot_decision().unwrap();
    assert_eq!(
        (d.slot, d.reason),
        (Slot::B, BootReason::Trial { attempt: 1 })
    );
    assert_eq!(valid_image(&mem(&flash), Slot::B), Some(2));
    drop(boot);

    let mut fw = installer(&flash, 2).unwrap();
    fw.confirm().unwrap();
    assert_eq!(fw.active_slot(), Slot::B);
    assert_eq!(fw.last_outcome(), Some(Outcome::Updated { version: 2 }));
    assert_eq!(
        ResultCode::from(fw.last_outcome().unwrap()),
        ResultCode::Successful
    );
    assert_eq!(fw.device().version(), 2);
    drop(fw);

    // Each slot-B sector the image covers was erased exactly once.
    let m = mem(&flash);
    let used = (512 + 5000usize).div_ceil(SECTOR);
    let b = sector_range(SLOT_B);
    let counts = &m.erase_counts()[b.start..b.start + used];
    assert!(counts.iter().all(|&c| c == 1), "slot B erases: {counts:?}");
    assert!(m.erase_counts()[b.start + used..b.end]
        .iter()
        .all(|&c| c == 0));
    assert_eq!(
        m.max_erases_in(sector_range(SLOT_A)),
        0,
        "the active slot is never touched"
    );
    drop(m);

    // Confirmed: it stays.
    for _ in 0..5 {
        let mut boot = installer(&flash, 0).unwrap();
        let d = boot.boot_decision().unwrap();
        assert_eq!((d.slot, d.reason), (Slot::B, BootReason::Normal));
    }
}

#[test]
fn out_of_order_calls_are_refused_and_change_nothing() {
    let flash = fresh();
    let pkg = package(2, &payload(2, 2000));
    let mut inst = installer(&flash, 1).unwrap();
    let mut bk = part(&flash, BACKUP);
    let mut user = [part(&flash, USER)];

    let check_idle = |inst: &mut Inst<'_>, bk: &mut Part<'_>, user: &mut [Part<'_>; 1]| {
        let before = inst.state();
        assert_eq!(inst.write_chunk(b"IOTF"), Err(Error::BadState));
        assert_eq!(inst.finish(), Err(Error::BadState));
        assert_eq!(inst.arm_trial(), Err(Error::BadState));
        assert_eq!(inst.confirm(), Err(Error::BadState));
        assert_eq!(inst.rollback(), Err(Error::BadState));
        assert_eq!(inst.resume(), Err(Error::BadState));
        assert_eq!(
            inst.abort(ResultCode::UserCancelled.into()),
            Err(Error::BadState)
        );
        assert_eq!(inst.backup(bk, user), Err(Error::BadState));
        assert_eq!(inst.restore(bk, user), Err(Error::BadState));
        assert_eq!(inst.state(), before);
    };
    check_idle(&mut inst, &mut bk, &mut user);

    inst.begin().unwrap();
    stream(&mut inst, &pkg[..600], 0).unwrap();
    let before = inst.state();
    assert_eq!(inst.arm_trial(), Err(Error::BadState));
    assert_eq!(inst.confirm(), Err(Error::BadState));
    assert_eq!(inst.rollback(), Err(Error::BadState));
    assert_eq!(inst.backup(&mut bk, &mut user), Err(Error::BadState));
    assert_eq!(inst.state(), before);
    stream(&mut inst, &pkg, 600).unwrap();
    inst.finish().unwrap();

    // Ready: no more chunks, no second finish, no confirm before a boot.
    let before = inst.state();
    assert_eq!(inst.write_chunk(b"x"), Err(Error::BadState));
    assert_eq!(inst.finish(), Err(Error::BadState));
    assert_eq!(inst.confirm(), Err(Error::BadState));
    assert_eq!(inst.rollback(), Err(Error::BadState));
    assert_eq!(inst.resume(), Err(Error::BadState));
    assert_eq!(inst.state(), before);

    inst.arm_trial().unwrap();
    let before = inst.state();
    assert_eq!(inst.begin(), Err(Error::BadState));
    assert_eq!(inst.arm_trial(), Err(Error::BadState));
    assert_eq!(inst.backup(&mut bk, &mut user), Err(Error::BadState));
    assert_eq!(inst.confirm(), Err(Error::BadState), "not booted yet");
    assert_eq!(
        inst.abort(ResultCode::UserCancelled.into()),
        Err(Error::BadState)
    );
    assert_eq!(inst.state(), before);
    assert_eq!(ResultCode::from(Error::BadState), ResultCode::ClientError);
}

/// Streams `pkg` and finishes; returns the first error.
fn try_install(flash: &RefCell<Dev>, pkg: &[u8], running: u32) -> Result<u32, Error> {
    let mut inst = installer(flash, running)?;
    inst.begin()?;
    stream(&mut inst, pkg, 0)?;
    inst.finish()
}

fn assert_refused(flash: &RefCell<Dev>, err: Error, code: u16) {
    let Error::Package(refusal) = err else {
        panic!("not a refusal: {err:?}")
    };
    assert_eq!(u16::from(ResultCode::from(err)), code, "{err:?}");
    let mut inst = installer(flash, 5).unwrap();
    assert_eq!(inst.phase(), Phase::Idle);
    assert_eq!(
        inst.last_outcome(),
        Some(Outcome::Failed {
            reason: refusal.failure()
        })
    );
    assert_eq!(
        inst.arm_trial(),
        Err(Error::BadState),
        "nothing can be armed"
    );
    let d = inst.boot_decision().unwrap();
    assert_eq!((d.slot, d.reason), (Slot::A, BootReason::Normal));
    assert_eq!(valid_image(&mem(flash), Slot::A), Some(1));
}

#[test]
fn each_validation_failure_gives_its_result_code() {
    let body = payload(6, 1500);
    let b = || {
        PackageBuilder::new(MODEL, HW)
            .from_versions(4, 5)
            .to_version(6, "6.0")
    };
    let with = |b: PackageBuilder<'_>, key: &[u8]| {
        let mut p = b.header_hmac(&body, key).unwrap().to_vec();
        p.extend_from_slice(&body);
        p
    };
    let good = with(b(), KEY);
    assert_eq!(
        try_install(&fresh(), &good, 5),
        Ok(6),
        "the control package installs"
    );

    let mut bad_magic = good.clone();
    bad_magic[0] = b'X';
    let mut unsupported = good.clone();
    unsupported[4] = 9;
    let mut bad_hash = good.clone();
    *bad_hash.last_mut().unwrap() ^= 0x80;
    let cases: Vec<(Vec<u8>, PackageError, u16)> = vec![
        (bad_magic, PackageError::BadMagic, 402),
        (unsupported, PackageError::UnsupportedFormat(9), 405),
        (bad_hash, PackageError::HashMismatch, 402),
        (
            with(
                PackageBuilder::new("IOTA-2", HW)
                    .from_versions(4, 5)
                    .to_version(6, ""),
                KEY,
            ),
            PackageError::WrongModel,
            403,
        ),
        (
            with(
                PackageBuilder::new(MODEL, "rev-d")
                    .from_versions(4, 5)
                    .to_version(6, ""),
                KEY,
            ),
            PackageError::WrongHardware,
            403,
        ),
        (
            with(b().from_versions(1, 4), KEY),
            PackageError::WrongFromVersion,
            403,
        ),
        (
            with(b().from_versions(6, 9), KEY),
            PackageError::WrongFromVersion,
            403,
        ),
        (
            with(b(), b"another model's key"),
            PackageError::BadAuthenticator,
            404,
        ),
        (
            with(b().to_version(5, "5.0"), KEY),
            PackageError::Downgrade,
            405,
        ),
        (
            with(b().to_version(4, "4.0"), KEY),
            PackageError::Downgrade,
            405,
        ),
    ];
    for (pkg, want, code) in cases {
        let flash = fresh();
        let err = try_install(&flash, &pkg, 5).unwrap_err();
        assert_eq!(err, Error::Package(want));
        assert_refused(&flash, err, code);
    }

    // Too large for the slot: refused as soon as the header is in, nothing written.
    let big = payload(6, 8 * 1024);
    let mut p = b().header_hmac(&big, KEY).unwrap().to_vec();
    p.extend_from_slice(&big);
    let flash = fresh();
    let mut inst = installer(&flash, 5).unwrap();
    inst.begin().unwrap();
    let writes_before = mem(&flash).stats().writes;
    let err = inst.write_chunk(&p[..400]).unwrap_err();
    assert_eq!(err, Error::Package(PackageError::TooLarge));
    assert_eq!(
        mem(&flash).stats().writes - writes_before,
        1,
        "only the outcome record"
    );
    drop(inst);
    assert_refused(&flash, err, 501);

    // Truncated: finish before the last byte.
    let flash = fresh();
    let mut inst = installer(&flash, 5).unwrap();
    inst.begin().unwrap();
    stream(&mut inst, &good[..good.len() - 1], 0).unwrap();
    let err = inst.finish().unwrap_err();
    assert_eq!(err, Error::Package(PackageError::Truncated));
    drop(inst);
    assert_refused(&flash, err, 402);

    // Longer than declared.
    let flash = fresh();
    let mut long = good.clone();
    long.push(0);
    let err = try_install(&flash, &long, 5).unwrap_err();
    assert_eq!(err, Error::Package(PackageError::TooLong));
    assert_refused(&flash, err, 402);

    // Header length inconsistent with the authenticator length.
    let flash = fresh();
    let mut bad_len = good.clone();
    bad_len[138] = 31;
    let err = try_install(&flash, &bad_len, 5).unwrap_err();
    assert_eq!(err, Error::Package(PackageError::BadHeaderLength));
    assert_refused(&flash, err, 402);
}

#[test]
fn a_bit_flip_anywhere_is_refused() {
    let body = payload(2, 1200);
    let good = package(2, &body);
    let hl = good.len() - body.len();
    let mut seen = std::collections::BTreeSet::new();
    for pos in 0..good.len() {
        let mut p = good.clone();
        p[pos] ^= 1 << (pos % 8);
        let flash = fresh();
        let err = try_install(&flash, &p, 1).expect_err("a flipped package installed");
        if pos >= hl {
            assert_eq!(
                err,
                Error::Package(PackageError::HashMismatch),
                "payload byte {pos}"
            );
        }
        seen.insert(u16::from(ResultCode::from(err)));
        let inst = installer(&flash, 5).unwrap();
        assert_eq!(inst.phase(), Phase::Idle);
        assert!(matches!(inst.last_outcome(), Some(Outcome::Failed { .. })));
    }
    assert!(
        seen.contains(&402) && seen.contains(&403) && seen.contains(&404),
        "{seen:?}"
    );

    // A flip in flash after the bytes were written is caught by the re-read.
    for pos in [0usize, 511, 512, 700, 1199] {
        let flash = fresh();
        let mut inst = installer(&flash, 1).unwrap();
        inst.begin().unwrap();
        stream(&mut inst, &good, 0).unwrap();
        {
            let mut f = flash.borrow_mut();
            let raw = f.inner_mut().as_bytes_mut();
            let at = SLOT_B.0 as usize + 512 + pos;
            raw[at] ^= 0x04;
        }
        assert_eq!(
            inst.finish(),
            Err(Error::Package(PackageError::HashMismatch))
        );
        assert_eq!(inst.arm_trial(), Err(Error::BadState));
    }
}

#[test]
fn download_resumes_after_reboot_and_after_a_dropped_connection() {
    for cut in [100usize, 900, 2047, 3100, 4500] {
        let flash = fresh();
        let pkg = package(2, &payload(2, 4800));
        let mut inst = installer(&flash, 1).unwrap();
        inst.begin().unwrap();
        stream(&mut inst, &pkg[..cut], 0).unwrap();
        // Dropped connection: resume on the same installer.
        let off = inst.resume().unwrap() as usize;
        assert!(off <= cut);
        stream(&mut inst, &pkg[..cut + 300], off).unwrap();
        drop(inst);

        // Reboot.
        let mut inst = installer(&flash, 1).unwrap();
        assert_eq!(inst.phase(), Phase::Downloading);
        let off = inst.resume_offset() as usize;
        assert!(off <= cut + 300);
        if cut + 300 >= 512 + 1024 - 172 + 1024 {
            assert!(off > 0, "progress is recorded per sector (cut {cut})");
        }
        assert_eq!(inst.resume().unwrap() as usize, off);
        stream(&mut inst, &pkg, off).unwrap();
        assert_eq!(inst.finish().unwrap(), 2);
        assert_eq!(valid_image(&mem(&flash), Slot::B), Some(2));
        // Each of the two resumes erases again at most the sector it stopped in.
        let m = mem(&flash);
        let b = sector_range(SLOT_B);
        let total: u32 = m.erase_counts()[b.clone()].iter().sum();
        let used = (512 + 4800usize).div_ceil(SECTOR) as u32;
        assert!(total <= used + 2, "{:?}", &m.erase_counts()[b]);
    }
}

#[test]
fn a_failed_write_leaves_the_download_resumable() {
    let pkg = package(2, &payload(2, 4000));
    for n in [0u64, 3, 10, 40] {
        let flash = RefCell::new(FaultyFlash::new(
            factory(3000),
            FaultPlan::none().fail_write(n),
        ));
        let mut inst = installer(&flash, 1).unwrap();
        let r = inst.begin().and_then(|()| stream(&mut inst, &pkg, 0));
        if r.is_ok() {
            // The failure hit a state record write, which the log skips.
            assert_eq!(inst.finish(), Ok(2));
            continue;
        }
        assert!(matches!(r, Err(Error::Flash(_))), "{r:?}");
        assert_eq!(ResultCode::from(r.unwrap_err()), ResultCode::UpdateFailed);
        assert_eq!(inst.write_chunk(b"x"), Err(Error::BadState), "resume first");
        let off = match inst.resume() {
            Ok(off) => off,
            Err(Error::BadState) => {
                inst.begin().unwrap();
                0
            }
            Err(e) => panic!("{e:?}"),
        };
        stream(&mut inst, &pkg, off as usize).unwrap();
        assert_eq!(inst.finish(), Ok(2));
    }
}

#[test]
fn unconfirmed_trial_rolls_back_after_max_boots() {
    let flash = fresh();
    let pkg = package(2, &payload(2, 2500));
    let mut inst = installer(&flash, 1).unwrap();
    prepare(&mut inst, &flash, &pkg);
    drop(inst);
    for attempt in 1..=3 {
        let mut boot = installer(&flash, 0).unwrap();
        let d = boot.boot_decision().unwrap();
        assert_eq!((d.slot, d.reason), (Slot::B, BootReason::Trial { attempt }));
        assert_eq!(boot.state().trials(), attempt);
    }
    let mut boot = installer(&flash, 0).unwrap();
    let d = boot.boot_decision().unwrap();
    assert_eq!((d.slot, d.reason), (Slot::A, BootReason::RolledBack));
    assert_eq!(boot.phase(), Phase::Idle);
    assert_eq!(boot.active_slot(), Slot::A);
    let outcome = boot.last_outcome().unwrap();
    assert_eq!(outcome, Outcome::RolledBack { version: 2 });
    assert_eq!(ResultCode::from(outcome), ResultCode::UpdateFailed);
    assert!(boot.restore_pending());
    assert_eq!(boot.confirm(), Err(Error::BadState), "too late to confirm");
    let d = boot.boot_decision().unwrap();
    assert_eq!((d.slot, d.reason), (Slot::A, BootReason::Normal));
}

#[test]
fn backup_is_restored_on_rollback_and_dropped_on_confirm() {
    // Rollback: the new firmware changed the user data, the old one gets its data back.
    let flash = fresh();
    let pkg = package(2, &payload(2, 2500));
    let mut inst = installer(&flash, 1).unwrap();
    prepare(&mut inst, &flash, &pkg);
    assert!(inst.state().backup_valid());
    drop(inst);
    let mut boot = installer(&flash, 0).unwrap();
    assert_eq!(boot.boot_decision().unwrap().slot, Slot::B);
    drop(boot);
    write_user(&flash, &user_data(2)).unwrap();
    let mut fw = installer(&flash, 2).unwrap();
    assert_eq!(fw.rollback(), Ok(Slot::A));
    drop(fw);
    assert_eq!(user_region(&mem(&flash)), &user_data(2)[..]);
    let mut boot = installer(&flash, 0).unwrap();
    assert_eq!(boot.boot_decision().unwrap().slot, Slot::A);
    drop(boot);
    let mut old = installer(&flash, 1).unwrap();
    assert!(old.restore_pending());
    assert_eq!(
        old.begin(),
        Err(Error::BadState),
        "restore before anything else"
    );
    old.restore(&mut part(&flash, BACKUP), &mut [part(&flash, USER)])
        .unwrap();
    assert!(!old.restore_pending());
    assert_eq!(user_region(&mem(&flash)), &user_data(1)[..]);
    assert_eq!(old.last_outcome(), Some(Outcome::RolledBack { version: 2 }));
    old.acknowledge_outcome().unwrap();
    assert_eq!(old.last_outcome(), None);
    drop(old);
    assert_eq!(installer(&flash, 1).unwrap().last_outcome(), None);

    // Confirm: the new data stays and the backup no longer counts.
    let flash = fresh();
    let mut inst = installer(&flash, 1).unwrap();
    prepare(&mut inst, &flash, &pkg);
    assert_eq!(inst.boot_decision().unwrap().slot, Slot::B);
    write_user(&flash, &user_data(2)).unwrap();
    inst.confirm().unwrap();
    assert!(!inst.state().backup_valid());
    assert!(!inst.restore_pending());
    assert_eq!(user_region(&mem(&flash)), &user_data(2)[..]);
}

#[test]
fn a_corrupt_backup_is_not_restored() {
    let flash = fresh();
    let pkg = package(2, &payload(2, 1000));
    let mut inst = installer(&flash, 1).unwrap();
    prepare(&mut inst, &flash, &pkg);
    inst.boot_decision().unwrap();
    write_user(&flash, &user_data(2)).unwrap();
    inst.rollback().unwrap();
    flash.borrow_mut().inner_mut().as_bytes_mut()[BACKUP.0 as usize + 77] ^= 0x10;
    let r = inst.restore(&mut part(&flash, BACKUP), &mut [part(&flash, USER)]);
    assert_eq!(r, Err(Error::BackupCorrupt));
    assert_eq!(
        user_region(&mem(&flash)),
        &user_data(2)[..],
        "nothing erased"
    );
    assert!(
        !inst.restore_pending(),
        "given up, so updates are not blocked"
    );
    assert!(!inst.state().backup_valid());
    assert_eq!(inst.begin(), Ok(()));
}

#[test]
fn abort_records_the_given_code_and_a_second_update_uses_the_other_slot() {
    let flash = fresh();
    let mut inst = installer(&flash, 1).unwrap();
    inst.begin().unwrap();
    stream(&mut inst, &package(2, &payload(2, 900))[..500], 0).unwrap();
    inst.abort(ResultCode::UserCancelled.into()).unwrap();
    assert_eq!(
        inst.last_outcome(),
        Some(Outcome::Failed {
            reason: ResultCode::UserCancelled.into()
        })
    );
    assert_eq!(inst.phase(), Phase::Idle);

    prepare(&mut inst, &flash, &package(2, &payload(2, 900)));
    inst.boot_decision().unwrap();
    inst.confirm().unwrap();
    drop(inst);

    // Version 3 goes to slot A, now the update slot.
    let mut inst = installer(&flash, 2).unwrap();
    assert_eq!(inst.update_slot(), Slot::A);
    inst.begin().unwrap();
    let p3 = package(3, &payload(3, 2222));
    stream(&mut inst, &p3, 0).unwrap();
    assert_eq!(inst.finish(), Ok(3));
    inst.arm_trial().unwrap();
    let d = inst.boot_decision().unwrap();
    assert_eq!(d.slot, Slot::A);
    inst.confirm().unwrap();
    assert_eq!(inst.active_slot(), Slot::A);
    assert_eq!(valid_image(&mem(&flash), Slot::A), Some(3));
    assert_eq!(valid_image(&mem(&flash), Slot::B), Some(2));
}

/// A vendor's asymmetric scheme, standing in for a real signature check.
struct FakeSignature;

impl PackageVerifier for FakeSignature {
    fn verify(&self, kind: AuthKind, signed: &[u8], authenticator: &[u8]) -> bool {
        kind == AuthKind::Ed25519
            && authenticator.len() == 64
            && authenticator[..32] == iotadm::firmware::package::payload_digest(signed)
    }
}

#[test]
fn a_vendor_verifier_plugs_in() {
    let verifier: &dyn PackageVerifier = &FakeSignature;
    let flash = fresh();
    let mut inst = iotadm::firmware::Installer::new(
        part(&flash, SLOT_A),
        part(&flash, SLOT_B),
        part(&flash, STATE),
        device(1),
        verifier,
        Default::default(),
    )
    .unwrap();
    let body = payload(2, 1000);
    let b = PackageBuilder::new(MODEL, HW).to_version(2, "2.0");
    let sign = |s: &[u8]| {
        let mut sig = iotadm::firmware::package::payload_digest(s).to_vec();
        sig.resize(64, 0);
        sig
    };
    let signed = b
        .signed_part(
            1000,
            &iotadm::firmware::package::payload_digest(&body),
            AuthKind::Ed25519,
            64,
        )
        .unwrap();
    let mut pkg = signed.to_vec();
    pkg.extend_from_slice(&sign(&signed));
    pkg.extend_from_slice(&body);
    inst.begin().unwrap();
    stream(&mut inst, &pkg, 0).unwrap();
    assert_eq!(inst.finish(), Ok(2));

    // An HMAC package means nothing to this verifier.
    inst.begin().unwrap();
    let r = stream(&mut inst, &package(2, &body), 0);
    assert_eq!(r, Err(Error::Package(PackageError::BadAuthenticator)));
}
