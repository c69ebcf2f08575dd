//! The FUMO object through the public API: the DDF, every state transition and result
//! code, both delivery paths (large object into PkgData, download from PkgURL with ranges),
//! resumption, user deferral and rejection, each validation failure and a bit flip at every
//! byte of a package, the FirmwareGate, and reports across the reboot that applies an update.

mod firmware_common;
mod fumo_common;

use firmware_common::*;
use fumo_common::*;
use iotadm::codes::StatusCode;
use iotadm::firmware::{PackageBuilder, Phase, Slot};
use iotadm::fumo::{
    AlertTypes, Config, DownloadError, FirmwareGate, FirmwareInstaller, Fumo, Io, Op, Poll,
    Progress, ResultCode, State, Work,
};
use iotadm::schema::{Format, STANDARD};
use iotadm::session::UiAnswer;
use iotadm::tree::{ExecOutcome, NodeHandler, NodeRef, Principal};

const SRV: Principal<'static> = Principal::Server("srv1");
const URL: &str = "http://127.0.0.1:9/fw/v2.bin";

/// The value of the node at `uri`, as the server reads it.
fn value<F, H>(tree: &mut iotadm::tree::Tree<'_, F, H>, uri: &str) -> String
where
    F: embedded_storage::nor_flash::NorFlash,
    H: iotadm::tree::Handlers,
{
    let mut buf = [0u8; 256];
    let r = tree.get(SRV, uri, 0, &mut buf).unwrap();
    String::from_utf8(buf[..r.len].to_vec()).unwrap()
}

fn state_node(tree: &mut DmTree<'_>) -> String {
    value(tree, "./FUMO/fw/State")
}

/// The object (version 1, default configuration) in its tree, the server's `PkgURL` set
/// to [`URL`].
fn mounted_with_url(flash: &std::cell::RefCell<Dev>) -> DmTree<'_> {
    let fumo = open_fumo(flash, 1, Config::default()).unwrap();
    let mut tree = mount(flash, fumo);
    tree.replace(SRV, "./FUMO/fw/Download/PkgURL", URL.as_bytes(), None, None)
        .unwrap();
    tree
}

fn poll(
    fumo: &mut DevFumo<'_>,
    dl: &mut MemDownloader,
    ui: &mut ScriptedUser,
    seen: &mut Vec<Progress>,
) -> Poll {
    let mut buf = [0u8; 300];
    let mut progress = |p: Progress| seen.push(p);
    let mut io = Io {
        downloader: dl,
        ui,
        progress: &mut progress,
        buf: &mut buf,
    };
    fumo.poll(&mut io).unwrap()
}

fn poll_simple(fumo: &mut DevFumo<'_>, dl: &mut MemDownloader, ui: &mut ScriptedUser) -> Poll {
    poll(fumo, dl, ui, &mut Vec::new())
}

#[test]
fn the_ddf_describes_fumo_1_0() {
    let flash = big_wrap(big_factory(2000));
    let fumo = open_fumo(&flash, 1, Config::default()).unwrap();
    let mut tree = mount(&flash, fumo);
    let mut buf = [0u8; 64];
    let r = tree.get(SRV, "./FUMO/fw?prop=Type", 0, &mut buf).unwrap();
    assert_eq!(&buf[..r.len], b"urn:oma:mo:oma-fumo:1.0");
    let r = tree.get(SRV, "./FUMO/fw", 0, &mut buf).unwrap();
    assert_eq!(
        &buf[..r.len],
        b"PkgName/PkgVersion/Download/Update/DownloadAndUpdate/State/Ext"
    );
    let r = tree.get(SRV, "./FUMO/fw/State", 0, &mut buf).unwrap();
    assert_eq!((r.format, &buf[..r.len]), (Format::Int, &b"10"[..]));
    // Access types: State is read-only, PkgData write-only, the operations executable.
    assert_eq!(
        tree.replace(SRV, "./FUMO/fw/State", b"50", None, None),
        Err(StatusCode::CommandNotAllowed)
    );
    assert_eq!(
        tree.get(SRV, "./FUMO/fw/Update/PkgData", 0, &mut buf),
        Err(StatusCode::CommandNotAllowed)
    );
    assert_eq!(
        tree.exec(SRV, "./FUMO/fw/State", b"", None),
        Err(StatusCode::CommandNotAllowed)
    );
    assert_eq!(
        tree.add(SRV, "./FUMO/fw2", None, None, None),
        Err(StatusCode::CommandNotAllowed)
    );
    let r = tree
        .get(SRV, "./FUMO/fw/Update/PkgData?prop=Format", 0, &mut buf)
        .unwrap();
    assert_eq!(&buf[..r.len], b"bin");
    // A URL too long to keep is refused and changes nothing.
    let long = format!(
        "http://127.0.0.1/{}",
        "a".repeat(iotadm::limits::FUMO_URL_LEN)
    );
    assert_eq!(
        tree.replace(
            SRV,
            "./FUMO/fw/Download/PkgURL",
            long.as_bytes(),
            None,
            None
        ),
        Err(StatusCode::RequestEntityTooLarge)
    );
    tree.replace(SRV, "./FUMO/fw/Download/PkgURL", URL.as_bytes(), None, None)
        .unwrap();
    assert_eq!(value(&mut tree, "./FUMO/fw/Download/PkgURL"), URL);
}

#[test]
fn download_then_update_with_reports_across_the_reboot() {
    let pkg = package(2, &payload(2, 5000));
    let flash = big_wrap(big_factory(2000));
    let mut dl = MemDownloader::serving(URL, &pkg);
    let mut ui = ScriptedUser::default();
    {
        let mut tree = mounted_with_url(&flash);
        assert_eq!(
            tree.exec(SRV, "./FUMO/fw/Download", b"", Some("dl-7")),
            Ok(ExecOutcome::Accepted)
        );
        // Nothing happens until the device polls; the Exec is remembered.
        assert_eq!(state_node(&mut tree), "10");
        let (_, fumo) = tree.into_parts();
        let mut fumo = reopen(&flash, fumo);
        assert_eq!(fumo.work(), Work::ConfirmDownload);
        let mut seen = Vec::new();
        assert_eq!(poll(&mut fumo, &mut dl, &mut ui, &mut seen), Poll::Report);
        assert_eq!(ui.asked, ["Download a firmware update?"]);
        assert_eq!(fumo.state(), State::DownloadComplete);
        assert_eq!(fumo.pkg_version(), "2.0");
        // Progress only grows and ends at the package length.
        assert!(seen.windows(2).all(|w| w[0].received < w[1].received));
        assert_eq!(
            seen.last(),
            Some(&Progress {
                received: pkg.len() as u32,
                total: Some(pkg.len() as u32)
            })
        );
        assert_eq!(dl.opens, [(URL.to_string(), 0)]);

        let report = fumo.pending_report().unwrap();
        let alert = report.alert();
        assert_eq!(alert.alert_type, AlertTypes::FUMO_1_0.download);
        assert_eq!(
            (alert.data, alert.format, alert.correlator, alert.source),
            ("200", "int", Some("dl-7"), Some("./FUMO/fw"))
        );
        assert_eq!(alert.mark, None);
        // Not acknowledged: kept for a later session.
        assert!(!fumo
            .report_delivered(&report, Some(StatusCode::CommandFailed))
            .unwrap());
        assert!(!fumo.report_delivered(&report, None).unwrap());
        assert!(fumo
            .report_delivered(&report, Some(StatusCode::Ok))
            .unwrap());
        assert_eq!(fumo.state(), State::ReadyToUpdate);
        assert!(fumo.pending_report().is_none());

        let mut tree = mount(&flash, fumo);
        let mut buf = [0u8; 64];
        let r = tree.get(SRV, "./FUMO/fw/PkgVersion", 0, &mut buf).unwrap();
        assert_eq!(&buf[..r.len], b"2.0");
        let r = tree.get(SRV, "./FUMO/fw/PkgName", 0, &mut buf).unwrap();
        assert_eq!(&buf[..r.len], b"IOTA-1 2.0");
        assert_eq!(
            tree.exec(SRV, "./FUMO/fw/Update", b"", Some("up-8")),
            Ok(ExecOutcome::Accepted)
        );
        let fumo = tree.handlers_mut();
        assert_eq!(poll_simple(fumo, &mut dl, &mut ui), Poll::Reboot);
        assert_eq!(
            ui.asked[1],
            "Install firmware 2.0? The device will restart."
        );
        assert_eq!(fumo.state(), State::UpdateProgressing);
        assert_eq!(state_node(&mut tree), "60");
        // Polling again before the reboot still says reboot.
        assert_eq!(
            poll_simple(tree.handlers_mut(), &mut dl, &mut ui),
            Poll::Reboot
        );
        // An Exec while the update is under way is refused.
        assert_eq!(
            tree.exec(SRV, "./FUMO/fw/Download", b"", None),
            Err(StatusCode::CommandFailed)
        );
    }
    // The reboot: the new image runs on trial, and its FUMO still says 60.
    let (slot, mut fumo) = reboot(&flash);
    assert_eq!(slot, Slot::B);
    assert_eq!(fumo.state(), State::UpdateProgressing);
    assert!(fumo.pending_report().is_none());
    assert_eq!(
        poll_simple(&mut fumo, &mut dl, &mut ui),
        Poll::AwaitingConfirm
    );
    fumo.confirm_update().unwrap();
    assert_eq!(fumo.state(), State::UpdateSuccessfulNoData);
    let report = fumo.pending_report().unwrap();
    assert_eq!(
        (
            report.alert().alert_type,
            report.alert().data,
            report.alert().correlator
        ),
        (AlertTypes::FUMO_1_0.update, "200", Some("up-8"))
    );
    assert_eq!(report.operation(), Op::Update);
    // The report survives another reboot until it is acknowledged.
    drop(fumo);
    let (_, mut fumo) = reboot(&flash);
    assert_eq!(fumo.pending_report(), Some(report.clone()));
    assert_eq!(poll_simple(&mut fumo, &mut dl, &mut ui), Poll::Report);
    assert!(fumo
        .report_delivered(&report, Some(StatusCode::Accepted))
        .unwrap());
    assert_eq!(fumo.state(), State::Idle);
    assert_eq!(fumo.operation(), Op::None);
    assert_eq!(fumo.installer().inst.last_outcome(), None);
    assert_eq!(poll_simple(&mut fumo, &mut dl, &mut ui), Poll::Idle);
}

/// Opens the FUMO object again over the same flash (a restart of the FUMO layer).
fn reopen<'a>(flash: &'a std::cell::RefCell<Dev>, fumo: DevFumo<'a>) -> DevFumo<'a> {
    drop(fumo);
    open_fumo(flash, 1, Config::default()).unwrap()
}

#[test]
fn download_and_update_rolls_back_when_the_image_is_not_confirmed() {
    let pkg = package(2, &payload(2, 3000));
    let flash = big_wrap(big_factory(2000));
    let mut dl = MemDownloader::serving(URL, &pkg);
    let mut ui = ScriptedUser::default();
    {
        let fumo = open_fumo(&flash, 1, Config::default()).unwrap();
        let mut tree = mount(&flash, fumo);
        tree.replace(
            SRV,
            "./FUMO/fw/DownloadAndUpdate/PkgURL",
            URL.as_bytes(),
            None,
            None,
        )
        .unwrap();
        tree.exec(SRV, "./FUMO/fw/DownloadAndUpdate", b"", Some("dau"))
            .unwrap();
        assert_eq!(
            poll_simple(tree.handlers_mut(), &mut dl, &mut ui),
            Poll::Reboot
        );
        assert_eq!(ui.asked.len(), 2, "asked before download and before update");
    }
    // Three trial boots without a confirm, then the bootloader goes back to version 1.
    for _ in 0..3 {
        let (slot, mut fumo) = reboot(&flash);
        assert_eq!(slot, Slot::B);
        assert_eq!(
            poll_simple(&mut fumo, &mut dl, &mut ui),
            Poll::AwaitingConfirm
        );
    }
    let (slot, mut fumo) = reboot(&flash);
    assert_eq!(slot, Slot::A);
    assert_eq!(fumo.state(), State::UpdateFailedNoData);
    let report = fumo.pending_report().unwrap();
    let alert = report.alert();
    assert_eq!(
        (alert.alert_type, alert.data, alert.mark, alert.correlator),
        (
            AlertTypes::FUMO_1_0.download_and_update,
            "410",
            Some("critical"),
            Some("dau")
        )
    );
    fumo.report_delivered(&report, Some(StatusCode::Ok))
        .unwrap();
    assert_eq!(fumo.state(), State::Idle);
}

#[test]
fn the_new_image_may_give_itself_up() {
    let pkg = package(2, &payload(2, 1500));
    let flash = big_wrap(big_factory(2000));
    let mut dl = MemDownloader::serving(URL, &pkg);
    let mut ui = ScriptedUser::default();
    let config = Config {
        alert_types: AlertTypes::URN,
        ..Config::default()
    };
    {
        let fumo = open_fumo(&flash, 1, config).unwrap();
        let mut tree = mount(&flash, fumo);
        tree.replace(
            SRV,
            "./FUMO/fw/DownloadAndUpdate/PkgURL",
            URL.as_bytes(),
            None,
            None,
        )
        .unwrap();
        tree.exec(SRV, "./FUMO/fw/DownloadAndUpdate", b"", None)
            .unwrap();
        assert_eq!(
            poll_simple(tree.handlers_mut(), &mut dl, &mut ui),
            Poll::Reboot
        );
    }
    let slot = installer(&flash, 0).unwrap().boot_decision().unwrap().slot;
    assert_eq!(slot, Slot::B);
    let mut fumo = open_fumo(&flash, 2, config).unwrap();
    fumo.reject_update().unwrap();
    assert_eq!(fumo.state(), State::UpdateFailedNoData);
    let r = fumo.pending_report().unwrap();
    assert_eq!(
        r.alert().alert_type,
        "urn:oma:at:fumo:1.0:downloadandupdate"
    );
    assert_eq!((r.alert().data, r.alert().correlator), ("410", None));
    assert_eq!(fumo.confirm_update(), Err(iotadm::fumo::Error::BadState));
}

/// Pushes `pkg` into `node` as a large object, in chunks of `chunk` bytes.
fn push(tree: &mut DmTree<'_>, node: &str, pkg: &[u8], chunk: usize) -> Result<(), StatusCode> {
    let mut w = tree.begin_write(SRV, node, false, Some(pkg.len() as u64), None)?;
    for c in pkg.chunks(chunk) {
        if let Err(e) = tree.write_chunk(&mut w, c) {
            let _ = tree.end_write(SRV, w, false, None);
            return Err(e);
        }
    }
    tree.end_write(SRV, w, true, None)
}

#[test]
fn a_package_pushed_into_pkg_data_streams_to_flash_then_updates() {
    let pkg = package(2, &payload(2, 4000));
    let flash = big_wrap(big_factory(2000));
    let mut dl = MemDownloader::default();
    let mut ui = ScriptedUser::default();
    let fumo = open_fumo(&flash, 1, Config::default()).unwrap();
    let mut tree = mount(&flash, fumo);
    // While the object streams, the bytes are in the update slot already.
    let mut w = tree
        .begin_write(
            SRV,
            "./FUMO/fw/Update/PkgData",
            false,
            Some(pkg.len() as u64),
            None,
        )
        .unwrap();
    for c in pkg[..2500].chunks(333) {
        tree.write_chunk(&mut w, c).unwrap();
    }
    assert_eq!(state_node(&mut tree), "30");
    let in_slot = flash.borrow().inner().as_bytes()
        [(SLOT_B.0 + iotadm::firmware::IMAGE_OFFSET) as usize..][..1024]
        .to_vec();
    let hl = iotadm::firmware::PackageHeader::parse(&pkg).unwrap().len();
    assert_eq!(in_slot, pkg[hl..hl + 1024]);
    for c in pkg[2500..].chunks(333) {
        tree.write_chunk(&mut w, c).unwrap();
    }
    tree.end_write(SRV, w, true, None).unwrap();
    assert_eq!(state_node(&mut tree), "50");
    assert_eq!(tree.handlers_mut().installer().phase(), Phase::Ready);
    tree.exec(SRV, "./FUMO/fw/Update", b"", Some("u1")).unwrap();
    assert_eq!(
        poll_simple(tree.handlers_mut(), &mut dl, &mut ui),
        Poll::Reboot
    );
    drop(tree);
    let (_, mut fumo) = reboot(&flash);
    fumo.confirm_update().unwrap();
    let r = fumo.pending_report().unwrap();
    assert_eq!(
        (r.alert().alert_type, r.alert().data),
        (AlertTypes::FUMO_1_0.update, "200")
    );
}

#[test]
fn a_package_pushed_into_download_and_update_installs_without_a_url() {
    let pkg = package(2, &payload(2, 1200));
    let flash = big_wrap(big_factory(2000));
    let mut dl = MemDownloader::default();
    let mut ui = ScriptedUser::default();
    let fumo = open_fumo(&flash, 1, Config::default()).unwrap();
    let mut tree = mount(&flash, fumo);
    push(&mut tree, "./FUMO/fw/DownloadAndUpdate/PkgData", &pkg, 100).unwrap();
    tree.exec(SRV, "./FUMO/fw/DownloadAndUpdate", b"", Some("d"))
        .unwrap();
    assert_eq!(state_node(&mut tree), "40");
    assert_eq!(
        poll_simple(tree.handlers_mut(), &mut dl, &mut ui),
        Poll::Reboot
    );
    assert!(dl.opens.is_empty(), "nothing downloaded");
    assert_eq!(ui.asked.len(), 1, "only the update is confirmed");
}

#[test]
fn a_large_object_cut_off_keeps_nothing() {
    let pkg = package(2, &payload(2, 3000));
    let flash = big_wrap(big_factory(2000));
    let fumo = open_fumo(&flash, 1, Config::default()).unwrap();
    let mut tree = mount(&flash, fumo);
    let mut w = tree
        .begin_write(
            SRV,
            "./FUMO/fw/Update/PkgData",
            false,
            Some(pkg.len() as u64),
            None,
        )
        .unwrap();
    tree.write_chunk(&mut w, &pkg[..1500]).unwrap();
    // The session ends without the last chunk.
    assert_eq!(
        tree.end_write(SRV, w, true, None),
        Err(StatusCode::SizeMismatch)
    );
    assert_eq!(state_node(&mut tree), "10");
    assert_ne!(tree.handlers_mut().installer().phase(), Phase::Ready);
    // And after a reboot in the middle of one.
    let mut w = tree
        .begin_write(
            SRV,
            "./FUMO/fw/Update/PkgData",
            false,
            Some(pkg.len() as u64),
            None,
        )
        .unwrap();
    tree.write_chunk(&mut w, &pkg[..2500]).unwrap();
    drop(w);
    drop(tree);
    let (_, fumo) = reboot(&flash);
    assert_eq!(fumo.state(), State::Idle);
    assert_eq!(fumo.installer().phase(), Phase::Idle);
}

#[test]
fn every_validation_failure_is_reported_and_installs_nothing() {
    let good = payload(2, 1500);
    let b = |model: &'static str, hw: &'static str| PackageBuilder::new(model, hw);
    let hmac = |builder: PackageBuilder<'_>, key: &[u8]| {
        let mut p = builder.header_hmac(&good, key).unwrap().to_vec();
        p.extend_from_slice(&good);
        p
    };
    let mut truncated = package(2, &good);
    truncated.truncate(truncated.len() - 10);
    let mut corrupted = package(2, &good);
    let last = corrupted.len() - 1;
    corrupted[last] ^= 1;
    let mut too_long = package(2, &good);
    too_long.push(0);
    let cases: Vec<(&str, Vec<u8>, ResultCode)> = vec![
        ("payload corrupted", corrupted, ResultCode::CorruptedPackage),
        ("truncated", truncated, ResultCode::CorruptedPackage),
        ("trailing bytes", too_long, ResultCode::CorruptedPackage),
        (
            "another model",
            hmac(b("IOTA-9", HW).to_version(2, "2.0"), KEY),
            ResultCode::PackageMismatch,
        ),
        (
            "another hardware",
            hmac(b(MODEL, "rev-z").to_version(2, "2.0"), KEY),
            ResultCode::PackageMismatch,
        ),
        (
            "from a version not installed",
            hmac(b(MODEL, HW).from_versions(5, 6).to_version(7, "7.0"), KEY),
            ResultCode::PackageMismatch,
        ),
        (
            "bad authenticator",
            hmac(b(MODEL, HW).to_version(2, "2.0"), b"another key"),
            ResultCode::FailedValidation,
        ),
        (
            "a downgrade",
            hmac(b(MODEL, HW).from_versions(1, 1).to_version(1, "1.0"), KEY),
            ResultCode::PackageNotAcceptable,
        ),
        (
            "too large for the slot",
            {
                let big = payload(2, 9000);
                let mut p = PackageBuilder::new(MODEL, HW)
                    .from_versions(1, 1)
                    .to_version(2, "2.0")
                    .header_hmac(&big, KEY)
                    .unwrap()
                    .to_vec();
                p.extend_from_slice(&big);
                p
            },
            ResultCode::DownloadOutOfMemory,
        ),
        (
            "not a package",
            vec![0x42; 600],
            ResultCode::CorruptedPackage,
        ),
    ];
    for (what, pkg, code) in cases {
        // Downloaded: Download Failed, reported for the Exec.
        let flash = big_wrap(big_factory(2000));
        let mut dl = MemDownloader::serving(URL, &pkg);
        let mut ui = ScriptedUser::default();
        let mut tree = mounted_with_url(&flash);
        tree.exec(SRV, "./FUMO/fw/Download", b"", Some("c"))
            .unwrap();
        let fumo = tree.handlers_mut();
        assert_eq!(poll_simple(fumo, &mut dl, &mut ui), Poll::Report, "{what}");
        assert_eq!(fumo.state(), State::DownloadFailed, "{what}");
        assert_eq!(fumo.pending_report().unwrap().result(), code, "{what}");
        assert_ne!(fumo.installer().phase(), Phase::Ready, "{what}");
        assert_eq!(state_node(&mut tree), "20");
        let report = tree.handlers_mut().pending_report().unwrap();
        tree.handlers_mut()
            .report_delivered(&report, Some(StatusCode::Ok))
            .unwrap();
        assert_eq!(state_node(&mut tree), "10");

        // Pushed: the Replace fails, and the next Exec on Update reports why.
        let status = push(&mut tree, "./FUMO/fw/Update/PkgData", &pkg, 256);
        assert!(status.is_err(), "{what}");
        assert_eq!(state_node(&mut tree), "20", "{what}");
        tree.exec(SRV, "./FUMO/fw/Update", b"", Some("u")).unwrap();
        assert_eq!(state_node(&mut tree), "80", "{what}");
        let r = tree.handlers_mut().pending_report().unwrap();
        assert_eq!(
            (r.result(), r.alert().alert_type),
            (code, AlertTypes::FUMO_1_0.update)
        );
        assert_eq!(valid_image(flash.borrow().inner(), Slot::B), None, "{what}");
    }
}

#[test]
fn a_bit_flip_anywhere_in_the_package_is_refused() {
    let pkg = package(2, &payload(2, 300));
    let start = big_factory(2000);
    for at in 0..pkg.len() {
        let mut bad = pkg.clone();
        bad[at] ^= 1 << (at % 8);
        let flash = big_wrap(big_copy(&start));
        let fumo = open_fumo(&flash, 1, Config::default()).unwrap();
        let mut tree = mount(&flash, fumo);
        assert!(
            push(&mut tree, "./FUMO/fw/Update/PkgData", &bad, 64).is_err(),
            "flip at {at} accepted"
        );
        assert_eq!(state_node(&mut tree), "20");
        let fumo = tree.handlers_mut();
        assert_ne!(fumo.installer().phase(), Phase::Ready);
        tree.exec(SRV, "./FUMO/fw/Update", b"", None).unwrap();
        let r = tree.handlers_mut().pending_report().unwrap();
        assert!(
            matches!(
                r.result(),
                ResultCode::CorruptedPackage
                    | ResultCode::PackageMismatch
                    | ResultCode::FailedValidation
                    | ResultCode::PackageNotAcceptable
                    | ResultCode::DownloadOutOfMemory
            ),
            "flip at {at}: {:?}",
            r.result()
        );
    }
}

#[test]
fn a_dropped_connection_resumes_from_what_is_in_flash() {
    let pkg = package(2, &payload(2, 6000));
    let flash = big_wrap(big_factory(2000));
    let mut dl = MemDownloader::serving(URL, &pkg);
    dl.drop_after = Some(2500);
    let mut ui = ScriptedUser::default();
    let mut tree = mounted_with_url(&flash);
    tree.exec(SRV, "./FUMO/fw/Download", b"", None).unwrap();
    drop(tree);
    let mut fumo = open_fumo(&flash, 1, Config::default()).unwrap();
    assert_eq!(poll_simple(&mut fumo, &mut dl, &mut ui), Poll::Retry);
    assert_eq!(fumo.state(), State::DownloadProgressing);
    // Resumed in the same boot, then after a reboot.
    assert_eq!(poll_simple(&mut fumo, &mut dl, &mut ui), Poll::Retry);
    drop(fumo);
    let mut fumo = open_fumo(&flash, 1, Config::default()).unwrap();
    let mut seen = Vec::new();
    dl.drop_after = None;
    assert_eq!(poll(&mut fumo, &mut dl, &mut ui, &mut seen), Poll::Report);
    assert_eq!(
        fumo.pending_report().unwrap().result(),
        ResultCode::Successful
    );
    // Each resume asked for the bytes after the last whole sector in flash, never 0.
    let offsets: Vec<u32> = dl.opens.iter().map(|(_, o)| *o).collect();
    assert_eq!(offsets.len(), 3);
    assert_eq!(offsets[0], 0);
    assert!(offsets[1] > 0 && offsets[2] > offsets[1]);
    assert!(offsets.iter().all(|&o| o as usize <= pkg.len()));
    // The progress reported after the last resume starts where that download did.
    assert!(seen[0].received > offsets[2]);
    assert_eq!(ui.asked.len(), 1, "the user is asked once");
}

#[test]
fn a_server_that_ignores_the_range_is_followed() {
    let pkg = package(2, &payload(2, 5000));
    let flash = big_wrap(big_factory(2000));
    let mut dl = MemDownloader::serving(URL, &pkg);
    dl.drop_after = Some(3000);
    let mut ui = ScriptedUser::default();
    let mut tree = mounted_with_url(&flash);
    tree.exec(SRV, "./FUMO/fw/Download", b"", None).unwrap();
    let fumo = tree.handlers_mut();
    assert_eq!(poll_simple(fumo, &mut dl, &mut ui), Poll::Retry);
    dl.drop_after = None;
    dl.ignore_range = true;
    assert_eq!(poll_simple(fumo, &mut dl, &mut ui), Poll::Report);
    assert_eq!(
        fumo.pending_report().unwrap().result(),
        ResultCode::Successful
    );
    assert!(dl.opens[1].1 > 0);
}

#[test]
fn download_failures_map_to_their_result_codes() {
    let pkg = package(2, &payload(2, 800));
    let cases = [
        (DownloadError::BadUrl, ResultCode::BadUrl),
        (
            DownloadError::Unreachable,
            ResultCode::DownloadServerUnavailable,
        ),
        (
            DownloadError::Authentication,
            ResultCode::DownloadAuthenticationFailure,
        ),
        (DownloadError::Timeout, ResultCode::DownloadTimeout),
        (DownloadError::Network, ResultCode::DownloadNetworkError),
        (DownloadError::Server(404), ResultCode::DownloadServerError),
        (DownloadError::Protocol, ResultCode::DownloadServerError),
    ];
    for (error, code) in cases {
        let flash = big_wrap(big_factory(2000));
        let mut dl = MemDownloader::serving(URL, &pkg);
        dl.fail = Some(error);
        let mut ui = ScriptedUser::default();
        let config = Config {
            download_retries: 2,
            ..Config::default()
        };
        let fumo = open_fumo(&flash, 1, config).unwrap();
        let mut tree = mount(&flash, fumo);
        tree.replace(
            SRV,
            "./FUMO/fw/DownloadAndUpdate/PkgURL",
            URL.as_bytes(),
            None,
            None,
        )
        .unwrap();
        tree.exec(SRV, "./FUMO/fw/DownloadAndUpdate", b"", None)
            .unwrap();
        let fumo = tree.handlers_mut();
        let mut polls = Vec::new();
        loop {
            let p = poll_simple(fumo, &mut dl, &mut ui);
            polls.push(p);
            if p != Poll::Retry {
                break;
            }
        }
        // Transient failures are retried (each resuming), the others fail at once.
        let retries = if error.is_transient() { 2 } else { 0 };
        assert_eq!(polls.len(), retries + 1, "{error:?}");
        assert_eq!(fumo.state(), State::DownloadFailed, "{error:?}");
        let r = fumo.pending_report().unwrap();
        assert_eq!(
            (r.result(), r.alert().mark),
            (code, Some("critical")),
            "{error:?}"
        );
        assert_eq!(
            r.alert().alert_type,
            AlertTypes::FUMO_1_0.download_and_update
        );
    }
    // No URL at all: 411 at once, without asking the user.
    let flash = big_wrap(big_factory(2000));
    let fumo = open_fumo(&flash, 1, Config::default()).unwrap();
    let mut tree = mount(&flash, fumo);
    tree.exec(SRV, "./FUMO/fw/Download", b"", None).unwrap();
    assert_eq!(state_node(&mut tree), "20");
    let r = tree.handlers_mut().pending_report().unwrap();
    assert_eq!(r.result(), ResultCode::BadUrl);
    // Nothing to update: 80, client error.
    let report = r;
    tree.handlers_mut()
        .report_delivered(&report, Some(StatusCode::Ok))
        .unwrap();
    tree.exec(SRV, "./FUMO/fw/Update", b"", None).unwrap();
    assert_eq!(state_node(&mut tree), "80");
    assert_eq!(
        tree.handlers_mut().pending_report().unwrap().result(),
        ResultCode::ClientError
    );
}

#[test]
fn the_user_defers_then_accepts_or_rejects() {
    let pkg = package(2, &payload(2, 2000));
    // Deferred twice (No, then no answer), across a restart, then accepted.
    let flash = big_wrap(big_factory(2000));
    let mut dl = MemDownloader::serving(URL, &pkg);
    let mut ui = ScriptedUser::answering(&[UiAnswer::No, UiAnswer::Timeout]);
    let mut tree = mounted_with_url(&flash);
    tree.exec(SRV, "./FUMO/fw/Download", b"", None).unwrap();
    assert_eq!(
        poll_simple(tree.handlers_mut(), &mut dl, &mut ui),
        Poll::Deferred
    );
    drop(tree);
    let mut fumo = open_fumo(&flash, 1, Config::default()).unwrap();
    assert_eq!(fumo.work(), Work::ConfirmDownload);
    assert_eq!(fumo.state(), State::Idle);
    assert_eq!(poll_simple(&mut fumo, &mut dl, &mut ui), Poll::Deferred);
    assert!(dl.opens.is_empty());
    assert_eq!(poll_simple(&mut fumo, &mut dl, &mut ui), Poll::Report);
    assert_eq!(ui.asked.len(), 3);
    let r = fumo.pending_report().unwrap();
    fumo.report_delivered(&r, Some(StatusCode::Ok)).unwrap();

    // The update question: cancelled is a rejection, 401, and the package stays.
    let mut tree = mount(&flash, fumo);
    tree.exec(SRV, "./FUMO/fw/Update", b"", Some("u")).unwrap();
    let mut ui = ScriptedUser::answering(&[UiAnswer::Cancelled]);
    let fumo = tree.handlers_mut();
    assert_eq!(poll_simple(fumo, &mut dl, &mut ui), Poll::Report);
    assert_eq!(fumo.state(), State::UpdateFailedHaveData);
    let r = fumo.pending_report().unwrap();
    assert_eq!(
        (r.result(), r.alert().data),
        (ResultCode::UserCancelled, "401")
    );
    fumo.report_delivered(&r, Some(StatusCode::Ok)).unwrap();
    assert_eq!(fumo.state(), State::ReadyToUpdate);
    // So the server may try again.
    tree.exec(SRV, "./FUMO/fw/Update", b"", Some("u2")).unwrap();
    let mut ui = ScriptedUser::default();
    assert_eq!(
        poll_simple(tree.handlers_mut(), &mut dl, &mut ui),
        Poll::Reboot
    );

    // Rejecting the download: 401 and 20; too many deferrals count as a rejection.
    for (answers, max) in [
        (vec![UiAnswer::Cancelled], None),
        (vec![UiAnswer::No, UiAnswer::No, UiAnswer::No], Some(2)),
    ] {
        let flash = big_wrap(big_factory(2000));
        let config = Config {
            max_deferrals: max,
            ..Config::default()
        };
        let fumo = open_fumo(&flash, 1, config).unwrap();
        let mut tree = mount(&flash, fumo);
        tree.replace(SRV, "./FUMO/fw/Download/PkgURL", URL.as_bytes(), None, None)
            .unwrap();
        tree.exec(SRV, "./FUMO/fw/Download", b"", None).unwrap();
        let mut ui = ScriptedUser::answering(&answers);
        let fumo = tree.handlers_mut();
        let mut last = Poll::Idle;
        for _ in 0..answers.len() {
            last = poll_simple(fumo, &mut dl, &mut ui);
        }
        assert_eq!(last, Poll::Report);
        assert_eq!(fumo.state(), State::DownloadFailed);
        assert_eq!(
            fumo.pending_report().unwrap().result(),
            ResultCode::UserCancelled
        );
    }

    // A handset that cannot ask goes ahead; so does one configured not to ask.
    let flash = big_wrap(big_factory(2000));
    let fumo = open_fumo(&flash, 1, Config::default()).unwrap();
    let mut tree = mount(&flash, fumo);
    tree.replace(
        SRV,
        "./FUMO/fw/DownloadAndUpdate/PkgURL",
        URL.as_bytes(),
        None,
        None,
    )
    .unwrap();
    tree.exec(SRV, "./FUMO/fw/DownloadAndUpdate", b"", None)
        .unwrap();
    let mut ui = ScriptedUser::answering(&[UiAnswer::NotSupported, UiAnswer::NotSupported]);
    assert_eq!(
        poll_simple(tree.handlers_mut(), &mut dl, &mut ui),
        Poll::Reboot
    );
}

struct Locked;

impl FirmwareGate for Locked {
    fn allow_update(&mut self, server: Option<&str>) -> Result<(), StatusCode> {
        if server == Some("srv1") {
            Err(StatusCode::PermissionDenied)
        } else {
            Ok(())
        }
    }
}

#[test]
fn the_firmware_gate_refuses_an_exec_with_its_status() {
    let flash = big_wrap(big_factory(2000));
    let dev = fumo_device(&flash, 1).unwrap();
    let mut fumo = Fumo::open(
        &STANDARD,
        "fw",
        dev,
        part(&flash, FUMO),
        Locked,
        Config::default(),
    )
    .unwrap();
    fumo.write(
        &NodeRef {
            def: node_id("./FUMO/<x>/Download/PkgURL"),
            path: "FUMO/fw/Download/PkgURL",
            server: Some("srv1"),
        },
        URL.as_bytes(),
    )
    .unwrap();
    for op in ["Download", "Update", "DownloadAndUpdate"] {
        let path = format!("FUMO/fw/{op}");
        let node = NodeRef {
            def: node_id(&format!("./FUMO/<x>/{op}")),
            path: &path,
            server: Some("srv1"),
        };
        assert_eq!(
            fumo.exec(&node, b"", Some("c")),
            Err(StatusCode::PermissionDenied)
        );
        assert_eq!((fumo.state(), fumo.work()), (State::Idle, Work::None));
    }
    // Another server, or the device itself, may.
    let node = NodeRef {
        def: node_id("./FUMO/<x>/Download"),
        path: "FUMO/fw/Download",
        server: Some("srv2"),
    };
    assert_eq!(fumo.exec(&node, b"", None), Ok(ExecOutcome::Accepted));
    // A node of another instance is not this object's.
    let other = NodeRef {
        def: node_id("./FUMO/<x>/Download"),
        path: "FUMO/fw9/Download",
        server: None,
    };
    assert_eq!(fumo.exec(&other, b"", None), Err(StatusCode::NotFound));
}

/// [`open_fumo`] for version 1 with the default configuration, into `slot`.
fn open_in<'s, 'a>(
    slot: &'s mut std::mem::MaybeUninit<DevFumo<'a>>,
    flash: &'a std::cell::RefCell<Dev>,
    name: &str,
) -> Result<&'s mut DevFumo<'a>, iotadm::fumo::Error> {
    let dev = fumo_device(flash, 1)?;
    Fumo::open_in(
        slot,
        &STANDARD,
        name,
        dev,
        part(flash, FUMO),
        iotadm::fumo::Ungated,
        Config::default(),
    )
}

/// Opening the object in place (a device keeping it in a `static`) reads what opening it
/// by value reads: the state settled with the installer and the URL the server set.
#[test]
fn opening_in_place_reads_what_opening_by_value_reads() {
    let flash = big_wrap(big_factory(2000));
    let tree = mounted_with_url(&flash);
    drop(tree);
    let by_value = open_fumo(&flash, 1, Config::default()).unwrap();
    let expected = format!("{by_value:?}");
    drop(by_value);

    let mut slot = std::mem::MaybeUninit::uninit();
    let in_place = open_in(&mut slot, &flash, "fw").unwrap();
    assert_eq!(format!("{in_place:?}"), expected);
    let mut storage = Box::new(iotadm::tree::TreeStorage::<64, 4096, 1024>::new());
    let mut tree = iotadm::tree::Tree::mount(
        &mut storage,
        &STANDARD,
        part(&flash, TREE),
        in_place,
        iotadm::tree::UriLimits::DEFAULT,
    )
    .unwrap();
    assert_eq!(value(&mut tree, "./FUMO/fw/Download/PkgURL"), URL);
}

/// A name that is not one node segment is refused in place as it is by value.
#[test]
fn opening_in_place_refuses_a_bad_name() {
    let flash = big_wrap(big_factory(2000));
    let mut slot = std::mem::MaybeUninit::uninit();
    let opened = open_in(&mut slot, &flash, "a/b");
    assert!(matches!(opened, Err(iotadm::fumo::Error::Layout)));
}

/// A record that cannot be written changes nothing: the object answers with what flash
/// holds, as it would after a restart.
#[test]
fn a_record_write_that_fails_leaves_the_object_as_flash_has_it() {
    use iotadm::flash::{FaultPlan, FaultyFlash};
    let flash = big_wrap(big_factory(2000));
    let mut tree = mounted_with_url(&flash);
    // The next write anywhere on the part fails.
    flash.replace_with(|old| {
        let mem = std::mem::replace(old, FaultyFlash::new(big_factory(0), FaultPlan::none()));
        FaultyFlash::new(mem.into_inner(), FaultPlan::none().fail_write(0))
    });
    let other = "http://127.0.0.1:9/fw/v3.bin";
    assert_eq!(
        tree.replace(
            SRV,
            "./FUMO/fw/Download/PkgURL",
            other.as_bytes(),
            None,
            None
        ),
        Err(StatusCode::DataStoreFailure)
    );
    assert_eq!(value(&mut tree, "./FUMO/fw/Download/PkgURL"), URL);
    // Later writes work, and the value changes.
    tree.replace(
        SRV,
        "./FUMO/fw/Download/PkgURL",
        other.as_bytes(),
        None,
        None,
    )
    .unwrap();
    assert_eq!(value(&mut tree, "./FUMO/fw/Download/PkgURL"), other);
}
