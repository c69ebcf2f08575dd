//! Power cut at every mutating flash operation of whole FUMO updates: the server's
//! `Replace` and `Exec` on DownloadAndUpdate, the download from PkgURL (resumed with ranges),
//! verification, the backup of user data, arming, trial boots, the new image's migration
//! of user data, its confirm, and the report; and of rollbacks (automatic after
//! unconfirmed boots, and the new image giving itself up, each with the restore of user
//! data), for three package sizes and a delta package (a detools patch, applied in
//! verification), with each interrupted operation left not started, completed,
//! half-written or garbled.
//!
//! After every cut the device restarts. Each boot must start a valid image (old or new,
//! checked by hashing the slot), the FUMO state must agree with the installer's, and the
//! update must then run to its end and be reported with the expected result.

mod firmware_common;
mod fumo_common;

use std::cell::RefCell;

use firmware_common::*;
use fumo_common::*;
use iotadm::codes::StatusCode;
use iotadm::firmware::{BootReason, Phase, Slot};
use iotadm::flash::FaultyFlash;
use iotadm::fumo::{Config, Io, Op, Poll, ResultCode, State, Work};
use iotadm::session::NoUi;
use iotadm::tree::{NodeHandler, NodeRef};

const URL: &str = "http://127.0.0.1:9/v2";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Goal {
    /// Download, install and confirm version 2, and report 200.
    Update,
    /// Version 2 never confirms: rolled back after three trial boots, reported 410.
    RollbackAuto,
    /// Version 2 gives itself up on its first boot, reported 410.
    RollbackExplicit,
}

#[derive(Debug)]
struct Lost;

fn ok<T, E: std::fmt::Debug>(flash: &RefCell<Dev>, r: Result<T, E>) -> Result<T, Lost> {
    match r {
        Ok(v) => Ok(v),
        Err(_) if flash.borrow().is_cut() => Err(Lost),
        Err(e) => panic!("error without a power cut: {e:?}"),
    }
}

fn status(flash: &RefCell<Dev>, r: Result<(), StatusCode>) -> Result<(), Lost> {
    match r {
        Ok(()) => Ok(()),
        Err(_) if flash.borrow().is_cut() => Err(Lost),
        Err(e) => panic!("status {e:?} without a power cut"),
    }
}

fn node(path: &str, def: &str) -> (String, u16) {
    (path.to_string(), node_id(def))
}

/// Runs the device, boot after boot, until the goal's report is acknowledged. The server
/// sets the URL and executes DownloadAndUpdate whenever it finds the object idle with
/// nothing to report (it saw no 202 before the cut).
/// What the server knows; it survives the device's power cuts.
#[derive(Debug, Default)]
struct Server {
    /// It got the 202 for its Exec.
    accepted: bool,
    /// It got the final report.
    reported: bool,
}

fn drive(flash: &RefCell<Dev>, goal: Goal, pkg: &[u8], srv: &mut Server) -> Result<(), Lost> {
    let mut dl = MemDownloader::serving(URL, pkg);
    let mut ui = NoUi;
    let mut buf = [0u8; 512];
    let want = match goal {
        Goal::Update => ResultCode::Successful,
        _ => ResultCode::UpdateFailed,
    };
    for _boot in 0..16 {
        // Bootloader.
        let decision = {
            let mut boot = ok(flash, installer(flash, 0))?;
            ok(flash, boot.boot_decision())?
        };
        let images = {
            let f = flash.borrow();
            [
                valid_image(f.inner(), Slot::A),
                valid_image(f.inner(), Slot::B),
            ]
        };
        let version = images[decision.slot as usize]
            .unwrap_or_else(|| panic!("boots a corrupt image from {:?}", decision.slot));

        // The firmware: restore user data after a rollback, then open FUMO.
        let mut fumo = ok(flash, open_fumo(flash, version, Config::default()))?;
        if fumo.installer().inst.restore_pending() {
            assert_eq!(version, 1);
            let dev = fumo.installer_mut();
            ok(
                flash,
                dev.inst
                    .restore(&mut part(flash, BACKUP), &mut [part(flash, USER)]),
            )?;
        }
        let phase = fumo.installer().inst.phase();
        // The FUMO state agrees with the installer.
        match fumo.state() {
            State::UpdateProgressing => {
                assert!(matches!(phase, Phase::Ready | Phase::Trial), "{phase:?}")
            }
            State::DownloadProgressing => assert!(
                matches!(phase, Phase::Idle | Phase::Downloading | Phase::Ready),
                "{phase:?}"
            ),
            State::DownloadComplete => assert_eq!(phase, Phase::Ready),
            State::UpdateSuccessfulNoData => {
                assert_eq!((goal, version, decision.slot), (Goal::Update, 2, Slot::B))
            }
            State::UpdateFailedNoData => {
                assert_ne!(goal, Goal::Update);
                assert_eq!(version, 1);
            }
            State::Idle => assert!(fumo.pending_report().is_none()),
            other => panic!("unexpected state {other:?}"),
        }
        if phase == Phase::Trial {
            assert_eq!(fumo.state(), State::UpdateProgressing);
            assert_eq!(fumo.work(), Work::Trial);
        }
        if let Some(r) = fumo.pending_report() {
            assert_eq!((r.result(), r.operation()), (want, Op::DownloadAndUpdate));
            assert_eq!(r.alert().correlator, Some("corr-1"));
        }
        if let BootReason::Trial { .. } = decision.reason {
            assert_eq!(version, 2);
        }

        if srv.reported && fumo.pending_report().is_none() {
            assert_eq!(fumo.state(), State::Idle);
            return Ok(());
        }
        // The server's commands, until it has seen them accepted.
        if !srv.accepted {
            let (path, def) = node(
                "FUMO/fw/DownloadAndUpdate/PkgURL",
                "./FUMO/<x>/DownloadAndUpdate/PkgURL",
            );
            let url = NodeRef {
                def,
                path: &path,
                server: Some("srv1"),
            };
            status(flash, fumo.write(&url, URL.as_bytes()))?;
            let (path, def) = node("FUMO/fw/DownloadAndUpdate", "./FUMO/<x>/DownloadAndUpdate");
            let exec = NodeRef {
                def,
                path: &path,
                server: Some("srv1"),
            };
            status(flash, fumo.exec(&exec, b"", Some("corr-1")).map(|_| ()))?;
            srv.accepted = true;
        }

        // The device's step, until it has to reboot.
        loop {
            let mut progress = |_| {};
            let mut io = Io {
                downloader: &mut dl,
                ui: &mut ui,
                progress: &mut progress,
                buf: &mut buf,
            };
            let polled = ok(flash, fumo.poll(&mut io))?;
            // A package already whole in flash (a delta patch cut while being applied)
            // is applied again without fetching anything.
            assert!(
                dl.opens.iter().all(|&(_, at)| (at as usize) < pkg.len()),
                "a complete package fetched again: {:?}",
                dl.opens
            );
            match polled {
                Poll::Reboot => break,
                Poll::AwaitingConfirm => {
                    assert_eq!(version, 2);
                    // The new firmware migrates the user data, then keeps or gives up.
                    match write_user(flash, &user_data(2)) {
                        Ok(()) => {}
                        Err(()) if flash.borrow().is_cut() => return Err(Lost),
                        Err(()) => panic!("user data write failed"),
                    }
                    match goal {
                        Goal::Update => ok(flash, fumo.confirm_update())?,
                        Goal::RollbackExplicit => {
                            ok(flash, fumo.reject_update())?;
                            // Back to the old image.
                            break;
                        }
                        Goal::RollbackAuto => break,
                    }
                }
                Poll::Report => {
                    let r = fumo.pending_report().expect("a report");
                    assert_eq!(r.result(), want);
                    srv.reported = true;
                    assert!(ok(flash, fumo.report_delivered(&r, Some(StatusCode::Ok)))?);
                    assert_eq!(fumo.state(), State::Idle);
                    return Ok(());
                }
                Poll::Retry => {}
                other => panic!("{goal:?}: unexpected poll {other:?}"),
            }
        }
    }
    panic!("{goal:?} did not finish in 16 boots");
}

fn check_end(mem: &Mem, goal: Goal) {
    let (slot, version, data) = match goal {
        Goal::Update => (Slot::B, 2, user_data(2)),
        _ => (Slot::A, 1, user_data(1)),
    };
    assert_eq!(valid_image(mem, slot), Some(version));
    assert!(
        user_region(mem) == &data[..],
        "user data of the wrong version"
    );
}

#[test]
fn fumo_power_cut_sweep() {
    let mut sweep = CutSweep::new();
    let base = payload(1, 2000);
    let target = next_build(&base, 2);
    let delta = detools_patch(&base, &target, "heatshrink")
        .map(|patch| delta_package(2, &base, &target, &patch));
    let packages = [700usize, 2900, 6000]
        .into_iter()
        .map(|len| (len, package(2, &payload(2, len))))
        .chain(delta.map(|pkg| (0, pkg)));
    for (size_index, (len, pkg)) in packages.enumerate() {
        for goal in [Goal::Update, Goal::RollbackAuto, Goal::RollbackExplicit] {
            let start = big_factory(2000);
            let flash = big_wrap(big_copy(&start));
            drive(&flash, goal, &pkg, &mut Server::default()).expect("clean run");
            let ops = flash.borrow().mutations();
            check_end(flash.borrow().inner(), goal);

            sweep.cut_each((len, goal), size_index as u64, ops, |plan| {
                let flash = RefCell::new(FaultyFlash::new(big_copy(&start), plan));
                let mut srv = Server::default();
                assert!(
                    drive(&flash, goal, &pkg, &mut srv).is_err(),
                    "the cut happened"
                );
                let flash = big_wrap(flash.into_inner().into_inner());
                drive(&flash, goal, &pkg, &mut srv).expect("no second cut");
                check_end(flash.borrow().inner(), goal);
            });
        }
    }
    sweep.finish();
}
