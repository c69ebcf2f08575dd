//! Power cut at every mutating flash operation of a whole update (download, verify, backup,
//! arm, trial boot, user-data migration, confirm) and of rollbacks (automatic after
//! unconfirmed boots, and explicit, each with the user-data restore), for three package
//! sizes, with each interrupted operation left not started, completed, half-written or
//! garbled. After every cut the device restarts: each boot must start a valid image (old or
//! new, checked by hashing the slot), the installer state must be consistent, and the update
//! must then run to its end. The same sweep runs over a delta update, whose patch (made by
//! detools) is applied from slot A into slot B, and over an MCUboot image (signed by
//! imgtool) replacing another.

mod firmware_common;

use std::cell::RefCell;

use firmware_common::*;
use iotadm::firmware::{
    BootReason, Config, Error, HmacSha256Verifier, Installer, Outcome, PackageVerifier, Phase, Slot,
};
use iotadm::flash::{FaultyFlash, MemFlash};

/// What a sweep installs: the verifier the installer checks it with, and how a slot is
/// found to hold a valid image (its version code), independently of the installer.
struct Kind<'k, V> {
    verifier: V,
    valid: &'k dyn Fn(&Mem, Slot) -> Option<u32>,
}

impl<V: PackageVerifier + Clone> Kind<'_, V> {
    fn open<'f>(
        &self,
        flash: &'f RefCell<Dev>,
        version: u32,
    ) -> Result<Installer<Part<'f>, Part<'f>, Part<'f>, V>, Error> {
        Installer::new(
            part(flash, SLOT_A),
            part(flash, SLOT_B),
            part(flash, STATE),
            device(version),
            self.verifier.clone(),
            Config { max_trial_boots: 3 },
        )
    }
}

/// Update packages under the test key.
fn packages() -> Kind<'static, HmacSha256Verifier> {
    Kind {
        verifier: HmacSha256Verifier::new(KEY).unwrap(),
        valid: &valid_image,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Goal {
    /// Install version 2 and confirm it.
    Update,
    /// Version 2 never confirms: the bootloader rolls back after three trial boots.
    RollbackAuto,
    /// Version 2 gives itself up on its first boot.
    RollbackExplicit,
}

/// Power went out; the run stops here.
#[derive(Debug)]
struct Lost;

/// Unwraps an installer result: an error is fine only when power has been lost.
fn ok<T>(flash: &RefCell<Dev>, r: Result<T, Error>) -> Result<T, Lost> {
    match r {
        Ok(v) => Ok(v),
        Err(_) if flash.borrow().is_cut() => Err(Lost),
        Err(e) => panic!("installer error without a power cut: {e:?}"),
    }
}

fn ok_user(flash: &RefCell<Dev>, r: Result<(), ()>) -> Result<(), Lost> {
    match r {
        Ok(()) => Ok(()),
        Err(()) if flash.borrow().is_cut() => Err(Lost),
        Err(()) => panic!("user data write failed without a power cut"),
    }
}

fn copy(mem: &Mem) -> Mem {
    MemFlash::with_erase_counters(mem.as_bytes().to_vec(), vec![0; FLASH_LEN / SECTOR])
}

/// Boots the device again and again, doing what the firmware would in each state, until
/// the goal is reached. Checks every boot.
fn drive<V: PackageVerifier + Clone>(
    flash: &RefCell<Dev>,
    goal: Goal,
    pkg: &[u8],
    kind: &Kind<'_, V>,
) -> Result<(), Lost> {
    for _boot in 0..12 {
        // Bootloader.
        let decision = {
            let mut boot = ok(flash, kind.open(flash, 0))?;
            ok(flash, boot.boot_decision())?
        };
        // Each slot hashed once per boot, independently of the installer.
        let images = {
            let f = flash.borrow();
            [
                (kind.valid)(f.inner(), Slot::A),
                (kind.valid)(f.inner(), Slot::B),
            ]
        };
        let image = |slot: Slot| images[slot as usize];
        let version = image(decision.slot)
            .unwrap_or_else(|| panic!("boots a corrupt image from {:?}", decision.slot));
        assert!(version == 1 || version == 2);

        // The firmware in that slot.
        let mut fw = ok(flash, kind.open(flash, version))?;
        let st = fw.state();
        match decision.reason {
            BootReason::Normal => assert_eq!(decision.slot, st.active()),
            BootReason::Trial { attempt } => {
                assert_eq!(decision.slot, st.active().other());
                assert_eq!(
                    (st.phase(), st.trials(), version),
                    (Phase::Trial, attempt, 2)
                );
            }
            BootReason::RolledBack => {
                assert_eq!(decision.slot, st.active());
                assert_eq!(st.outcome(), Some(Outcome::RolledBack { version: 2 }));
            }
            _ => unreachable!(),
        }
        assert_eq!(
            image(st.active()),
            Some(if st.active() == Slot::A { 1 } else { 2 }),
            "the active slot holds its image"
        );
        match st.phase() {
            Phase::Ready | Phase::Trial => {
                assert_eq!(st.target_version(), 2);
                assert_eq!(
                    image(fw.update_slot()),
                    Some(2),
                    "a ready or armed image is intact"
                );
            }
            Phase::Downloading => assert!(fw.resume_offset() as usize <= pkg.len()),
            _ => {}
        }

        if fw.restore_pending() {
            assert_eq!(version, 1);
            ok(
                flash,
                fw.restore(&mut part(flash, BACKUP), &mut [part(flash, USER)]),
            )?;
        }
        match (goal, fw.phase()) {
            (_, Phase::Trial) => {
                // The new firmware migrates the user data, then keeps or gives up.
                ok_user(flash, write_user(flash, &user_data(2)))?;
                match goal {
                    Goal::Update => ok(flash, fw.confirm())?,
                    Goal::RollbackExplicit => {
                        ok(flash, fw.rollback())?;
                    }
                    Goal::RollbackAuto => {}
                }
            }
            (Goal::Update, Phase::Idle) => match fw.last_outcome() {
                Some(Outcome::Updated { version: 2 }) => return Ok(()),
                None | Some(Outcome::Failed { .. }) => {
                    ok(flash, fw.begin())?;
                    ok(flash, stream(&mut fw, pkg, 0))?;
                    finish_and_arm(flash, &mut fw)?;
                }
                other => panic!("unexpected outcome {other:?}"),
            },
            (Goal::Update, Phase::Downloading) => {
                let from = ok(flash, fw.resume())?;
                ok(flash, stream(&mut fw, pkg, from as usize))?;
                finish_and_arm(flash, &mut fw)?;
            }
            (Goal::Update, Phase::Ready) => {
                if !fw.state().backup_valid() {
                    ok(
                        flash,
                        fw.backup(&mut part(flash, BACKUP), &mut [part(flash, USER)]),
                    )?;
                }
                ok(flash, fw.arm_trial())?;
            }
            (_, Phase::Idle) => {
                assert_eq!(fw.last_outcome(), Some(Outcome::RolledBack { version: 2 }));
                assert!(!fw.restore_pending());
                return Ok(());
            }
            (g, p) => panic!("{g:?}: unexpected phase {p:?}"),
        }
    }
    panic!("{goal:?} did not finish in 12 boots");
}

fn finish_and_arm<V: PackageVerifier>(
    flash: &RefCell<Dev>,
    fw: &mut Installer<Part<'_>, Part<'_>, Part<'_>, V>,
) -> Result<(), Lost> {
    assert_eq!(ok(flash, fw.finish())?, 2);
    ok(
        flash,
        fw.backup(&mut part(flash, BACKUP), &mut [part(flash, USER)]),
    )?;
    ok(flash, fw.arm_trial())
}

/// The end state every run must reach.
fn check_end<V>(mem: &Mem, goal: Goal, kind: &Kind<'_, V>) {
    let (slot, version, data) = match goal {
        Goal::Update => (Slot::B, 2, user_data(2)),
        _ => (Slot::A, 1, user_data(1)),
    };
    assert_eq!((kind.valid)(mem, slot), Some(version));
    assert_eq!(user_region(mem), &data[..], "user data");
}

/// The part `start` as it is once version 2 is armed (the start of the rollback scenarios).
fn armed<V: PackageVerifier + Clone>(start: Mem, pkg: &[u8], kind: &Kind<'_, V>) -> Mem {
    let flash = wrap(start);
    {
        let mut fw = kind.open(&flash, 1).unwrap();
        fw.begin().unwrap();
        stream(&mut fw, pkg, 0).unwrap();
        finish_and_arm(&flash, &mut fw).unwrap();
    }
    flash.into_inner().into_inner()
}

/// Every goal from the factory part `factory` with version 2 as `pkg`, each operation cut,
/// into `sweep` (seeds drawn from `seed`).
fn sweep_goals<V: PackageVerifier + Clone>(
    sweep: &mut CutSweep<(usize, Goal)>,
    seed: u64,
    factory: &Mem,
    pkg: &[u8],
    goals: &[Goal],
    kind: &Kind<'_, V>,
) {
    for &goal in goals {
        let start = match goal {
            Goal::Update => copy(factory),
            _ => armed(copy(factory), pkg, kind),
        };
        // A clean run tells how many mutating operations there are to cut.
        let flash = wrap(copy(&start));
        drive(&flash, goal, pkg, kind).expect("clean run");
        let ops = flash.borrow().mutations();
        check_end(flash.borrow().inner(), goal, kind);

        sweep.cut_each((pkg.len(), goal), seed, ops, |plan| {
            let flash = RefCell::new(FaultyFlash::new(copy(&start), plan));
            assert!(drive(&flash, goal, pkg, kind).is_err(), "the cut happened");
            // Restart on what the cut left.
            let flash = wrap(flash.into_inner().into_inner());
            drive(&flash, goal, pkg, kind).expect("no second cut");
            check_end(flash.borrow().inner(), goal, kind);
        });
    }
}

const ALL_GOALS: [Goal; 3] = [Goal::Update, Goal::RollbackAuto, Goal::RollbackExplicit];

#[test]
fn power_cut_sweep() {
    let mut sweep = CutSweep::new();
    for (size_index, len) in [700usize, 3333, 6000].into_iter().enumerate() {
        let pkg = package(2, &payload(2, len));
        let kind = packages();
        sweep_goals(
            &mut sweep,
            size_index as u64,
            &factory(2000),
            &pkg,
            &ALL_GOALS,
            &kind,
        );
    }
    sweep.finish();
}

/// The same over MCUboot images: version 0.0.1 (code 1) in slot A, 0.0.2 (code 2) written
/// to slot B as received. One image's unprotected TLV info header straddles the end of a
/// sector, so a resume may find half of it in flash.
#[cfg(all(feature = "mcuboot", feature = "ed25519"))]
#[test]
fn mcuboot_power_cut_sweep() {
    use iotadm::firmware::{mcuboot, Ed25519Verifier};
    let Some(key) = imgtool_keygen("ed25519") else {
        return;
    };
    let raw: [u8; 32] = key.spki[key.spki.len() - 32..].try_into().unwrap();
    let verifier = Ed25519Verifier::new(&raw).unwrap();
    // Slots hold the same few contents at cut after cut: each is verified once.
    let seen = RefCell::new(std::collections::HashMap::new());
    let valid = |mem: &Mem, slot: Slot| {
        use sha2::{Digest, Sha256};
        let bytes = slot_bytes(mem, slot);
        let digest: [u8; 32] = Sha256::digest(bytes).into();
        *seen.borrow_mut().entry(digest).or_insert_with(|| {
            let image = mcuboot::verify_image_bytes(bytes, &[&verifier]).ok()?;
            Some(image.version().code32())
        })
    };
    let kind = Kind {
        verifier: verifier.clone(),
        valid: &valid,
    };
    let factory = factory_image(&imgtool_sign(&key, &payload(1, 2000), "0.0.1", &[]));
    let mut sweep = CutSweep::new();
    for (i, (len, goals)) in [(3070 - 0x200, &ALL_GOALS[..]), (5000, &ALL_GOALS[..1])]
        .into_iter()
        .enumerate()
    {
        let image = imgtool_sign(&key, &payload(2, len), "0.0.2", &[]);
        sweep_goals(&mut sweep, 32 + i as u64, &factory, &image, goals, &kind);
    }
    sweep.finish_as("MCUboot image: download, verify, arm, trial boot, confirm or roll back");
}

#[test]
fn delta_power_cut_sweep() {
    let mut sweep = CutSweep::new();
    for (case, (len, compression)) in [(2000, "heatshrink"), (3000, "crle"), (2500, "none")]
        .into_iter()
        .enumerate()
    {
        let base = payload(1, len);
        let target = next_build(&base, 2);
        let Some(patch) = detools_patch(&base, &target, compression) else {
            return;
        };
        let pkg = delta_package(2, &base, &target, &patch);
        let start = factory(base.len());
        let kind = packages();
        let flash = wrap(copy(&start));
        drive(&flash, Goal::Update, &pkg, &kind).expect("clean run");
        let ops = flash.borrow().mutations();
        check_end(flash.borrow().inner(), Goal::Update, &kind);
        sweep.cut_each((len, compression), 16 + case as u64, ops, |plan| {
            let flash = RefCell::new(FaultyFlash::new(copy(&start), plan));
            assert!(
                drive(&flash, Goal::Update, &pkg, &kind).is_err(),
                "the cut happened"
            );
            let flash = wrap(flash.into_inner().into_inner());
            drive(&flash, Goal::Update, &pkg, &kind).expect("no second cut");
            check_end(flash.borrow().inner(), Goal::Update, &kind);
        });
    }
    sweep.finish_as("delta update: download, apply, arm, trial boot, confirm");
}
