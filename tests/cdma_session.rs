//! A DM session through the session engine against the CDMA object: the server unlocks
//! service programming with the SPC by `Exec`, then changes NAM parameters in an Atomic;
//! a second Atomic with one bad value changes nothing; when the session ends the lock
//! engages again.
#![cfg(feature = "cdma")]

use std::cell::RefCell;
use std::collections::HashMap;

use iotadm::cdma::{Cdma, FlashPrlStore, HmacSpasm, Limits, LockState, Policy, ServiceLock};
use iotadm::codec::{self, Command, Encoding};
use iotadm::flash::MemFlash;
use iotadm::platform::{NoClock, Rng};
use iotadm::schema::STANDARD;
use iotadm::session::{
    apply_bootstrap, BootstrapSource, Config, DefaultAnswers, Env, Initiation, Session, Step,
};
use iotadm::tree::{HandlerTable, NodeHandler, Principal, Tree, TreeStorage, UriLimits};

/// Tree storage that lives as long as the test process.
fn storage<const N: usize, const A: usize, const R: usize>() -> &'static mut TreeStorage<N, A, R> {
    Box::leak(Box::new(TreeStorage::new()))
}

type Flash = MemFlash<Vec<u8>, 1024, 8>;

struct TestRng(u64);

impl Rng for TestRng {
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for b in dest {
            self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1);
            *b = (self.0 >> 33) as u8;
        }
    }
}

fn blank(size: usize) -> Flash {
    let mut f = MemFlash::new(vec![0u8; size]);
    f.erase_all();
    f
}

const BOOT: &str = r#"<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto><SessionID>0</SessionID><MsgID>1</MsgID><Target><LocURI>MEID:A0000000000001</LocURI></Target><Source><LocURI>factory</LocURI></Source></SyncHdr><SyncBody>
<Add><CmdID>1</CmdID>
<Item><Target><LocURI>./DMAcc/srv1/ServerID</LocURI></Target><Data>srv1</Data></Item>
<Item><Target><LocURI>./DMAcc/srv1/AppID</LocURI></Target><Data>w7</Data></Item>
<Item><Target><LocURI>./DMAcc/srv1/AppAddr/1/Addr</LocURI></Target><Data>http://127.0.0.1:1/dm</Data></Item>
<Item><Target><LocURI>./DMAcc/srv1/AppAuth/c/AAuthLevel</LocURI></Target><Data>CLCRED</Data></Item>
<Item><Target><LocURI>./DMAcc/srv1/AppAuth/c/AAuthType</LocURI></Target><Data>BASIC</Data></Item>
<Item><Target><LocURI>./DMAcc/srv1/AppAuth/c/AAuthName</LocURI></Target><Data>dev</Data></Item>
<Item><Target><LocURI>./DMAcc/srv1/AppAuth/c/AAuthSecret</LocURI></Target><Data>pw</Data></Item>
</Add><Replace><CmdID>2</CmdID><Item><Target><LocURI>./DMAcc/srv1?prop=ACL</LocURI></Target><Data>Get=srv1&amp;Replace=srv1&amp;Add=srv1&amp;Delete=srv1</Data></Item></Replace><Final/></SyncBody></SyncML>"#;

fn header(sid: &str, msg: u32) -> String {
    format!(
        r#"<SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto><SessionID>{sid}</SessionID><MsgID>{msg}</MsgID><Target><LocURI>MEID:A0000000000001</LocURI></Target><Source><LocURI>http://127.0.0.1:1/dm</LocURI></Source></SyncHdr>"#
    )
}

fn replace(id: u32, uri: &str, data: &str) -> String {
    format!(
        "<Replace><CmdID>{id}</CmdID><Item><Target><LocURI>{uri}</LocURI></Target><Data>{data}</Data></Item></Replace>"
    )
}

/// `CmdRef` → status code, from a client message.
fn statuses(msg: &[u8]) -> HashMap<String, u16> {
    let parsed = codec::parse(msg).unwrap();
    let mut out = HashMap::new();
    for cmd in parsed.body.commands {
        if let Command::Status(s) = cmd {
            let mut b1 = [0u8; 16];
            let cmd_ref = s.cmd_ref.unwrap().to_str(&mut b1).unwrap().to_string();
            let code = s.data.unwrap().parse_u32().unwrap() as u16;
            out.insert(cmd_ref, code);
        }
    }
    out
}

#[test]
fn a_server_unlocks_with_the_spc_then_changes_a_nam_in_an_atomic() {
    let lock = RefCell::new(
        ServiceLock::mount(
            blank(2048),
            HmacSpasm::new([1; 32], TestRng(9)),
            NoClock,
            Policy::default(),
        )
        .unwrap(),
    );
    let store = FlashPrlStore::new(blank(16 * 1024), 1).unwrap();
    let mut cdma = Cdma::new(&STANDARD, &lock, store, Limits::default());
    let cdma_node = STANDARD.find("./CDMA").unwrap();
    let table = HandlerTable::new([(cdma_node, &mut cdma as &mut dyn NodeHandler)]);
    let mut tree: Tree<Flash, _> = Tree::mount(
        storage::<256, 16384, 512>(),
        &STANDARD,
        blank(64 * 1024),
        table,
        UriLimits::DEFAULT,
    )
    .unwrap();

    // The factory: device information, account, NAM 0, an ACL for srv1 and the SPC.
    let dev = Principal::Device;
    iotadm_host::sim::device_info("MEID:A0000000000001")
        .store(&mut tree)
        .unwrap();
    let mut scratch = [0u8; 4096];
    apply_bootstrap(
        &mut tree,
        BOOT.as_bytes(),
        BootstrapSource::Trusted,
        None,
        &mut scratch,
    )
    .unwrap();
    tree.add(dev, "./CDMA/NAM/0", None, None, None).unwrap();
    tree.replace(
        dev,
        "./CDMA?prop=ACL",
        b"Get=*&Exec=*&Replace=srv1&Add=srv1&Delete=srv1",
        None,
        None,
    )
    .unwrap();
    tree.replace(dev, "./CDMA/SPL/SPC", b"246810", None, None)
        .unwrap();
    tree.replace(dev, "./CDMA/NAM/0/ACCOLC", b"1", None, None)
        .unwrap();

    let mut ui = DefaultAnswers;
    let mut rng = TestRng(1);
    let clock = NoClock;
    let mut env = Env {
        tree: &mut tree,
        ui: &mut ui,
        rng: &mut rng,
        clock: &clock,
        alerts: &[],
    };
    let cfg = Config {
        encoding: Encoding::Xml,
        ..Config::default()
    };
    let mut s = Session::new(&mut env, cfg, "srv1", Initiation::Client).unwrap();
    let mut tx = vec![0u8; 8192];
    let _ = s.start(&mut env, &mut tx, &mut scratch).unwrap();
    let sid = s.session_id().to_string();

    let n = "./CDMA/NAM/0";
    let body = [
        "<Status><CmdID>1</CmdID><MsgRef>1</MsgRef><CmdRef>0</CmdRef><Cmd>SyncHdr</Cmd><Data>212</Data></Status>".to_string(),
        // A wrong code first, then the right one.
        "<Exec><CmdID>2</CmdID><Item><Target><LocURI>./CDMA/SPL/Unlock</LocURI></Target><Data>135790</Data></Item></Exec>".to_string(),
        "<Exec><CmdID>3</CmdID><Item><Target><LocURI>./CDMA/SPL/Unlock</LocURI></Target><Data>246810</Data></Item></Exec>".to_string(),
        format!(
            "<Atomic><CmdID>4</CmdID>{}{}<Add><CmdID>7</CmdID><Item><Target><LocURI>{n}/SID_NID/1/SID</LocURI></Target><Data>4139</Data></Item></Add></Atomic>",
            replace(5, &format!("{n}/MDN"), "8585550123"),
            replace(6, &format!("{n}/HOME_SID"), "4139"),
        ),
        // One bad value (SCM is 8 bits): nothing of this Atomic stays.
        format!(
            "<Atomic><CmdID>8</CmdID>{}{}</Atomic>",
            replace(9, &format!("{n}/ACCOLC"), "3"),
            replace(10, &format!("{n}/SCM"), "999"),
        ),
        format!("<Get><CmdID>11</CmdID><Item><Target><LocURI>{n}/MDN</LocURI></Target></Item></Get>"),
        "<Get><CmdID>12</CmdID><Item><Target><LocURI>./CDMA/SPL/State</LocURI></Target></Item></Get>".to_string(),
    ]
    .concat();
    let reply = format!(
        r#"<SyncML xmlns="SYNCML:SYNCML1.2">{}<SyncBody>{body}<Final/></SyncBody></SyncML>"#,
        header(&sid, 1)
    );
    let step = s
        .handle(&mut env, reply.as_bytes(), None, &[], &mut tx, &mut scratch)
        .unwrap();
    let Step::Send(t) = step else {
        panic!("the session ended early: {step:?}");
    };
    let answer = tx[..t.len].to_vec();
    let text = String::from_utf8_lossy(&answer).to_string();
    let codes = statuses(&answer);
    let expect = [
        ("2", 401),
        ("3", 200),
        ("4", 200),
        ("5", 200),
        ("6", 200),
        ("7", 200),
        ("8", 507),
        ("9", 216),
        ("10", 400),
        ("11", 200),
        ("12", 200),
    ];
    for (cmd_ref, code) in expect {
        assert_eq!(
            codes.get(cmd_ref),
            Some(&code),
            "CmdRef {cmd_ref} in\n{text}"
        );
    }
    assert!(text.contains("<Data>8585550123</Data>"), "{text}");
    assert!(text.contains("<Data>Unlocked</Data>"), "{text}");

    // The server closes the session: the lock engages again.
    let close = format!(
        r#"<SyncML xmlns="SYNCML:SYNCML1.2">{}<SyncBody><Status><CmdID>1</CmdID><MsgRef>2</MsgRef><CmdRef>0</CmdRef><Cmd>SyncHdr</Cmd><Data>200</Data></Status><Final/></SyncBody></SyncML>"#,
        header(&sid, 2)
    );
    let step = s
        .handle(&mut env, close.as_bytes(), None, &[], &mut tx, &mut scratch)
        .unwrap();
    assert!(matches!(step, Step::Done(_)), "{step:?}");
    assert_eq!(lock.borrow().state("srv1"), LockState::Locked);
    assert_eq!(lock.borrow().failures(), 0);

    let mut buf = [0u8; 32];
    let mut read = |uri: &str| {
        let r = env.tree.get(dev, uri, 0, &mut buf).unwrap();
        String::from_utf8(buf[..r.len].to_vec()).unwrap()
    };
    assert_eq!(read("./CDMA/NAM/0/MDN"), "8585550123");
    assert_eq!(read("./CDMA/NAM/0/HOME_SID"), "4139");
    assert_eq!(read("./CDMA/NAM/0/SID_NID/1/SID"), "4139");
    assert_eq!(read("./CDMA/NAM/0/ACCOLC"), "1");
    assert_eq!(
        env.tree.replace(
            Principal::Server("srv1"),
            "./CDMA/NAM/0/MDN",
            b"1",
            None,
            None
        ),
        Err(iotadm::codes::StatusCode::PermissionDenied)
    );
}
