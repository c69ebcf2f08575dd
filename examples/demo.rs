//! A whole OMA DM exchange on this machine: a scripted DM server on 127.0.0.1 and a
//! simulated handset running the iotadm engine talk over HTTP, and every package is printed
//! as readable XML.
//!
//! The handset is provisioned by a bootstrap, then the server sends a package 0; the
//! handset verifies its digest, tells its user, and opens the session the notification
//! names. Both sides authenticate (MD5 digest for the handset, basic for the server), the
//! handset sends its DevInfo, and the server reads the tree's structure, changes a value,
//! adds a second server account as TNDS and asks the user a question, which the handset's
//! UI answers by itself.
//!
//! Run it with `cargo run --release --example demo`.

use iotadm::auth::AuthScheme;
use iotadm::codec::Encoding;
use iotadm::flash::MemFlash;
use iotadm::notification::UiMode;
use iotadm::session::{
    accept_notification, apply_bootstrap, BootstrapSource, Config, DefaultAnswers, Env, Event,
    UiAnswer, UiRequest, UserInteraction,
};
use iotadm::sim::{self, AccountSpec, CredSpec, DevInfo, SeededRng, SystemClock};
use iotadm::testserver::{Account, Cmd, Script, TestServer};
use iotadm::transport::HttpTransport;
use iotadm::tree::{NoHandlers, Principal, Tree, UriLimits};

type Flash = MemFlash<Vec<u8>, 4096, 8>;

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

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let script = Script::new().package([
        Cmd::get("./DevInfo?list=Struct"),
        Cmd::get("./DevInfo/Mod"),
        Cmd::add("./DMAcc/operator/Name", "Operator DM server"),
        Cmd::add_tnds("./DMAcc", BACKUP_ACCOUNT)?,
        Cmd::confirm(
            "MINDT=10&DR=1",
            "Your operator has updated your settings. Keep them?",
        ),
    ]);
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

    // The handset: its tree in (simulated) NOR flash, its DevInfo, and the operator's account.
    let mut flash: Flash = MemFlash::new(vec![0u8; 512 * 1024]);
    flash.erase_all();
    let mut tree: Tree<Flash, NoHandlers, 256, 16_384, 512> =
        Tree::mount(flash, NoHandlers, UriLimits::DEFAULT)?;
    DevInfo {
        dev_id: "MEID:A0000049015420",
        man: "iotadm",
        model: "demo-handset",
        dm_version: "1.2",
        lang: "en-US",
    }
    .store(&mut tree)
    .map_err(|s| format!("DevInfo: {}", u16::from(s)))?;
    let bootstrap = AccountSpec {
        node: "operator",
        server_id: "operator",
        addr: &url,
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
    .bootstrap_message();
    let mut scratch = [0u8; 4096];
    let items = apply_bootstrap(
        &mut tree,
        bootstrap.as_bytes(),
        BootstrapSource::Trusted,
        None,
        &mut scratch,
    )?;
    // The operator may also add accounts of its own.
    tree.replace(
        Principal::Device,
        "./DMAcc?prop=ACL",
        b"Get=*&Add=operator",
        None,
        None,
    )
    .map_err(|s| format!("ACL: {}", u16::from(s)))?;
    println!("handset provisioned by bootstrap: {items} nodes of ./DMAcc/operator");

    // Package 0, as the operator's push gateway would deliver it.
    let push = server.package0_push("operator", UiMode::Informative, 0x4D2)?;
    println!(
        "\n== package 0: {} bytes of WAP Push\n{}",
        push.len(),
        hex(&push)
    );
    let mut screen = Screen;
    let trigger = accept_notification(&mut tree, &mut screen, &push)?;
    println!(
        "package 0 verified: account {}, {:?}, {:?}",
        trigger.account, trigger.initiation, trigger.ui_mode
    );

    let (mut rng, clock) = (SeededRng::from_host(), SystemClock);
    let mut env = Env {
        tree: &mut tree,
        ui: &mut screen,
        rng: &mut rng,
        clock: &clock,
    };
    let cfg = Config {
        encoding: Encoding::Wbxml,
        max_msg_size: 8192,
        ..Config::default()
    };
    let mut package = 0;
    let outcome = sim::run_session(
        &mut env,
        cfg,
        &trigger.account,
        trigger.initiation,
        &[],
        HttpTransport::new(),
        |event| {
            if matches!(event, Event::Sent { .. }) {
                package += 1;
            }
            println!("\n== {}", sim::describe(&event));
            let (Event::Sent { body, .. } | Event::Received { body }) = event;
            println!("{}", sim::readable(body));
        },
    )?;
    println!("\nsession over: {} client messages", outcome.messages_sent);

    let transcript = server.finish();
    let violations = transcript.violations();
    if violations.is_empty() {
        println!("the server saw no protocol error from the handset");
    } else {
        println!("the server saw protocol errors: {violations:#?}");
        return Err("protocol errors".into());
    }
    let mut name = [0u8; 64];
    let n = tree
        .get(Principal::Device, "./DMAcc/backup/Name", 0, &mut name)
        .map(|r| r.len)
        .unwrap_or(0);
    println!(
        "the handset now holds ./DMAcc/backup (\"{}\")",
        String::from_utf8_lossy(&name[..n])
    );
    Ok(())
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
