//! Arbitrary bytes as server messages into a live session: every message is answered,
//! refused with an error or ends the session, never a panic, and each is handled in time
//! bounded by its size (libFuzzer's `-timeout` catches a stall).
//!
//! The input is split at `\n--\n` into messages. A message starting with `<` or the WBXML
//! version byte goes as it is; any other is wrapped in a valid header of the session, so
//! that the fuzzer reaches the commands without having to guess the session id.
#![no_main]

use iotadm::schema::STANDARD;
use iotadm::codec::Encoding;
use iotadm::flash::MemFlash;
use iotadm::platform::NoClock;
use iotadm::session::{
    Config, DefaultAnswers, Env, Initiation, Session, Step,
};
use iotadm_host::sim::{AccountSpec, CredSpec, SeededRng};
use iotadm::tree::{NoHandlers, Tree, TreeStorage, UriLimits};
use libfuzzer_sys::fuzz_target;

type Flash = MemFlash<Vec<u8>, 1024, 8>;

const HEADER: &str = "<SyncML xmlns=\"SYNCML:SYNCML1.2\"><SyncHdr><VerDTD>1.2</VerDTD>\
<VerProto>DM/1.2</VerProto><SessionID>1234</SessionID><MsgID>2</MsgID><Target><LocURI>IMEI:1</LocURI>\
</Target><Source><LocURI>http://127.0.0.1/dm</LocURI></Source><Meta><MaxMsgSize \
xmlns=\"syncml:metinf\">2048</MaxMsgSize></Meta></SyncHdr><SyncBody>";

type DmTree<'s> = Tree<'s, Flash, NoHandlers>;
type Storage = TreeStorage<128, 8192, 512>;

/// The provisioned device's flash, made once: each input mounts a copy.
fn provisioned() -> &'static [u8] {
    static IMAGE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    IMAGE.get_or_init(|| {
        let mut flash: Flash = MemFlash::new(vec![0u8; 64 * 1024]);
        flash.erase_all();
        let mut storage = Box::new(Storage::new());
        let mut tree: DmTree = Tree::mount(&mut storage, &STANDARD, flash, NoHandlers, UriLimits::DEFAULT).expect("mount");
        iotadm_host::sim::device_info("IMEI:1").store(&mut tree).expect("device information");
        let spec = AccountSpec {
            node: "srv",
            server_id: "srv",
            addr: "http://127.0.0.1/dm",
            client: Some(CredSpec {
                scheme: iotadm::auth::AuthScheme::Basic,
                name: "dev",
                secret: "pw",
                nonce: b"",
            }),
            server: None,
            acl: None,
        };
        spec.provision(&mut tree).expect("bootstrap");
        tree.into_parts().0.into_inner()
    })
}

fuzz_target!(|data: &[u8]| {
    let flash: Flash = MemFlash::new(provisioned().to_vec());
    let mut storage = Box::new(Storage::new());
    let mut tree: DmTree = Tree::mount(&mut storage, &STANDARD, flash, NoHandlers, UriLimits::DEFAULT).expect("mount");
    let mut scratch = [0u8; 1024];
    let (mut ui, mut rng, clock) = (DefaultAnswers, SeededRng::new(1), NoClock);
    let mut env = Env { tree: &mut tree, ui: &mut ui, rng: &mut rng, clock: &clock, alerts: &[] };
    let cfg = Config { encoding: Encoding::Xml, max_obj_size: 4096, ..Config::default() };
    let mut session = Session::new(&mut env, cfg, "srv", Initiation::Server { session_id: 0x1234 })
        .expect("session");
    let mut tx = vec![0u8; 4096];
    let mut held: Vec<u8> = Vec::new();
    let mut hold = session.start(&mut env, &mut tx, &mut scratch).expect("package 1").hold;
    for part in split(data) {
        let message = if part.first().is_some_and(|&b| b == b'<' || b <= 3) {
            part.to_vec()
        } else {
            let mut m = HEADER.as_bytes().to_vec();
            m.extend_from_slice(part);
            m.extend_from_slice(b"</SyncBody></SyncML>");
            m
        };
        let previous = if hold { held.clone() } else { Vec::new() };
        match session.handle(&mut env, &message, None, &previous, &mut tx, &mut scratch) {
            Ok(Step::Send(t)) => {
                assert!(t.len <= tx.len());
                if !hold && t.hold {
                    held = message;
                }
                hold = t.hold;
            }
            Ok(Step::Done(_)) | Err(_) => break,
        }
    }
    session.abandon(&mut env);
});

fn split(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(data);
    std::iter::from_fn(move || {
        let r = rest?;
        match r.windows(4).position(|w| w == b"\n--\n") {
            Some(i) => {
                rest = Some(&r[i + 4..]);
                Some(&r[..i])
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
}
