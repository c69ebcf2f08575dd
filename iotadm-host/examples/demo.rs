//! A whole OMA DM exchange on this machine: a scripted DM server on 127.0.0.1 and a
//! simulated handset running the iotadm engine talk over HTTP, and every package is printed
//! as readable XML.
//!
//! The handset is provisioned by a bootstrap, then the server sends a package 0; the
//! handset verifies its digest, tells its user, and opens the session the notification
//! names. Both sides authenticate (MD5 digest for the handset, basic for the server), the
//! handset sends its DevInfo, and the server reads the tree's structure, changes a value,
//! adds a second server account as TNDS, asks the user a question (the handset's UI answers
//! by itself), sends a firmware update package as a large object and executes the FUMO
//! `Update`. The handset writes the package into its inactive flash slot as it arrives,
//! installs it after the session, reboots into it on trial, confirms it, and reports the
//! result in a new session as a Generic Alert carrying the server's correlator.
//!
//! Run it with `cargo run --release --example demo`.

use std::cell::RefCell;
use std::time::Duration;

use iotadm::auth::AuthScheme;
use iotadm::codec::Encoding;
use iotadm::firmware::{self, DeviceIdentity, HmacSha256Verifier, Installer, PackageBuilder};
use iotadm::flash::{MemFlash, Partition};
use iotadm::fumo::{self, Fumo, Io, Poll, Ungated};
use iotadm::notification::UiMode;
use iotadm::schema::STANDARD;
use iotadm::session::{
    accept_notification, Config, DefaultAnswers, DeviceInfo, Env, Event, GenericAlert, Initiation,
    Outcome, UiAnswer, UiRequest, UserInteraction,
};
use iotadm::tree::{Principal, Tree, TreeStorage, UriLimits};
use iotadm_host::sim::{self, AccountSpec, CredSpec, SeededRng, SystemClock};
use iotadm_host::testserver::{Account, Cmd, Script, TestServer, Value};
use iotadm_host::HttpDownloader;
use iotadm_host::HttpTransport;

/// The handset's NOR part: 4 KiB sectors, 8-byte words.
type Nor = MemFlash<Vec<u8>, 4096, 8>;
type Part<'a> = Partition<'a, Nor>;
type Handset<'a> = Tree<'a, Part<'a>, Fumo<Installer<Part<'a>, Part<'a>, Part<'a>>, Part<'a>>>;
/// The tree's memory: 256 entries, 16 KiB of names and values, values up to a little
/// under 512 bytes.
type Storage = TreeStorage<256, 16_384, 512>;

/// The part's layout: two firmware slots, the installer's state, the FUMO record, the tree.
const SLOT_A: (u32, u32) = (0, 128 * 1024);
const SLOT_B: (u32, u32) = (128 * 1024, 128 * 1024);
const BOOT_STATE: (u32, u32) = (256 * 1024, 8 * 1024);
const FUMO_RECORD: (u32, u32) = (264 * 1024, 8 * 1024);
const TREE: (u32, u32) = (272 * 1024, 240 * 1024);
const NOR_SIZE: usize = 512 * 1024;

/// The model, hardware and package key the handset's firmware is built for.
const MODEL: &str = "demo-handset";
const HARDWARE: &str = "rev-a";
const PACKAGE_KEY: &[u8] = b"demo-handset package key";

/// The second server account the operator adds, as a TNDS document.
const BACKUP_ACCOUNT: &str = r#"<MgmtTree xmlns="syncml:dmddf1.2"><VerDTD>1.2</VerDTD>
<Node><NodeName>backup</NodeName>
  <Node><NodeName>ServerID</NodeName><Value>backup.operator.example</Value></Node>
  <Node><NodeName>AppID</NodeName><Value>w7</Value></Node>
  <Node><NodeName>Name</NodeName><Value>Operator backup server</Value></Node>
</Node></MgmtTree>"#;

/// The handset's user: shown each question, answers with the server's default.
struct Screen;

impl UserInteraction for Screen {
    fn ask<'s>(&mut self, request: &UiRequest<'_>, scratch: &'s mut [u8]) -> UiAnswer<'s> {
        let mut text = [0u8; 256];
        let shown = request.text.to_str(&mut text).unwrap_or("(text)");
        let answer = DefaultAnswers.ask(request, scratch);
        println!(
            "\n[handset screen] {:?}: \"{shown}\" -> the user answers {answer:?}",
            request.kind
        );
        answer
    }

    fn inform_session(&mut self, server: &str) {
        println!("\n[handset screen] \"{server} is updating your phone's settings\"");
    }
}

type Res<T = ()> = Result<T, Box<dyn std::error::Error>>;

fn main() -> Res {
    // Version 2 of the firmware, as the operator's build system packages it.
    let image: Vec<u8> = (0..24 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let header = PackageBuilder::new(MODEL, HARDWARE)
        .from_versions(1, 1)
        .to_version(2, "2.0")
        .header_hmac(&image, PACKAGE_KEY)
        .map_err(|e| format!("package: {e}"))?;
    let package = [header.as_slice(), &image].concat();

    let script = Script::new()
        .package([
            Cmd::get("./DevInfo?list=Struct"),
            Cmd::get("./DevInfo/Mod"),
            Cmd::add("./DMAcc/operator/Name", "Operator DM server"),
            Cmd::add_tnds("./DMAcc", BACKUP_ACCOUNT)?,
            Cmd::confirm(
                "MINDT=10&DR=1",
                "Your operator has updated your settings. Keep them?",
            ),
        ])
        .package([
            Cmd::replace_value("./FUMO/fw/Update/PkgData", Value::Bytes(package.clone())),
            Cmd::exec("./FUMO/fw/Update").correlator("fota-2.0"),
        ])
        .next_session();
    let server = TestServer::start(
        vec![Account::new("operator")
            .client_md5("handset-490154", "client-secret", b"first-client-nonce")
            .server_cred(
                AuthScheme::Basic,
                "operator",
                "server-secret",
                b"first-server-nonce",
            )],
        script,
    )?;
    let url = server.url("operator");
    println!("DM server listening at {url}");

    // The handset's NOR part, erased at the factory.
    let mut nor: Nor = MemFlash::new(vec![0u8; NOR_SIZE]);
    nor.erase_all();
    let nor = RefCell::new(nor);
    let mut screen = Screen;
    let mut storage = Box::new(Storage::new());

    // Running version 1: the management session that delivers the update.
    {
        let mut tree = boot(&nor, &mut storage, 1)?;
        provision(&mut tree, &url)?;
        let push = server.package0_push("operator", UiMode::Informative, 0x4D2)?;
        println!(
            "\n== package 0: {} bytes of WAP Push\n{}",
            push.len(),
            hex(&push)
        );
        let trigger = accept_notification(&mut tree, &mut screen, &push)?;
        println!(
            "package 0 verified: account {}, {:?}, {:?}",
            trigger.account, trigger.initiation, trigger.ui_mode
        );
        let outcome = session(
            &mut tree,
            &mut screen,
            &trigger.account,
            trigger.initiation,
            &[],
        )?;
        println!("\nsession over: {} client messages", outcome.messages_sent);
        let mut name = [0u8; 64];
        let n = tree
            .get(Principal::Device, "./DMAcc/backup/Name", 0, &mut name)
            .map(|r| r.len)
            .unwrap_or(0);
        println!(
            "the handset now holds ./DMAcc/backup (\"{}\")",
            String::from_utf8_lossy(&name[..n])
        );

        // After the session: the FUMO object asks the user, then arms the new image.
        let fumo = tree.handlers_mut();
        println!(
            "\nFUMO state {:?}: package {} staged in the inactive slot",
            fumo.state(),
            fumo.pkg_version()
        );
        let mut downloader = HttpDownloader::new(Duration::from_secs(10));
        let mut buf = [0u8; 1024];
        let step = fumo.poll(&mut Io {
            downloader: &mut downloader,
            ui: &mut screen,
            progress: &mut |_| {},
            buf: &mut buf,
        })?;
        if step != Poll::Reboot {
            return Err(format!("the update did not arm: {step:?}").into());
        }
        println!("update armed ({:?}): the handset restarts", fumo.state());
    }

    // The bootloader: the armed slot gets a trial boot.
    let decision = installer(&nor, 1)?.boot_decision()?;
    println!("\n[bootloader] starting slot {:?} on trial", decision.slot);

    // Running version 2: it works, so it keeps itself and reports to the server.
    let mut tree = boot(&nor, &mut storage, 2)?;
    let fumo = tree.handlers_mut();
    fumo.confirm_update()?;
    let report = fumo
        .pending_report()
        .ok_or("no result to report after the update")?;
    println!(
        "firmware {} confirmed; FUMO state {:?}; reporting result {}",
        fumo.pkg_version(),
        fumo.state(),
        report.alert().data
    );
    let outcome = session(
        &mut tree,
        &mut screen,
        "operator",
        Initiation::Client,
        &[report.alert()],
    )?;
    let status = outcome.alert_status.first().copied().flatten();
    let acknowledged = tree.handlers_mut().report_delivered(&report, status)?;
    println!(
        "\nreport acknowledged by the server: {acknowledged}; FUMO state {:?}",
        tree.handlers_mut().state()
    );

    let transcript = server.finish();
    let violations = transcript.violations();
    if !violations.is_empty() {
        println!("the server saw protocol errors: {violations:#?}");
        return Err("protocol errors".into());
    }
    println!("the server saw no protocol error from the handset");
    Ok(())
}

fn part(nor: &RefCell<Nor>, (offset, size): (u32, u32)) -> Res<Part<'_>> {
    Partition::new(nor, offset, size).map_err(|e| format!("partition: {e}").into())
}

fn installer(nor: &RefCell<Nor>, version: u32) -> Res<Installer<Part<'_>, Part<'_>, Part<'_>>> {
    let device = DeviceIdentity::new(MODEL, HARDWARE, version).ok_or("device identity")?;
    let verifier = HmacSha256Verifier::new(PACKAGE_KEY).ok_or("package key")?;
    Ok(Installer::new(
        part(nor, SLOT_A)?,
        part(nor, SLOT_B)?,
        part(nor, BOOT_STATE)?,
        device,
        verifier,
        firmware::Config::default(),
    )?)
}

/// What firmware `version` does at start: opens its installer and FUMO object and mounts
/// the tree, in `storage`, with FUMO as its handler.
fn boot<'a>(nor: &'a RefCell<Nor>, storage: &'a mut Storage, version: u32) -> Res<Handset<'a>> {
    let fumo = Fumo::open(
        &STANDARD,
        "fw",
        installer(nor, version)?,
        part(nor, FUMO_RECORD)?,
        Ungated,
        fumo::Config::default(),
    )?;
    Ok(Tree::mount(
        storage,
        &STANDARD,
        part(nor, TREE)?,
        fumo,
        UriLimits::DEFAULT,
    )?)
}

/// The factory: DevInfo, the operator's account by bootstrap, the FUMO node, and ACLs that
/// let the operator add accounts and update firmware.
fn provision(tree: &mut Handset<'_>, url: &str) -> Res {
    let status = |what: &'static str| {
        move |s: iotadm::codes::StatusCode| format!("{what}: {}", u16::from(s))
    };
    DeviceInfo {
        model: MODEL,
        ..sim::device_info("MEID:A0000049015420")
    }
    .store(tree)
    .map_err(|e| format!("device information: {e}"))?;
    let items = AccountSpec {
        node: "operator",
        server_id: "operator",
        addr: url,
        client: Some(CredSpec {
            scheme: AuthScheme::Md5Digest,
            name: "handset-490154",
            secret: "client-secret",
            nonce: b"first-client-nonce",
        }),
        server: Some(CredSpec {
            scheme: AuthScheme::Basic,
            name: "operator",
            secret: "server-secret",
            nonce: b"first-server-nonce",
        }),
        acl: None,
    }
    .provision(tree)?;
    let device = Principal::Device;
    tree.replace(
        device,
        "./DMAcc?prop=ACL",
        b"Get=*&Add=operator",
        None,
        None,
    )
    .map_err(status("DMAcc ACL"))?;
    tree.add(device, "./FUMO/fw", None, None, None)
        .map_err(status("FUMO node"))?;
    tree.replace(
        device,
        "./FUMO?prop=ACL",
        b"Get=*&Replace=operator&Exec=operator",
        None,
        None,
    )
    .map_err(status("FUMO ACL"))?;
    println!("handset provisioned by bootstrap: {items} nodes of ./DMAcc/operator");
    Ok(())
}

/// One session with the operator over HTTP, every message printed as XML.
fn session(
    tree: &mut Handset<'_>,
    screen: &mut Screen,
    account: &str,
    initiation: Initiation,
    alerts: &[GenericAlert<'_>],
) -> Res<Outcome> {
    let (mut rng, clock) = (SeededRng::from_host(), SystemClock);
    let mut env = Env {
        tree,
        ui: screen,
        rng: &mut rng,
        clock: &clock,
        alerts,
    };
    let cfg = Config {
        encoding: Encoding::Wbxml,
        max_msg_size: 8192,
        ..Config::default()
    };
    Ok(sim::run_session(
        &mut env,
        cfg,
        account,
        initiation,
        HttpTransport::new(),
        |event| {
            println!("\n== {}", sim::describe(&event));
            let (Event::Sent { body, .. } | Event::Received { body }) = event;
            println!("{}", sim::readable(body));
        },
    )?)
}
fn hex(bytes: &[u8]) -> String {
    bytes
        .chunks(16)
        .map(|line| {
            line.iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}
