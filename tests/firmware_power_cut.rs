//! Power cut at every mutating flash operation of a whole update (download, verify, backup,
//! arm, trial boot, user-data migration, confirm) and of rollbacks (automatic after
//! unconfirmed boots, and explicit, each with the user-data restore), for three package
//! sizes, with each interrupted operation left not started, completed, half-written or
//! garbled. After every cut the device restarts: each boot must start a valid image (old or
//! new, checked by hashing the slot), the installer state must be consistent, and the update
//! must then run to its end. The same sweep runs over a delta update, whose patch (made by
//! detools) is applied from slot A into slot B.

mod firmware_common;

use std::cell::RefCell;

use firmware_common::*;
use iotadm::firmware::{BootReason, Error, Outcome, Phase, Slot};
use iotadm::flash::{FaultyFlash, MemFlash};

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
fn drive(flash: &RefCell<Dev>, goal: Goal, pkg: &[u8]) -> Result<(), Lost> {
    for _boot in 0..12 {
        // Bootloader.
        let decision = {
            let mut boot = ok(flash, installer(flash, 0))?;
            ok(flash, boot.boot_decision())?
        };
        // Each slot hashed once per boot, independently of the installer.
        let images = {
            let f = flash.borrow();
            [
                valid_image(f.inner(), Slot::A),
                valid_image(f.inner(), Slot::B),
            ]
        };
        let image = |slot: Slot| images[slot as usize];
        let version = image(decision.slot)
            .unwrap_or_else(|| panic!("boots a corrupt image from {:?}", decision.slot));
        assert!(version == 1 || version == 2);

        // The firmware in that slot.
        let mut fw = ok(flash, installer(flash, version))?;
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

fn finish_and_arm(flash: &RefCell<Dev>, fw: &mut Inst<'_>) -> Result<(), Lost> {
    assert_eq!(ok(flash, fw.finish())?, 2);
    ok(
        flash,
        fw.backup(&mut part(flash, BACKUP), &mut [part(flash, USER)]),
    )?;
    ok(flash, fw.arm_trial())
}

/// The end state every run must reach.
fn check_end(mem: &Mem, goal: Goal) {
    let (slot, version, data) = match goal {
        Goal::Update => (Slot::B, 2, user_data(2)),
        _ => (Slot::A, 1, user_data(1)),
    };
    assert_eq!(valid_image(mem, slot), Some(version));
    assert_eq!(user_region(mem), &data[..], "user data");
}

/// The part as it is once version 2 is armed (the start of the rollback scenarios).
fn armed(v1_len: usize, pkg: &[u8]) -> Mem {
    let flash = wrap(factory(v1_len));
    {
        let mut fw = installer(&flash, 1).unwrap();
        fw.begin().unwrap();
        stream(&mut fw, pkg, 0).unwrap();
        finish_and_arm(&flash, &mut fw).unwrap();
    }
    flash.into_inner().into_inner()
}

#[test]
fn power_cut_sweep() {
    let mut sweep = CutSweep::new();
    for (size_index, len) in [700usize, 3333, 6000].into_iter().enumerate() {
        let pkg = package(2, &payload(2, len));
        let starts = [
            (Goal::Update, factory(2000)),
            (Goal::RollbackAuto, armed(2000, &pkg)),
            (Goal::RollbackExplicit, armed(2000, &pkg)),
        ];
        for (goal, start) in starts {
            // A clean run tells how many mutating operations there are to cut.
            let flash = wrap(copy(&start));
            drive(&flash, goal, &pkg).expect("clean run");
            let ops = flash.borrow().mutations();
            check_end(flash.borrow().inner(), goal);

            sweep.cut_each((len, goal), size_index as u64, ops, |plan| {
                let flash = RefCell::new(FaultyFlash::new(copy(&start), plan));
                assert!(drive(&flash, goal, &pkg).is_err(), "the cut happened");
                // Restart on what the cut left.
                let flash = wrap(flash.into_inner().into_inner());
                drive(&flash, goal, &pkg).expect("no second cut");
                check_end(flash.borrow().inner(), goal);
            });
        }
    }
    sweep.finish();
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
        let flash = wrap(copy(&start));
        drive(&flash, Goal::Update, &pkg).expect("clean run");
        let ops = flash.borrow().mutations();
        check_end(flash.borrow().inner(), Goal::Update);
        sweep.cut_each((len, compression), 16 + case as u64, ops, |plan| {
            let flash = RefCell::new(FaultyFlash::new(copy(&start), plan));
            assert!(
                drive(&flash, Goal::Update, &pkg).is_err(),
                "the cut happened"
            );
            let flash = wrap(flash.into_inner().into_inner());
            drive(&flash, Goal::Update, &pkg).expect("no second cut");
            check_end(flash.borrow().inner(), Goal::Update);
        });
    }
    sweep.finish_as("delta update: download, apply, arm, trial boot, confirm");
}
