//! FUMO through real DM sessions against the test server over HTTP on 127.0.0.1: the
//! server replaces a package into `Update/PkgData` as a large object and executes
//! `Update`; the device installs it, reboots into the new slot, and reports the result in
//! a new client-initiated session as a Generic Alert 1226 carrying the `Exec`'s
//! correlator. The same again with an image that is never confirmed: the bootloader goes
//! back to the old slot and the report says the update failed. And with the CDMA service
//! lock as the firmware gate, an `Exec` waits for the SPC (FOTA-2).

mod firmware_common;
mod fumo_common;

use std::cell::RefCell;

use embedded_storage::nor_flash::NorFlash;
use firmware_common::*;
use fumo_common::*;
use iotadm::auth::AuthScheme;
#[cfg(feature = "cdma")]
use iotadm::cdma::{Cdma, FlashPrlStore, HmacSpasm, Limits, Policy, ServiceLock};
use iotadm::codec::Encoding;
use iotadm::codes::StatusCode;
use iotadm::firmware::Slot;
use iotadm::flash::MemFlash;
use iotadm::fumo::{AlertTypes, Config as FumoConfig, FirmwareGate, Fumo, Io, Poll, State};
use iotadm::platform::NoClock;
use iotadm::schema::STANDARD;
use iotadm::session::{Config, DefaultAnswers, Env, GenericAlert, Initiation, Outcome};
use iotadm::tree::{HandlerTable, Handlers, NodeHandler, Principal, Tree, TreeStorage, UriLimits};
use iotadm_host::sim::{self, AccountSpec, CredSpec, SeededRng};
use iotadm_host::testserver::{Account, Cmd, Script, TestServer, Transcript, Value};
use iotadm_host::HttpTransport;

/// The client's MaxMsgSize: small enough that the package arrives in several chunks.
const MAX_MSG: u32 = 2048;

fn server(script: Script) -> TestServer {
    TestServer::start(
        vec![Account::new("srv1").client_basic("handset", "client-secret")],
        script,
    )
    .expect("test server starts")
}

/// Gives the device its account at the server, with the right to run firmware updates.
fn provision<F: NorFlash, H: Handlers>(tree: &mut Tree<'_, F, H>, server: &TestServer) {
    let url = server.url("srv1");
    let spec = AccountSpec {
        node: "srv1",
        server_id: "srv1",
        addr: &url,
        client: Some(CredSpec {
            scheme: AuthScheme::Basic,
            name: "handset",
            secret: "client-secret",
            nonce: b"",
        }),
        server: None,
        acl: None,
    };
    spec.provision(tree).expect("bootstrap applies");
    tree.replace(
        Principal::Device,
        "./FUMO?prop=ACL",
        b"Get=*&Replace=srv1&Exec=srv1",
        None,
        None,
    )
    .expect("FUMO ACL");
}

/// One client-initiated WBXML session of `srv1`, reporting `alerts` in package 1.
fn session<F: NorFlash, H: Handlers>(
    tree: &mut Tree<'_, F, H>,
    alerts: &[GenericAlert<'_>],
) -> Outcome {
    let mut ui = DefaultAnswers;
    let mut rng = SeededRng::new(11);
    let clock = NoClock;
    let mut env = Env {
        tree,
        ui: &mut ui,
        rng: &mut rng,
        clock: &clock,
        alerts,
    };
    let cfg = Config {
        encoding: Encoding::Wbxml,
        max_msg_size: MAX_MSG,
        ..Config::default()
    };
    sim::run_session(
        &mut env,
        cfg,
        "srv1",
        Initiation::Client,
        HttpTransport::new(),
        |_| {},
    )
    .expect("session runs to its end")
}

/// The device's step after the session: the user accepts, the update is armed.
fn poll<G: FirmwareGate>(fumo: &mut Fumo<Device<'_>, Part<'_>, G>) -> Poll {
    let mut dl = MemDownloader::default();
    let mut ui = ScriptedUser::default();
    let mut buf = [0u8; 512];
    let mut progress = |_| {};
    let mut io = Io {
        downloader: &mut dl,
        ui: &mut ui,
        progress: &mut progress,
        buf: &mut buf,
    };
    fumo.poll(&mut io).expect("poll")
}

/// The first session: the package as a large object into `Update/PkgData`, then `Exec`.
/// Returns the transcript once the device has armed the update.
fn deliver(flash: &RefCell<Dev>, pkg: &[u8]) -> Transcript {
    let server = server(delivery_script(pkg));
    let fumo = open_fumo(flash, 1, FumoConfig::default()).unwrap();
    let mut tree = mount(flash, fumo);
    provision(&mut tree, &server);
    let outcome = session(&mut tree, &[]);
    assert!(!outcome.aborted_by_server);
    assert_eq!(tree.handlers_mut().state(), State::ReadyToUpdate);
    assert_eq!(poll(tree.handlers_mut()), Poll::Reboot);
    assert_eq!(tree.handlers_mut().state(), State::UpdateProgressing);
    server.finish()
}

fn delivery_script(pkg: &[u8]) -> Script {
    Script::new().package([
        Cmd::replace_value("./FUMO/fw/Update/PkgData", Value::Bytes(pkg.to_vec())).label("pkg"),
        Cmd::exec("./FUMO/fw/Update")
            .correlator("fota-7")
            .label("update"),
        Cmd::get("./FUMO/fw/State").label("state"),
    ])
}

/// The reporting session after a reboot: the server acknowledges the Generic Alert.
fn report(flash: &RefCell<Dev>, fumo: DevFumo<'_>, expect: &str) -> Transcript {
    let server = server(Script::new());
    let mut tree = mount(flash, fumo);
    provision(&mut tree, &server);
    let report = tree
        .handlers_mut()
        .pending_report()
        .expect("a report waits");
    let outcome = session(&mut tree, &[report.alert()]);
    assert_eq!(outcome.alert_status.len(), 1);
    let status = outcome.alert_status[0];
    assert_eq!(status, Some(StatusCode::Ok));
    // Delivered and acknowledged: the object goes back to Idle and forgets it.
    assert!(tree
        .handlers_mut()
        .report_delivered(&report, status)
        .unwrap());
    assert_eq!(tree.handlers_mut().state(), State::Idle);
    assert!(tree.handlers_mut().pending_report().is_none());
    let t = server.finish();
    assert!(t.violations().is_empty(), "{:#?}", t.violations());
    let alerts: Vec<_> = t.generic_alerts().collect();
    assert_eq!(alerts.len(), 1, "one Generic Alert");
    let alert = alerts[0];
    assert_eq!(alert.correlator.as_deref(), Some("fota-7"));
    assert_eq!(alert.answered, 200);
    let item = &alert.items[0];
    assert_eq!(item.data_str(), expect);
    assert_eq!(item.type_.as_deref(), Some(AlertTypes::FUMO_1_0.update));
    assert_eq!(item.format.as_deref(), Some("int"));
    assert_eq!(item.source.as_deref(), Some("./FUMO/fw"));
    let critical = expect != "200";
    assert_eq!(item.mark.as_deref(), critical.then_some("critical"));
    t
}

#[test]
fn a_package_pushed_in_a_session_installs_and_is_reported_after_the_reboot() {
    let pkg = package(2, &payload(2, 5000));
    let flash = big_wrap(big_factory(2000));
    let t = deliver(&flash, &pkg);
    assert!(t.violations().is_empty(), "{:#?}", t.violations());
    let sent = t.command("pkg").expect("the package was sent");
    // More than one chunk: 213 for each but the last, then 200 for the whole object.
    assert!(sent.sends.len() > 1, "sent in {} chunks", sent.sends.len());
    let (last, chunks) = sent.statuses.split_last().unwrap();
    assert_eq!(*last, 200);
    assert_eq!(chunks.len(), sent.sends.len() - 1);
    assert!(chunks.iter().all(|&s| s == 213), "{:?}", sent.statuses);
    // Accepted for later: the device asks its user and installs after the session.
    assert_eq!(t.status("update"), Some(202));
    assert_eq!(t.status("state"), Some(200));
    let state = t.results_for("state");
    assert_eq!(state[0].data_str(), "50", "ready to update when asked");

    let (slot, mut fumo) = reboot(&flash);
    assert_eq!(slot, Slot::B);
    assert_eq!(valid_image(flash.borrow().inner(), Slot::B), Some(2));
    fumo.confirm_update().unwrap();
    assert_eq!(fumo.state(), State::UpdateSuccessfulNoData);
    report(&flash, fumo, "200");
}

#[test]
fn an_image_never_confirmed_rolls_back_and_the_failure_is_reported() {
    let pkg = package(2, &payload(2, 3000));
    let flash = big_wrap(big_factory(2000));
    let t = deliver(&flash, &pkg);
    assert_eq!(t.status("update"), Some(202));
    // The new image boots on trial and never confirms; the bootloader gives up on it.
    let mut slots = Vec::new();
    let fumo = loop {
        let (slot, fumo) = reboot(&flash);
        slots.push(slot);
        if slot == Slot::A {
            break fumo;
        }
        assert!(slots.len() < 10, "the trial never ends: {slots:?}");
    };
    assert!(slots[..slots.len() - 1].iter().all(|&s| s == Slot::B));
    assert_eq!(fumo.state(), State::UpdateFailedNoData);
    assert_eq!(valid_image(flash.borrow().inner(), Slot::A), Some(1));
    report(&flash, fumo, "410");
}

/// FOTA-2: with the CDMA service lock as the FUMO object's gate, a server's firmware
/// `Exec` is refused (425) until it unlocks service programming with the SPC in the same
/// session; a wrong SPC unlocks nothing, and the lock engages again when the session ends.
#[test]
#[cfg(feature = "cdma")]
fn the_service_programming_lock_gates_a_firmware_update() {
    let pkg = package(2, &payload(2, 2500));
    let flash = big_wrap(big_factory(2000));
    let blank = |size: usize| {
        let mut f: MemFlash<Vec<u8>, 1024, 8> = MemFlash::new(vec![0; size]);
        f.erase_all();
        f
    };
    let lock = RefCell::new(
        ServiceLock::mount(
            blank(2048),
            HmacSpasm::new([3; 32], SeededRng::new(5)),
            NoClock,
            Policy::default(),
        )
        .unwrap(),
    );
    let mut cdma = Cdma::new(
        &STANDARD,
        &lock,
        FlashPrlStore::new(blank(16 * 1024), 1).unwrap(),
        Limits::default(),
    );
    let dev = fumo_device(&flash, 1).unwrap();
    let mut fumo = Fumo::open(
        &STANDARD,
        "fw",
        dev,
        part(&flash, FUMO),
        &lock,
        FumoConfig::default(),
    )
    .unwrap();

    let script = Script::new()
        .package([
            Cmd::exec("./FUMO/fw/Update")
                .correlator("c1")
                .label("locked"),
            Cmd::replace_value("./FUMO/fw/Update/PkgData", Value::Bytes(pkg.clone())).label("pkg"),
            Cmd::exec("./CDMA/SPL/Unlock")
                .data("135790")
                .label("wrong-spc"),
            Cmd::exec("./FUMO/fw/Update")
                .correlator("c2")
                .label("still-locked"),
            Cmd::exec("./CDMA/SPL/Unlock")
                .data("246810")
                .label("unlock"),
            Cmd::exec("./FUMO/fw/Update")
                .correlator("c3")
                .label("unlocked"),
        ])
        .next_session()
        .package([Cmd::exec("./FUMO/fw/Update")
            .correlator("c4")
            .label("relocked")]);
    let server = server(script);
    {
        let table = HandlerTable::new([
            (node_id("./FUMO"), &mut fumo as &mut dyn NodeHandler),
            (node_id("./CDMA"), &mut cdma as &mut dyn NodeHandler),
        ]);
        let mut storage = Box::new(TreeStorage::<128, 8192, 512>::new());
        let mut tree: Tree<Part<'_>, _> = Tree::mount(
            &mut storage,
            &STANDARD,
            part(&flash, TREE),
            table,
            UriLimits::DEFAULT,
        )
        .unwrap();
        let device = Principal::Device;
        tree.add(device, "./FUMO/fw", None, None, None).unwrap();
        iotadm_host::sim::device_info("MEID:A0000000000001")
            .store(&mut tree)
            .unwrap();
        tree.add(device, "./CDMA/NAM/0", None, None, None).unwrap();
        tree.replace(device, "./CDMA/SPL/SPC", b"246810", None, None)
            .unwrap();
        tree.replace(device, "./CDMA?prop=ACL", b"Get=*&Exec=srv1", None, None)
            .unwrap();
        provision(&mut tree, &server);
        session(&mut tree, &[]);
        session(&mut tree, &[]);
    }
    let t = server.finish();
    assert!(t.violations().is_empty(), "{:#?}", t.violations());
    assert_eq!(t.status("locked"), Some(425));
    assert_eq!(
        t.status("pkg"),
        Some(200),
        "the package itself is not gated"
    );
    assert_eq!(t.status("wrong-spc"), Some(401));
    assert_eq!(t.status("still-locked"), Some(425));
    assert_eq!(t.status("unlock"), Some(200));
    assert_eq!(t.status("unlocked"), Some(202));
    // A new session starts locked, even for the server that unlocked the last one.
    assert_eq!(t.status("relocked"), Some(425));
    // Only the unlocked Exec took: its correlator is the one the report will carry.
    assert_eq!(poll(&mut fumo), Poll::Reboot);
    assert_eq!(fumo.state(), State::UpdateProgressing);
    drop(fumo);
    let (slot, mut fumo) = reboot(&flash);
    assert_eq!(slot, Slot::B);
    fumo.confirm_update().unwrap();
    let report = fumo.pending_report().unwrap();
    assert_eq!(report.alert().correlator, Some("c3"));
}
