//! What the library logs through the `log` facade (feature `log`): the session's package
//! boundaries, authentication outcomes and the server's non-2xx statuses, the tree's
//! access-type and ACL refusals, the codec's decode errors with their offset, and the
//! auth layer's failed checks. Each record is caught by a logger of this test binary and
//! kept for the thread that logged it, so tests running side by side (and the test
//! server's threads) do not see each other's records.
#![cfg(feature = "log")]

mod common;

use std::cell::RefCell;
use std::sync::Once;

use common::device::{account, cred, device, handset, provision, run, with_session, DmTree, Run};
use iotadm::auth::AuthScheme;
use iotadm::session::{ClientError, Config, DefaultAnswers, Error, Initiation, Step};
use iotadm::tree::NoHandlers;
use iotadm_host::testserver::{Account, Cmd, Script, ServerOptions, TestServer};
use log::{Level, LevelFilter, Log, Metadata, Record};

/// One record: its level, its target (the module that logged it) and its text.
#[derive(Debug, Clone)]
struct Line {
    level: Level,
    target: String,
    text: String,
}

thread_local! {
    static LINES: RefCell<Vec<Line>> = const { RefCell::new(Vec::new()) };
}

struct Catcher;

impl Log for Catcher {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &Record<'_>) {
        let line = Line {
            level: record.level(),
            target: record.target().to_owned(),
            text: record.args().to_string(),
        };
        LINES.with(|l| l.borrow_mut().push(line));
    }

    fn flush(&self) {}
}

/// The records this thread logs while `f` runs.
fn logged<R>(f: impl FnOnce() -> R) -> (R, Vec<Line>) {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        log::set_logger(&Catcher).expect("no other logger in this binary");
        log::set_max_level(LevelFilter::Trace);
    });
    LINES.with(|l| l.borrow_mut().clear());
    let r = f();
    (r, LINES.with(|l| l.borrow_mut().drain(..).collect()))
}

/// The one record whose text contains `needle`, or a failure listing them all.
fn find<'l>(lines: &'l [Line], needle: &str) -> &'l Line {
    lines
        .iter()
        .find(|l| l.text.contains(needle))
        .unwrap_or_else(|| panic!("no record contains {needle:?}: {lines:#?}"))
}

#[test]
fn a_session_logs_its_packages_and_the_trees_refusals() {
    // ./DevInfo/Mod is Get only (405 for Replace); ./DMAcc/other belongs to another server
    // (425 for a Get by srv1).
    let script = Script::new().package([
        Cmd::replace("./DevInfo/Mod", "X1"),
        Cmd::get("./DMAcc/other/ServerID"),
    ]);
    let server_side = Account::new("srv1").client_basic("dev", "devpw");
    let server = TestServer::start(vec![server_side], script).unwrap();
    let mut tree = device(
        &server.url("srv1"),
        cred(AuthScheme::Basic, "dev", "devpw", b""),
        None,
    );
    provision(
        &mut tree,
        &account("other", "http://127.0.0.1:9/other", None, None),
    );
    let (outcome, lines) = logged(|| run(&mut tree, Config::default(), Initiation::Client));
    outcome.unwrap();
    server.finish();

    let start = find(&lines, "package 1 to srv1");
    assert_eq!(
        (start.level, start.target.as_str()),
        (Level::Info, "iotadm::session::engine")
    );
    let end = find(&lines, "ended after");
    assert_eq!(end.level, Level::Info);
    assert!(find(&lines, "package ends").level == Level::Debug);
    assert!(find(&lines, "accepted the client's credentials").level == Level::Debug);

    let sent = find(&lines, "transport: ");
    assert_eq!(
        (sent.level, sent.target.as_str()),
        (Level::Debug, "iotadm::session::client")
    );
    assert!(find(&lines, "a reply of").level == Level::Debug);

    let access = find(&lines, "Replace on Mod by srv1 refused, 405");
    assert_eq!(access.level, Level::Info);
    assert!(access.target.starts_with("iotadm::tree"), "{access:?}");
    let acl = find(&lines, "Get on ServerID by srv1 refused, 425");
    assert!(acl.target.starts_with("iotadm::tree"), "{acl:?}");
}

#[test]
fn authentication_failures_are_logged_where_they_are_decided() {
    // The server proves itself with the wrong secret: the auth layer says the credentials
    // do not verify, the session that it refused them and that it stopped.
    let account = Account::new("srv1")
        .client_basic("dev", "devpw")
        .server_cred(AuthScheme::Basic, "srv1", "guess", b"s-1");
    let options = ServerOptions {
        max_auth_attempts: 10,
        ..ServerOptions::default()
    };
    let script = Script::new().package([Cmd::get("./DevInfo/Mod")]);
    let server = TestServer::start_with(vec![account], script, options).unwrap();
    server.expect_violations();
    let mut tree = device(
        &server.url("srv1"),
        cred(AuthScheme::Basic, "dev", "devpw", b""),
        Some(cred(AuthScheme::Basic, "srv1", "srvpw", b"s-1")),
    );
    let cfg = Config {
        server_auth_failures: 1,
        ..Config::default()
    };
    let (outcome, lines) = logged(|| run(&mut tree, cfg, Initiation::Client));
    server.finish();
    assert!(
        matches!(
            outcome,
            Err(ClientError::Session(Error::ServerNotAuthenticated))
        ),
        "{outcome:?}"
    );
    let auth = find(&lines, "Basic credentials do not verify");
    assert_eq!(
        (auth.level, auth.target.as_str()),
        (Level::Debug, "iotadm::auth::cred")
    );
    let refused = find(
        &lines,
        "server credentials refused (Basic, BadCredentials), failure 2",
    );
    assert_eq!(refused.level, Level::Warn);
    let stopped = find(&lines, "stopped, ServerNotAuthenticated");
    assert_eq!(stopped.level, Level::Warn);

    // The handset's own credentials refused with a challenge: the retry is logged.
    let account = Account::new("srv1").client_basic("dev", "devpw");
    let server = TestServer::start_with(
        vec![account],
        Script::new(),
        ServerOptions {
            max_auth_attempts: 10,
            ..ServerOptions::default()
        },
    )
    .unwrap();
    server.expect_violations();
    let mut tree = device(
        &server.url("srv1"),
        cred(AuthScheme::Basic, "dev", "wrong", b""),
        None,
    );
    let cfg = Config {
        auth_retries: 1,
        ..Config::default()
    };
    let (_, lines) = logged(|| run(&mut tree, cfg, Initiation::Client));
    server.finish();
    let retry = find(&lines, "challenged the client's credentials (401), retry 1");
    assert_eq!(retry.level, Level::Warn);
    assert_eq!(find(&lines, "stopped, Rejected").level, Level::Warn);
}

#[test]
fn a_message_that_does_not_decode_is_logged_with_its_offset() {
    let input = b"<SyncML><SyncHdr></SyncBody></SyncML>";
    let (result, lines) = logged(|| iotadm::codec::parse(input).map(|_| ()));
    let err = result.unwrap_err();
    let line = find(&lines, "codec: decode failed at byte");
    assert_eq!(
        (line.level, line.target.as_str()),
        (Level::Debug, "iotadm::codec")
    );
    assert!(
        line.text.contains(&format!("at byte {}:", err.offset())),
        "{line:?} against {err:?}"
    );
}

/// A session fed one server message written here: its header accepts the client's
/// credentials and its status for the client's Alert (command 1 of message 1) is 406.
#[test]
fn a_non_2xx_status_for_a_client_command_is_a_warning() {
    let mut tree: DmTree = handset(NoHandlers);
    provision(
        &mut tree,
        &account("srv1", "http://127.0.0.1:9/dm", None, None),
    );
    let run = Run {
        cfg: Config {
            encoding: iotadm::codec::Encoding::Xml,
            ..Config::default()
        },
        ..Run::default()
    };
    let (step, lines) = with_session(&mut tree, &mut DefaultAnswers, run, |session, env, bufs| {
        logged(|| {
            let _ = session.start(env, bufs.tx, bufs.scratch).unwrap();
            let reply = format!(
                "<SyncML><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto>\
             <SessionID>{}</SessionID><MsgID>1</MsgID>\
             <Target><LocURI>{}</LocURI></Target><Source><LocURI>srv1</LocURI></Source>\
             </SyncHdr><SyncBody>\
             <Status><CmdID>1</CmdID><MsgRef>1</MsgRef><CmdRef>0</CmdRef><Cmd>SyncHdr</Cmd>\
             <Data>200</Data></Status>\
             <Status><CmdID>2</CmdID><MsgRef>1</MsgRef><CmdRef>1</CmdRef><Cmd>Alert</Cmd>\
             <Data>406</Data></Status><Final/></SyncBody></SyncML>",
                session.session_id(),
                common::device::DEVICE,
            );
            session.handle(env, reply.as_bytes(), None, &[], bufs.tx, bufs.scratch)
        })
    })
    .unwrap();
    assert!(matches!(step, Ok(Step::Done(_))), "{step:?}");
    let line = find(&lines, "answered command 1 of message 1 with 406");
    assert_eq!(line.level, Level::Warn);
}

/// A server that cannot be reached: the transport's failure is a warning, and the session
/// was begun (package 1) before it.
#[test]
fn a_transport_failure_is_a_warning() {
    // Nothing listens on the discard port of the loopback address.
    let mut tree = device(
        "http://127.0.0.1:9/dm",
        cred(AuthScheme::Basic, "dev", "devpw", b""),
        None,
    );
    let (outcome, lines) = logged(|| run(&mut tree, Config::default(), Initiation::Client));
    assert!(
        matches!(outcome, Err(ClientError::Transport(_))),
        "{outcome:?}"
    );
    assert_eq!(find(&lines, "package 1 to srv1").level, Level::Info);
    let failed = find(&lines, "transport: exchange failed");
    assert_eq!(
        (failed.level, failed.target.as_str()),
        (Level::Warn, "iotadm::session::client")
    );
}
