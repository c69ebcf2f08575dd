//! The session engine: the cost of a server package of 1,000 `Replace` commands, from the
//! received WBXML message to the client message of 1,000 statuses, per command; the same
//! message only decoded, as the floor any client pays; and the RAM a session takes.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use iotadm::codec::{self, Encoding};
use iotadm::flash::MemFlash;
use iotadm::platform::NoClock;
use iotadm::schema::STANDARD;
use iotadm::session::{Config, Env, Initiation, NoUi, Session, Step};
use iotadm::tree::{NoHandlers, Tree, TreeStorage, UriLimits};
use iotadm_host::sim::{AccountSpec, CredSpec, SeededRng};

type Flash = MemFlash<Vec<u8>, 4096, 8>;
type DmTree = Tree<'static, Flash, NoHandlers>;

const COMMANDS: usize = 1000;
const SESSION_ID: u16 = 0x1A2B;

fn device() -> DmTree {
    let mut f = MemFlash::new(vec![0u8; 4 << 20]);
    f.erase_all();
    let storage = Box::leak(Box::new(TreeStorage::<256, 16_384, 512>::new()));
    let mut tree: DmTree =
        Tree::mount(storage, &STANDARD, f, NoHandlers, UriLimits::DEFAULT).unwrap();
    iotadm_host::sim::device_info("MEID:A0000012345678")
        .store(&mut tree)
        .unwrap();
    let spec = AccountSpec {
        node: "srv",
        server_id: "srv",
        addr: "http://127.0.0.1/dm",
        client: Some(CredSpec {
            scheme: iotadm::auth::AuthScheme::Basic,
            name: "dev",
            secret: "secret",
            nonce: b"",
        }),
        server: None,
        acl: None,
    };
    spec.provision(&mut tree).unwrap();
    tree
}

/// The server's package 2: the header status (212) and 1,000 Replace commands, in WBXML.
fn package() -> Vec<u8> {
    let mut body = String::from(
        "<Status><CmdID>1</CmdID><MsgRef>1</MsgRef><CmdRef>0</CmdRef><Cmd>SyncHdr</Cmd><Data>212</Data></Status>",
    );
    for i in 0..COMMANDS {
        body.push_str(&format!(
            "<Replace><CmdID>{}</CmdID><Item><Target><LocURI>./DMAcc/srv/AppAddr/1/Addr</LocURI></Target>\
<Meta><Format xmlns=\"syncml:metinf\">chr</Format></Meta><Data>http://127.0.0.1/dm/{i}</Data></Item></Replace>",
            i + 2
        ));
    }
    let xml = format!(
        "<SyncML xmlns=\"SYNCML:SYNCML1.2\"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto>\
<SessionID>{SESSION_ID:X}</SessionID><MsgID>1</MsgID><Target><LocURI>MEID:A0000012345678</LocURI></Target>\
<Source><LocURI>http://127.0.0.1/dm</LocURI></Source><Meta><MaxMsgSize xmlns=\"syncml:metinf\">1048576</MaxMsgSize></Meta>\
</SyncHdr><SyncBody>{body}<Final/></SyncBody></SyncML>"
    );
    let msg = codec::parse(xml.as_bytes()).unwrap();
    let mut wbxml = vec![0u8; msg.encoded_len(Encoding::Wbxml).unwrap()];
    msg.encode(Encoding::Wbxml, &mut wbxml).unwrap();
    wbxml
}

fn bench(c: &mut Criterion) {
    let mut tree = device();
    let pkg = package();
    let mut tx = vec![0u8; 256 * 1024];
    let mut scratch = vec![0u8; 2048];
    let mut rng = SeededRng::new(1);
    let mut ui = NoUi;
    let clock = NoClock;
    let cfg = Config {
        encoding: Encoding::Wbxml,
        max_msg_size: 256 * 1024,
        ..Config::default()
    };

    // One run, checked, before anything is timed.
    {
        let mut env = Env {
            tree: &mut tree,
            ui: &mut ui,
            rng: &mut rng,
            clock: &clock,
            alerts: &[],
        };
        let mut s = Session::new(
            &mut env,
            cfg,
            "srv",
            Initiation::Server {
                session_id: SESSION_ID,
            },
        )
        .unwrap();
        let _ = s.start(&mut env, &mut tx, &mut scratch).unwrap();
        let Step::Send(t) = s
            .handle(&mut env, &pkg, None, &[], &mut tx, &mut scratch)
            .unwrap()
        else {
            panic!("the package must be answered");
        };
        let reply = codec::parse(&tx[..t.len]).unwrap();
        assert!(!t.hold && reply.body.is_final);
        assert_eq!(
            reply.body.commands.len(),
            COMMANDS + 1,
            "a status for the header and each Replace"
        );
        println!(
            "package: {} bytes WBXML, reply {} bytes; size_of::<Session>() = {} bytes",
            pkg.len(),
            t.len,
            std::mem::size_of::<Session>()
        );
    }

    let mut group = c.benchmark_group("session");
    group.measurement_time(Duration::from_secs(8));
    group.bench_function("1000 Replace: handle package, write reply", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let mut env = Env {
                    tree: &mut tree,
                    ui: &mut ui,
                    rng: &mut rng,
                    clock: &clock,
                    alerts: &[],
                };
                let mut s = Session::new(
                    &mut env,
                    cfg,
                    "srv",
                    Initiation::Server {
                        session_id: SESSION_ID,
                    },
                )
                .unwrap();
                let _ = s.start(&mut env, &mut tx, &mut scratch).unwrap();
                let start = Instant::now();
                let step = s.handle(&mut env, black_box(&pkg), None, &[], &mut tx, &mut scratch);
                total += start.elapsed();
                let _ = black_box(step.unwrap());
            }
            total
        })
    });
    group.bench_function("1000 Replace: decode and read every command only", |b| {
        b.iter(|| {
            let msg = codec::parse(black_box(&pkg)).unwrap();
            let mut n = 0usize;
            for cmd in msg.body.commands {
                if let codec::Command::Replace(r) = cmd {
                    for item in r.items {
                        n += item.target.map_or(0, |t| t.uri.len());
                        n += item.data.and_then(|d| d.content()).map_or(0, |t| t.len());
                    }
                }
            }
            black_box(n)
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
