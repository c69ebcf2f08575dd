use iotadm::codec::{self, Encoding};
use iotadm::flash::MemFlash;
use iotadm::platform::{NoClock, Rng};
use iotadm::session::{
    apply_bootstrap, BootstrapSource, Config, DefaultAnswers, Env, Initiation, Session, Step,
};
use iotadm::tree::{NoHandlers, Principal, Tree, UriLimits};

type Flash = MemFlash<Vec<u8>, 1024, 8>;
type DmTree = Tree<Flash, NoHandlers, 256, 16384, 512>;

struct TestRng(u64);
impl Rng for TestRng {
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for b in dest {
            self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1);
            *b = (self.0 >> 33) as u8;
        }
    }
}

const BOOT: &str = r#"<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto><SessionID>0</SessionID><MsgID>1</MsgID><Target><LocURI>IMEI:1</LocURI></Target><Source><LocURI>factory</LocURI></Source></SyncHdr><SyncBody>
<Add><CmdID>1</CmdID>
<Item><Target><LocURI>./DMAcc/srv1/ServerID</LocURI></Target><Data>srv1</Data></Item>
<Item><Target><LocURI>./DMAcc/srv1/AppID</LocURI></Target><Data>w7</Data></Item>
<Item><Target><LocURI>./DMAcc/srv1/AppAddr/1/Addr</LocURI></Target><Data>http://127.0.0.1:1/dm</Data></Item>
<Item><Target><LocURI>./DMAcc/srv1/AppAuth/c/AAuthLevel</LocURI></Target><Data>CLCRED</Data></Item>
<Item><Target><LocURI>./DMAcc/srv1/AppAuth/c/AAuthType</LocURI></Target><Data>BASIC</Data></Item>
<Item><Target><LocURI>./DMAcc/srv1/AppAuth/c/AAuthName</LocURI></Target><Data>dev</Data></Item>
<Item><Target><LocURI>./DMAcc/srv1/AppAuth/c/AAuthSecret</LocURI></Target><Data>pw</Data></Item>
</Add><Replace><CmdID>2</CmdID><Item><Target><LocURI>./DMAcc/srv1?prop=ACL</LocURI></Target><Data>Get=srv1&amp;Replace=srv1&amp;Add=srv1&amp;Delete=srv1</Data></Item></Replace><Final/></SyncBody></SyncML>"#;

#[test]
fn smoke() {
    let mut f = MemFlash::new(vec![0u8; 64 * 1024]);
    f.erase_all();
    let mut tree: DmTree = Tree::mount(f, NoHandlers, UriLimits::DEFAULT).unwrap();
    tree.replace(Principal::Device, "./DevInfo/DevId", b"IMEI:1", None, None)
        .unwrap();
    let mut scratch = [0u8; 2048];
    let n = apply_bootstrap(
        &mut tree,
        BOOT.as_bytes(),
        BootstrapSource::Trusted,
        None,
        &mut scratch,
    )
    .unwrap();
    assert_eq!(n, 8);
    let mut ui = DefaultAnswers;
    let mut rng = TestRng(1);
    let clock = NoClock;
    let mut env = Env {
        tree: &mut tree,
        ui: &mut ui,
        rng: &mut rng,
        clock: &clock,
    };
    let cfg = Config {
        encoding: Encoding::Xml,
        ..Config::default()
    };
    let mut s = Session::new(&mut env, cfg, "srv1", Initiation::Client, &[]).unwrap();
    let mut tx = vec![0u8; 8192];
    let t = s.start(&mut env, &mut tx, &mut scratch).unwrap();
    let pkg1 = String::from_utf8(tx[..t.len].to_vec()).unwrap();
    println!("{pkg1}");
    let sid = s.session_id().to_string();
    let reply = format!(
        r#"<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto><SessionID>{sid}</SessionID><MsgID>1</MsgID><Target><LocURI>IMEI:1</LocURI></Target><Source><LocURI>http://127.0.0.1:1/dm</LocURI></Source><Meta><MaxMsgSize xmlns="syncml:metinf">1200</MaxMsgSize></Meta></SyncHdr><SyncBody>
<Status><CmdID>1</CmdID><MsgRef>1</MsgRef><CmdRef>0</CmdRef><Cmd>SyncHdr</Cmd><Data>212</Data></Status>
<Get><CmdID>2</CmdID><Item><Target><LocURI>./DevInfo/DevId</LocURI></Target></Item><Item><Target><LocURI>./DMAcc/srv1?list=StructData</LocURI></Target></Item></Get>
<Replace><CmdID>3</CmdID><Item><Target><LocURI>./DMAcc/srv1/Name</LocURI></Target><Data>Test &amp; Co</Data></Item></Replace>
<Alert><CmdID>4</CmdID><Data>1101</Data><Item><Data>MINDT=10</Data></Item><Item><Data>Go?</Data></Item></Alert>
<Get><CmdID>5</CmdID><Item><Target><LocURI>./DMAcc/srv1/Name</LocURI></Target></Item></Get>
<Final/></SyncBody></SyncML>"#
    );
    let held = reply.clone();
    let mut step = s
        .handle(&mut env, reply.as_bytes(), None, &[], &mut tx, &mut scratch)
        .unwrap();
    let mut msg = 2;
    loop {
        match step {
            Step::Send(t) => {
                let m = String::from_utf8(tx[..t.len].to_vec()).unwrap();
                println!("{} bytes hold={}\n{m}", t.len, t.hold);
                assert!(t.len <= 1200);
                let parsed = codec::parse(m.as_bytes()).unwrap();
                if parsed.body.is_final {
                    break;
                }
                let ack = format!(
                    r#"<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto><SessionID>{sid}</SessionID><MsgID>{msg}</MsgID><Target><LocURI>IMEI:1</LocURI></Target><Source><LocURI>http://127.0.0.1:1/dm</LocURI></Source></SyncHdr><SyncBody><Status><CmdID>1</CmdID><MsgRef>1</MsgRef><CmdRef>0</CmdRef><Cmd>SyncHdr</Cmd><Data>200</Data></Status><Alert><CmdID>2</CmdID><Data>1222</Data></Alert><Final/></SyncBody></SyncML>"#
                );
                msg += 1;
                step = s
                    .handle(
                        &mut env,
                        ack.as_bytes(),
                        None,
                        held.as_bytes(),
                        &mut tx,
                        &mut scratch,
                    )
                    .unwrap();
            }
            Step::Done(o) => panic!("{o:?}"),
        }
    }
}

#[test]
fn sizes() {
    println!("Session {}", std::mem::size_of::<Session<'static>>());
    println!(
        "Account {}",
        std::mem::size_of::<iotadm::session::Account>()
    );
}
#[test]
fn sizes2() {
    println!(
        "WriteTicket {}",
        std::mem::size_of::<iotadm::tree::WriteTicket>()
    );
    println!(
        "AuthEntry {}",
        std::mem::size_of::<iotadm::session::AuthEntry>()
    );
    println!("Nonce {}", std::mem::size_of::<iotadm::auth::Nonce>());
}
