//! The session engine driven in process, sans I/O, by server messages written by hand:
//! the cases a well-behaved server never produces (a large object whose size does not add
//! up, one broken off by another command) and messages the engine must refuse.

mod common;

use common::device::{cred, device, value, DmTree};
use iotadm::auth::AuthScheme;
use iotadm::codec::{self, Command, Encoding};
use iotadm::platform::NoClock;
use iotadm::session::{Config, Env, Error, GenericAlert, Initiation, NoUi, Session, Step};
use iotadm_host::sim::SeededRng;

const SERVER: &str = "http://127.0.0.1:9/dm";

/// A hand-driven server: it numbers its messages and wraps bodies in its header.
struct Server {
    session_id: String,
    msg_id: u32,
}

impl Server {
    fn message(&mut self, body: &str, is_final: bool) -> Vec<u8> {
        self.msg_id += 1;
        format!(
            "<SyncML xmlns=\"SYNCML:SYNCML1.2\"><SyncHdr><VerDTD>1.2</VerDTD>\
             <VerProto>DM/1.2</VerProto><SessionID>{}</SessionID><MsgID>{}</MsgID>\
             <Target><LocURI>{}</LocURI></Target><Source><LocURI>{SERVER}</LocURI></Source>\
             </SyncHdr><SyncBody>{body}{}</SyncBody></SyncML>",
            self.session_id,
            self.msg_id,
            common::device::DEVICE,
            if is_final { "<Final/>" } else { "" }
        )
        .into_bytes()
    }
}

/// A status for the client's message `msg_ref`.
fn status(id: u32, msg_ref: u32, cmd_ref: u32, cmd: &str, code: u16) -> String {
    format!(
        "<Status><CmdID>{id}</CmdID><MsgRef>{msg_ref}</MsgRef><CmdRef>{cmd_ref}</CmdRef>\
         <Cmd>{cmd}</Cmd><Data>{code}</Data></Status>"
    )
}

/// A chunk of a large object for `uri`: `Size` on the first, `MoreData` on all but the last.
fn chunk(id: u32, cmd: &str, uri: &str, data: &str, size: Option<usize>, more: bool) -> String {
    let size = size
        .map(|n| format!("<Meta><Size xmlns=\"syncml:metinf\">{n}</Size></Meta>"))
        .unwrap_or_default();
    format!(
        "<{cmd}><CmdID>{id}</CmdID><Item><Target><LocURI>{uri}</LocURI></Target>{size}\
         <Data>{data}</Data>{}</Item></{cmd}>",
        if more { "<MoreData/>" } else { "" }
    )
}

/// What a client message holds: `(command, CmdRef, code)` of its statuses, and the codes
/// and first target of its alerts.
#[derive(Debug, Default)]
struct Reply {
    statuses: Vec<(String, String, u16)>,
    alerts: Vec<(u16, Option<String>)>,
    is_final: bool,
}

fn text(t: &codec::Text<'_>) -> String {
    let mut v = Vec::new();
    for c in t.chunks() {
        v.extend_from_slice(c.as_bytes());
    }
    String::from_utf8(v).unwrap()
}

fn read(bytes: &[u8]) -> Reply {
    let m = codec::parse(bytes).unwrap();
    let mut r = Reply {
        is_final: m.body.is_final,
        ..Reply::default()
    };
    for c in m.body.commands.iter() {
        match c {
            Command::Status(s) => r.statuses.push((
                s.cmd.map(|t| text(&t)).unwrap_or_default(),
                s.cmd_ref.map(|t| text(&t)).unwrap_or_default(),
                s.data.and_then(|d| d.parse_u32()).unwrap_or(0) as u16,
            )),
            Command::Alert(a) => r.alerts.push((
                a.data.and_then(|d| d.parse_u32()).unwrap_or(0) as u16,
                a.items
                    .iter()
                    .next()
                    .and_then(|i| i.target)
                    .map(|l| text(&l.uri)),
            )),
            _ => {}
        }
    }
    r
}

/// The statuses of a reply without the header's.
fn command_statuses(r: &Reply) -> Vec<(String, String, u16)> {
    r.statuses.iter().filter(|s| s.1 != "0").cloned().collect()
}

/// A handset, its session started in XML (package 1 sent), and the server to answer it.
struct Rig {
    tree: DmTree,
    tx: Vec<u8>,
    scratch: Vec<u8>,
    rng: SeededRng,
    server: Server,
}

impl Rig {
    fn new() -> (Rig, Session) {
        let mut tree = device(SERVER, cred(AuthScheme::Basic, "dev", "pw", b""), None);
        let mut rng = SeededRng::new(3);
        let mut tx = vec![0u8; 8192];
        let mut scratch = vec![0u8; 2048];
        let cfg = Config {
            encoding: Encoding::Xml,
            ..Config::default()
        };
        let mut env = Env {
            tree: &mut tree,
            ui: &mut NoUi,
            rng: &mut rng,
            clock: &NoClock,
            alerts: &[],
        };
        let mut session = Session::new(&mut env, cfg, "srv1", Initiation::Client).unwrap();
        let sent = session.start(&mut env, &mut tx, &mut scratch).unwrap();
        assert!(!sent.hold);
        let server = Server {
            session_id: session.session_id().to_string(),
            msg_id: 0,
        };
        (
            Rig {
                tree,
                tx,
                scratch,
                rng,
                server,
            },
            session,
        )
    }

    /// Hands `msg` to the session; the reply it writes, or how it ended.
    fn handle(&mut self, session: &mut Session, msg: &[u8]) -> Result<Option<Reply>, Error> {
        let mut env = Env {
            tree: &mut self.tree,
            ui: &mut NoUi,
            rng: &mut self.rng,
            clock: &NoClock,
            alerts: &[],
        };
        match session.handle(&mut env, msg, None, &[], &mut self.tx, &mut self.scratch)? {
            Step::Send(t) => {
                assert!(!t.hold, "these messages fit one reply");
                Ok(Some(read(&self.tx[..t.len])))
            }
            Step::Done(_) => Ok(None),
        }
    }
}

#[test]
fn a_large_object_whose_chunks_do_not_add_up_to_its_size_is_refused_424() {
    let (mut rig, mut s) = Rig::new();
    let first = chunk(
        2,
        "Add",
        "./DMAcc/srv1/Name",
        &"a".repeat(60),
        Some(100),
        true,
    );
    let body = status(1, 1, 0, "SyncHdr", 212) + &first;
    let msg = rig.server.message(&body, false);
    let reply = rig.handle(&mut s, &msg).unwrap().unwrap();
    assert_eq!(command_statuses(&reply), [("Add".into(), "2".into(), 213)]);
    assert_eq!(
        reply.alerts,
        [(1222, Some(SERVER.to_string()))],
        "asks for the rest"
    );
    assert!(!reply.is_final);
    // The last chunk brings 90 bytes of the 100 announced.
    let last = chunk(2, "Add", "./DMAcc/srv1/Name", &"b".repeat(30), None, false);
    let body = status(1, 2, 0, "SyncHdr", 200) + &last;
    let msg = rig.server.message(&body, true);
    let reply = rig.handle(&mut s, &msg).unwrap().unwrap();
    assert_eq!(command_statuses(&reply), [("Add".into(), "2".into(), 424)]);
    assert!(reply.is_final);
    assert_eq!(
        value(&mut rig.tree, "./DMAcc/srv1/Name"),
        None,
        "nothing stored"
    );
}

#[test]
fn a_large_object_longer_than_its_size_is_refused_at_the_chunk_that_overflows() {
    let (mut rig, mut s) = Rig::new();
    let first = chunk(
        2,
        "Add",
        "./DMAcc/srv1/Name",
        &"a".repeat(60),
        Some(80),
        true,
    );
    let msg = rig
        .server
        .message(&(status(1, 1, 0, "SyncHdr", 212) + &first), false);
    rig.handle(&mut s, &msg).unwrap().unwrap();
    let second = chunk(2, "Add", "./DMAcc/srv1/Name", &"b".repeat(30), None, true);
    let msg = rig
        .server
        .message(&(status(1, 2, 0, "SyncHdr", 200) + &second), false);
    let reply = rig.handle(&mut s, &msg).unwrap().unwrap();
    assert_eq!(command_statuses(&reply), [("Add".into(), "2".into(), 424)]);
    assert_eq!(value(&mut rig.tree, "./DMAcc/srv1/Name"), None);
}

#[test]
fn a_large_object_broken_off_by_another_command_is_dropped_with_alert_1225() {
    let (mut rig, mut s) = Rig::new();
    let first = chunk(
        2,
        "Replace",
        "./DMAcc/srv1/AppID",
        &"x".repeat(40),
        Some(70),
        true,
    );
    let msg = rig
        .server
        .message(&(status(1, 1, 0, "SyncHdr", 212) + &first), false);
    let reply = rig.handle(&mut s, &msg).unwrap().unwrap();
    assert_eq!(
        command_statuses(&reply),
        [("Replace".into(), "2".into(), 213)]
    );
    // Instead of the next chunk, a new command.
    let other = "<Replace><CmdID>2</CmdID><Item><Target><LocURI>./DMAcc/srv1/AAuthPref</LocURI>\
                 </Target><Data>DIGEST</Data></Item></Replace>";
    let msg = rig
        .server
        .message(&(status(1, 2, 0, "SyncHdr", 200) + other), true);
    let reply = rig.handle(&mut s, &msg).unwrap().unwrap();
    assert_eq!(
        reply.alerts,
        [(1225, Some("./DMAcc/srv1/AppID".to_string()))],
        "the server learns which object was dropped"
    );
    assert_eq!(
        command_statuses(&reply),
        [("Replace".into(), "2".into(), 200)]
    );
    assert_eq!(value(&mut rig.tree, "./DMAcc/srv1/AppID").unwrap(), b"w7");
    assert_eq!(
        value(&mut rig.tree, "./DMAcc/srv1/AAuthPref").unwrap(),
        b"DIGEST"
    );
}

#[test]
fn a_large_object_in_base64_is_decoded_across_chunks() {
    let (mut rig, mut s) = Rig::new();
    // "Grüße!" as Base64, split inside a quantum and with a line break.
    let b64 = "R3LDvMOfZSE=";
    let (a, b) = b64.split_at(5);
    let first = format!(
        "<Add><CmdID>2</CmdID><Item><Target><LocURI>./DMAcc/srv1/Name</LocURI></Target>\
         <Meta><Format xmlns=\"syncml:metinf\">chr</Format><Size xmlns=\"syncml:metinf\">{}</Size></Meta>\
         <Data>{a}</Data><MoreData/></Item></Add>",
        b64.len()
    );
    let msg = rig
        .server
        .message(&(status(1, 1, 0, "SyncHdr", 212) + &first), false);
    rig.handle(&mut s, &msg).unwrap().unwrap();
    let last = chunk(2, "Add", "./DMAcc/srv1/Name", b, None, false);
    let msg = rig
        .server
        .message(&(status(1, 2, 0, "SyncHdr", 200) + &last), true);
    let reply = rig.handle(&mut s, &msg).unwrap().unwrap();
    // A chr node keeps the text as sent: only bin nodes decode.
    assert_eq!(command_statuses(&reply), [("Add".into(), "2".into(), 200)]);
    assert_eq!(
        value(&mut rig.tree, "./DMAcc/srv1/Name").unwrap(),
        b64.as_bytes()
    );
}

#[test]
fn messages_of_another_session_or_protocol_or_not_syncml_are_refused() {
    let (mut rig, mut s) = Rig::new();
    let other_session = {
        let mut other = Server {
            session_id: "FFFF".into(),
            msg_id: 0,
        };
        other.message(&status(1, 1, 0, "SyncHdr", 212), true)
    };
    assert_eq!(
        rig.handle(&mut s, &other_session).err(),
        Some(Error::WrongSession)
    );
    let old_version = String::from_utf8(rig.server.message("", true))
        .unwrap()
        .replace("<VerDTD>1.2</VerDTD>", "<VerDTD>1.1</VerDTD>")
        .replace("DM/1.2", "DM/1.1");
    assert_eq!(
        rig.handle(&mut s, old_version.as_bytes()).err(),
        Some(Error::WrongSession)
    );
    assert!(matches!(
        rig.handle(&mut s, b"HTTP/1.1 200 OK\r\n\r\nnot a DM message"),
        Err(Error::Decode(_))
    ));
    // None of it touched the session: the real server's reply still works...
    let body = status(1, 1, 0, "SyncHdr", 212)
        + "<Replace><CmdID>2</CmdID><Item><Target><LocURI>./DMAcc/srv1/AppID</LocURI></Target>\
           <Data>w9</Data></Item></Replace>";
    let msg = rig.server.message(&body, true);
    let reply = rig.handle(&mut s, &msg).unwrap().unwrap();
    assert_eq!(
        command_statuses(&reply),
        [("Replace".into(), "2".into(), 200)]
    );
    // ...and its last message ends the session, after which nothing is handled.
    let msg = rig.server.message(&status(1, 2, 0, "SyncHdr", 200), true);
    assert!(rig.handle(&mut s, &msg).unwrap().is_none());
    assert!(s.is_done());
    let again = rig.server.message("", true);
    assert_eq!(rig.handle(&mut s, &again).err(), Some(Error::Finished));
    assert_eq!(value(&mut rig.tree, "./DMAcc/srv1/AppID").unwrap(), b"w9");
}

#[test]
fn an_add_of_a_large_object_broken_off_leaves_no_node_behind() {
    // Broken off: the interior nodes the Add created on its way go too.
    let (mut rig, mut s) = Rig::new();
    let uri = "./DMAcc/srv1/ToConRef/c1/ConRef";
    let first = chunk(2, "Add", uri, &"n".repeat(40), Some(60), true);
    let msg = rig
        .server
        .message(&(status(1, 1, 0, "SyncHdr", 212) + &first), false);
    let reply = rig.handle(&mut s, &msg).unwrap().unwrap();
    assert_eq!(command_statuses(&reply), [("Add".into(), "2".into(), 213)]);
    assert!(
        value(&mut rig.tree, uri).is_some(),
        "written into as it comes"
    );
    let other = "<Get><CmdID>2</CmdID><Item><Target><LocURI>./DevInfo/Mod</LocURI></Target>\
                 </Item></Get>";
    let msg = rig
        .server
        .message(&(status(1, 2, 0, "SyncHdr", 200) + other), true);
    let reply = rig.handle(&mut s, &msg).unwrap().unwrap();
    assert_eq!(reply.alerts, [(1225, Some(uri.to_string()))]);
    assert_eq!(value(&mut rig.tree, "./DMAcc/srv1/ToConRef"), None);
}

#[test]
fn an_add_of_a_large_object_refused_at_its_first_chunk_leaves_no_node_behind() {
    // Larger than any value the tree keeps: refused at once, and the node it would have
    // gone to is not left empty.
    let (mut rig, mut s) = Rig::new();
    let first = chunk(
        2,
        "Add",
        "./DMAcc/srv1/Name",
        &"a".repeat(100),
        Some(5000),
        true,
    );
    let msg = rig
        .server
        .message(&(status(1, 1, 0, "SyncHdr", 212) + &first), false);
    let reply = rig.handle(&mut s, &msg).unwrap().unwrap();
    assert_eq!(command_statuses(&reply), [("Add".into(), "2".into(), 413)]);
    assert_eq!(value(&mut rig.tree, "./DMAcc/srv1/Name"), None);
}

#[test]
fn a_session_keeps_its_state_in_under_4_kib() {
    // Everything else it needs is the caller's: the message buffers and scratch.
    assert!(
        std::mem::size_of::<Session>() <= 4096,
        "{} bytes",
        std::mem::size_of::<Session>()
    );
}

/// Package 1 of a session set up by value, or of one set up in place in a slot that held
/// an earlier session of another kind (other alerts, encoding, initiation) which had sent
/// its own package 1, from the same tree and random numbers.
fn package_1(in_place: bool) -> Result<Vec<u8>, Error> {
    let mut tree = device(SERVER, cred(AuthScheme::Basic, "dev", "pw", b""), None);
    let mut tx = vec![0u8; 8192];
    let mut scratch = vec![0u8; 2048];
    let cfg = Config {
        encoding: Encoding::Xml,
        ..Config::default()
    };
    let alerts = [GenericAlert {
        alert_type: "org.example.alert",
        format: "chr",
        mark: None,
        source: Some("./Ex"),
        target: None,
        correlator: None,
        data: "42",
    }];
    let mut slot = Box::new(std::mem::MaybeUninit::uninit());
    if in_place {
        let earlier = [GenericAlert {
            data: "7",
            ..alerts[0]
        }; 3];
        let mut rng = SeededRng::new(99);
        let mut env = Env {
            tree: &mut tree,
            ui: &mut NoUi,
            rng: &mut rng,
            clock: &NoClock,
            alerts: &earlier,
        };
        let before = Session::new_in(
            &mut slot,
            &mut env,
            Config::default(),
            "srv1",
            Initiation::Server { session_id: 9 },
        )?;
        let _ = before.start(&mut env, &mut tx, &mut scratch)?;
    }
    let mut rng = SeededRng::new(3);
    let mut env = Env {
        tree: &mut tree,
        ui: &mut NoUi,
        rng: &mut rng,
        clock: &NoClock,
        alerts: &alerts,
    };
    let mut by_value;
    let session = if in_place {
        Session::new_in(&mut slot, &mut env, cfg, "srv1", Initiation::Client)?
    } else {
        by_value = Session::new(&mut env, cfg, "srv1", Initiation::Client)?;
        &mut by_value
    };
    let sent = session.start(&mut env, &mut tx, &mut scratch)?;
    tx.truncate(sent.len);
    Ok(tx)
}

#[test]
fn a_session_set_up_in_place_sends_what_one_set_up_by_value_sends() {
    let by_value = package_1(false).unwrap();
    let in_place = package_1(true).unwrap();
    assert!(std::str::from_utf8(&in_place)
        .unwrap()
        .contains("<Data>1201</Data>"));
    assert_eq!(in_place, by_value);
}

/// A session of `account` on `tree`, set up by value, or why it could not be.
fn new_session(tree: &mut DmTree, account: &str) -> Result<(), Error> {
    let mut rng = SeededRng::new(3);
    let mut env = Env {
        tree,
        ui: &mut NoUi,
        rng: &mut rng,
        clock: &NoClock,
        alerts: &[],
    };
    Session::new(&mut env, Config::default(), account, Initiation::Client).map(|_| ())
}

#[test]
fn a_session_set_up_in_place_refuses_an_unknown_account_and_has_nothing_to_do() {
    let mut tree = device(SERVER, cred(AuthScheme::Basic, "dev", "pw", b""), None);
    let mut rng = SeededRng::new(3);
    let mut env = Env {
        tree: &mut tree,
        ui: &mut NoUi,
        rng: &mut rng,
        clock: &NoClock,
        alerts: &[],
    };
    let mut slot = Box::new(std::mem::MaybeUninit::uninit());
    let r = Session::new_in(
        &mut slot,
        &mut env,
        Config::default(),
        "nobody",
        Initiation::Client,
    );
    assert!(matches!(r, Err(Error::Account(_))), "{:?}", r.err());
    // SAFETY: `new_in` leaves the slot holding a session, also when it fails.
    let session = unsafe { slot.assume_init_mut() };
    assert!(session.is_done());
    let (mut tx, mut scratch) = (vec![0u8; 4096], vec![0u8; 1024]);
    assert_eq!(
        session.start(&mut env, &mut tx, &mut scratch).err(),
        Some(Error::Finished)
    );
    let session = Session::new_in(
        &mut slot,
        &mut env,
        Config::default(),
        "srv1",
        Initiation::Client,
    )
    .unwrap();
    assert!(!session.is_done());
    assert_eq!(session.server_id(), "srv1");
}

/// Every leaf of DevInfo and DevDetail has a value before a session starts: a device
/// without its device information is refused, naming the leaf, and sends nothing.
#[test]
fn a_session_needs_the_whole_device_information() {
    use iotadm::session::DeviceInfoError;
    use iotadm::tree::Principal;
    for leaf in iotadm::session::DeviceInfo::LEAVES {
        let mut tree = device(SERVER, cred(AuthScheme::Basic, "dev", "pw", b""), None);
        tree.replace(Principal::Device, leaf, b"", None, None)
            .unwrap();
        let r = new_session(&mut tree, "srv1");
        assert!(
            matches!(r, Err(Error::DeviceInfo(DeviceInfoError::Missing(l))) if l == leaf),
            "{leaf}: {:?}",
            r.err()
        );
    }
}

/// DevDetail: the integrator's values, the tree's URI limits, and `LrgObj` `true` (the
/// session does large objects); none of the engine's values can be changed.
#[test]
fn dev_detail_reports_every_leaf() {
    use iotadm::codes::StatusCode;
    use iotadm::tree::Principal;
    let mut tree = device(SERVER, cred(AuthScheme::Basic, "dev", "pw", b""), None);
    let info = common::device::device_info();
    for (leaf, want) in iotadm::session::DeviceInfo::LEAVES
        .iter()
        .zip(info.values())
    {
        assert_eq!(value(&mut tree, leaf).unwrap(), want.as_bytes(), "{leaf}");
    }
    let srv = Principal::Server("srv1");
    for (leaf, want) in [
        ("./DevDetail/LrgObj", "true"),
        ("./DevDetail/URI/MaxDepth", "16"),
        ("./DevDetail/URI/MaxTotLen", "255"),
        ("./DevDetail/URI/MaxSegLen", "64"),
    ] {
        let mut buf = [0u8; 16];
        let r = tree.get(srv, leaf, 0, &mut buf).unwrap();
        assert_eq!(&buf[..r.len], want.as_bytes(), "{leaf}");
        assert_eq!(
            tree.replace(Principal::Device, leaf, b"1", None, None),
            Err(StatusCode::CommandNotAllowed),
            "{leaf}"
        );
    }
    let mut buf = [0u8; 8];
    let r = tree
        .get(srv, "./DevDetail/LrgObj?prop=Format", 0, &mut buf)
        .unwrap();
    assert_eq!(&buf[..r.len], b"bool");
}

/// A clock that moves a minute every time it is read.
struct Ticking(std::cell::Cell<u64>);

impl iotadm::platform::Clock for Ticking {
    fn unix_time(&self) -> Option<u64> {
        let now = self.0.get();
        self.0.set(now + 60);
        Some(now)
    }
}

/// Drives a session against a server that never ends it: each server message answers the
/// client's last one and brings `more` (never `Final`). Returns how the session ended
/// and how many messages the client sent.
fn endless(cfg: Config, clock: &dyn iotadm::platform::Clock, more: &str) -> (Error, u32) {
    let mut tree = device(SERVER, cred(AuthScheme::Basic, "dev", "pw", b""), None);
    let mut rng = SeededRng::new(3);
    let (mut tx, mut scratch) = (vec![0u8; 8192], vec![0u8; 2048]);
    let mut env = Env {
        tree: &mut tree,
        ui: &mut NoUi,
        rng: &mut rng,
        clock,
        alerts: &[],
    };
    let mut session = Session::new(&mut env, cfg, "srv1", Initiation::Client).unwrap();
    let _ = session.start(&mut env, &mut tx, &mut scratch).unwrap();
    let mut server = Server {
        session_id: session.session_id().to_string(),
        msg_id: 0,
    };
    let mut sent = 1;
    loop {
        let code = if sent == 1 { 212 } else { 200 };
        let body =
            status(1, sent, 0, "SyncHdr", code) + &more.replace("{id}", &(sent + 1).to_string());
        let msg = server.message(&body, false);
        match session.handle(&mut env, &msg, None, &[], &mut tx, &mut scratch) {
            Ok(Step::Send(_)) => sent += 1,
            Ok(Step::Done(o)) => panic!("the session ended: {o:?}"),
            Err(e) => return (e, sent),
        }
        assert!(sent <= 10_000, "no bound");
    }
}

/// A server that never sends `Final`, or only ever asks for the next message, cannot keep
/// the handset in one session for ever: the session ends after `max_messages` messages,
/// or after `max_session_secs` by the device's clock, with an error saying which.
#[test]
fn a_session_that_never_ends_is_ended_by_its_bounds() {
    use iotadm::session::SessionLimit;
    let get = "<Get><CmdID>{id}</CmdID><Item><Target><LocURI>./DevInfo/Mod</LocURI></Target></Item></Get>";
    let next = "<Alert><CmdID>{id}</CmdID><Data>1222</Data></Alert>";
    for more in [get, next] {
        let cfg = Config {
            max_messages: 25,
            ..Config::default()
        };
        let (e, sent) = endless(cfg, &NoClock, more);
        assert_eq!(e, Error::Limit(SessionLimit::Messages(25)), "{more}");
        assert_eq!(sent, 25, "{more}");
    }
    // The defaults bound it too.
    let (e, sent) = endless(Config::default(), &NoClock, next);
    assert_eq!(e, Error::Limit(SessionLimit::Messages(1000)));
    assert_eq!(sent, 1000);
    // By time: a minute goes by each time the clock is read.
    let cfg = Config {
        max_session_secs: 600,
        ..Config::default()
    };
    let (e, sent) = endless(cfg, &Ticking(std::cell::Cell::new(1_700_000_000)), get);
    assert_eq!(e, Error::Limit(SessionLimit::Seconds(600)));
    assert!(sent < 10, "{sent}");
}

/// When the client's package runs over several messages and the server sends a new
/// package of commands instead of Alert 1222, every one of those commands, nested ones
/// included, gets exactly one Status naming it (400: the server broke the protocol), and
/// the client's package goes on.
#[test]
fn commands_sent_during_the_clients_package_each_get_one_status() {
    let (mut rig, mut s) = Rig::new();
    // A listing larger than the server's MaxMsgSize: the client's package takes several
    // messages.
    let body = status(1, 1, 0, "SyncHdr", 212)
        + "<Get><CmdID>2</CmdID><Item><Target><LocURI>.?list=TNDS+Value</LocURI></Target></Item></Get>";
    let mut msg = rig.server.message(&body, true);
    let meta = b"<Meta><MaxMsgSize xmlns=\"syncml:metinf\">2000</MaxMsgSize></Meta></SyncHdr>";
    let at = msg.windows(10).position(|w| w == b"</SyncHdr>").unwrap();
    msg.splice(at..at + 10, meta.iter().copied());
    let reply = rig.handle(&mut s, &msg).unwrap().unwrap();
    assert!(!reply.is_final, "the listing goes on");
    assert_eq!(command_statuses(&reply), [("Get".into(), "2".into(), 200)]);
    // The server breaks in with a new package.
    let body = status(1, 2, 0, "SyncHdr", 200)
        + "<Get><CmdID>3</CmdID><Item><Target><LocURI>./DevInfo/Mod</LocURI></Target></Item></Get>\
           <Replace><CmdID>4</CmdID><Item><Target><LocURI>./DMAcc/srv1/Name</LocURI></Target><Data>x</Data></Item></Replace>\
           <Atomic><CmdID>5</CmdID>\
             <Add><CmdID>6</CmdID><Item><Target><LocURI>./DMAcc/srv1/Name</LocURI></Target><Data>y</Data></Item></Add>\
             <Delete><CmdID>7</CmdID><Item><Target><LocURI>./DMAcc/srv1/Name</LocURI></Target></Item></Delete>\
           </Atomic>\
           <Sequence><CmdID>8</CmdID>\
             <Get><CmdID>9</CmdID><Item><Target><LocURI>./DevInfo/Man</LocURI></Target></Item></Get>\
           </Sequence>\
           <Exec><CmdID>10</CmdID><Item><Target><LocURI>./DevInfo/Man</LocURI></Target></Item></Exec>\
           <Alert><CmdID>11</CmdID><Data>1100</Data><Item><Data></Data></Item><Item><Data>hi</Data></Item></Alert>\
           <Get><CmdID>12</CmdID><NoResp/><Item><Target><LocURI>./DevInfo/Mod</LocURI></Target></Item></Get>";
    let msg = rig.server.message(&body, true);
    let reply = rig.handle(&mut s, &msg).unwrap().unwrap();
    let mut got = command_statuses(&reply);
    got.sort_by_key(|(_, id, _)| id.parse::<u32>().unwrap());
    let expected: Vec<(String, String, u16)> = [
        ("Get", 3),
        ("Replace", 4),
        ("Atomic", 5),
        ("Add", 6),
        ("Delete", 7),
        ("Sequence", 8),
        ("Get", 9),
        ("Exec", 10),
        ("Alert", 11),
    ]
    .iter()
    .map(|(c, id)| (c.to_string(), id.to_string(), 400))
    .collect();
    assert_eq!(got, expected);
    // Nothing of it ran, and the listing goes on.
    assert_eq!(value(&mut rig.tree, "./DMAcc/srv1/Name"), None);
    assert!(!reply.is_final);
    // More commands than one message can answer: the session ends, saying why.
    let many: String = (20..120)
        .map(|id| format!("<Get><CmdID>{id}</CmdID><Item><Target><LocURI>./DevInfo/Mod</LocURI></Target></Item></Get>"))
        .collect();
    let msg = rig
        .server
        .message(&(status(1, 3, 0, "SyncHdr", 200) + &many), true);
    assert_eq!(
        rig.handle(&mut s, &msg).err(),
        Some(Error::PackageInterrupted)
    );
}
