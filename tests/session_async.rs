//! The async driver, through the public API: `Client::run_async` runs whole sessions of the
//! real engine on the simulated handset against the scripted test server over HTTP on
//! 127.0.0.1, through a transport that is pending before every reply, polled by an
//! executor that polls again only when woken. It must answer as the blocking driver does,
//! and end a session whose transport fails, or whose run is dropped, as abandoned.

mod common;

use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use common::device::{
    account, add_fumo, counting, cred, handset, node_id, provision, run_with, with_session, DmTree,
    Platform, Run,
};
use iotadm::auth::AuthScheme;
use iotadm::session::{Client, ClientError, DefaultAnswers, Outcome};
use iotadm::transport::{AsyncTransport, Reply, Request, Transport};
use iotadm::tree::{HandlerTable, Handlers, NodeHandler};
use iotadm_host::testserver::{
    Account, Cmd, Direction, Script, ServerOptions, SessionState, TestServer, Transcript,
};
use iotadm_host::{HttpError, HttpTransport};

/// The host's HTTP transport behind an async face. Every exchange is first pending (having
/// woken its task), as a socket waiting on the network is, and only then posts; the
/// exchange numbered `fail_at` (from 1) fails instead of posting, as a dropped link.
struct Yielding {
    http: HttpTransport,
    exchanges: usize,
    fail_at: Option<usize>,
}

impl Yielding {
    fn new(fail_at: Option<usize>) -> Self {
        Yielding {
            http: HttpTransport::new(),
            exchanges: 0,
            fail_at,
        }
    }
}

#[derive(Debug)]
enum LinkError {
    Http(#[allow(dead_code, reason = "read through Debug, in failure messages")] HttpError),
    Dropped,
}

impl AsyncTransport for Yielding {
    type Error = LinkError;

    async fn exchange(
        &mut self,
        request: &Request<'_>,
        rx: &mut [u8],
        hmac: &mut [u8],
    ) -> Result<Reply, LinkError> {
        PendingOnce(false).await;
        self.exchanges += 1;
        if Some(self.exchanges) == self.fail_at {
            return Err(LinkError::Dropped);
        }
        self.http
            .exchange(request, rx, hmac)
            .map_err(LinkError::Http)
    }
}

/// Pending at its first poll, after waking its task; ready at the next.
struct PendingOnce(bool);

impl Future for PendingOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Polls one future on this thread, as an embedded executor polls a task: again only once
/// it has been woken. A future pending without having arranged a wake would never be
/// polled again, and fails the test. Counts the times the future was pending.
struct Executor {
    woken: Arc<Woken>,
    waker: Waker,
    pending: usize,
}

struct Woken(AtomicBool);

impl Wake for Woken {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

impl Executor {
    fn new() -> Self {
        let woken = Arc::new(Woken(AtomicBool::new(false)));
        Executor {
            waker: Waker::from(woken.clone()),
            woken,
            pending: 0,
        }
    }

    fn poll<F: Future>(&mut self, future: Pin<&mut F>) -> Poll<F::Output> {
        let poll = future.poll(&mut Context::from_waker(&self.waker));
        if poll.is_pending() {
            self.pending += 1;
            assert!(
                self.woken.0.swap(false, Ordering::SeqCst),
                "pending without a wake: no executor would poll it again"
            );
        }
        poll
    }

    fn block_on<F: Future>(&mut self, future: F) -> F::Output {
        let mut future = pin!(future);
        loop {
            if let Poll::Ready(out) = self.poll(future.as_mut()) {
                return out;
            }
        }
    }
}

/// The test server's account for `srv1`, which asks basic credentials of the handset.
fn srv1() -> Account {
    Account::new("srv1").client_basic("dev", "devpw")
}

/// The length of the value the platform keeps at `./FUMO/fw1/PkgName`: several messages'
/// worth at the server's MaxMsgSize, so that its Results go in chunks.
const VALUE_LEN: usize = 5_000;

/// A session whose answers take several messages each way: a value in chunks, then a
/// package of 40 commands whose statuses overflow a message (the session keeps the
/// server's message while it answers).
fn script() -> Script {
    Script::new()
        .package([
            Cmd::get("./FUMO/fw1/PkgName").label("value"),
            Cmd::get("./DevInfo/Mod").label("model"),
        ])
        .package((0..40).map(|i| {
            Cmd::replace("./DMAcc/srv1/AppID", &format!("id {i}")).label(&format!("r{i}"))
        }))
}

/// Starts the test server with [`script`] and a MaxMsgSize of 1,024 bytes.
fn server() -> TestServer {
    let options = ServerOptions {
        max_msg_size: Some(1024),
        ..ServerOptions::default()
    };
    TestServer::start_with(vec![srv1()], script(), options).unwrap()
}

/// A handset with account `srv1` at `server` and FUMO object `fw1`, whose platform keeps
/// [`VALUE_LEN`] bytes at `./FUMO/fw1/PkgName`.
fn handset_for<'p>(server: &TestServer, platform: &'p mut Platform) -> DmTree<HandlerTable<'p, 1>> {
    platform
        .values
        .insert("FUMO/fw1/PkgName".into(), vec![b'v'; VALUE_LEN]);
    let handlers = HandlerTable::new([(node_id("./FUMO"), platform as &mut dyn NodeHandler)]);
    let mut tree = handset(handlers);
    let client = cred(AuthScheme::Basic, "dev", "devpw", b"");
    provision(
        &mut tree,
        &account("srv1", &server.url("srv1"), Some(client), None),
    );
    add_fumo(&mut tree, "fw1");
    tree
}

/// Runs a session of `srv1` on `tree` with the async client over a [`Yielding`] transport
/// failing at `fail_at`. Returns the outcome, whether the session is over afterwards, and
/// the exchanges the transport began and the times the run was pending.
fn run_async<H: Handlers>(
    tree: &mut DmTree<H>,
    fail_at: Option<usize>,
) -> (Result<Outcome, ClientError<LinkError>>, bool, usize, usize) {
    let mut executor = Executor::new();
    let (outcome, done, exchanges) = with_session(
        tree,
        &mut DefaultAnswers,
        Run::default(),
        |session, env, bufs| {
            // Lent, as a firmware task lends its link to each session's client.
            let mut link = Yielding::new(fail_at);
            let mut client = Client::new(&mut link, bufs);
            let outcome =
                counting(|observe| executor.block_on(client.run_async(session, env, observe)));
            (outcome, session.is_done(), link.exchanges)
        },
    )
    .unwrap();
    (outcome, done, exchanges, executor.pending)
}

/// The messages of a transcript, without their bytes (which name the server's port):
/// direction, package and MsgID of each.
fn messages(t: &Transcript) -> Vec<(Direction, u32, u32)> {
    t.records()
        .iter()
        .map(|r| (r.direction, r.package, r.msg_id))
        .collect()
}

fn client_messages(t: &Transcript) -> usize {
    t.records()
        .iter()
        .filter(|r| r.direction == Direction::ClientToServer)
        .count()
}

/// A whole session with the async client: the server sees a session that completes by the
/// rules, every command with its status and the value whole, in as many messages as the
/// blocking client sends for the same script; every exchange suspended the run once.
#[test]
fn the_async_client_runs_a_whole_session_as_the_blocking_one_does() {
    let server = server();
    let mut platform = Platform::default();
    let (outcome, done, exchanges, pending) = {
        let mut tree = handset_for(&server, &mut platform);
        run_async(&mut tree, None)
    };
    let t = server.finish();
    let outcome = outcome.unwrap_or_else(|e| panic!("{e:?}\n{}", t.render()));
    assert!(t.violations().is_empty(), "{:#?}", t.violations());
    assert_eq!(t.sessions().len(), 1);
    assert_eq!(t.sessions()[0].state, SessionState::Completed);
    assert!(t.sessions()[0].authenticated);
    let items = t.results_for("value");
    assert_eq!(items.len(), 1, "{items:#?}");
    assert_eq!(items[0].data, vec![b'v'; VALUE_LEN]);
    assert_eq!(t.status("model"), Some(200));
    assert_eq!(
        t.results_for("model")[0].data_str(),
        common::device::device_info().model
    );
    for i in 0..40 {
        assert_eq!(t.status(&format!("r{i}")), Some(200), "r{i}");
    }
    // Several messages per package: chunks, and statuses of a held server message.
    let sent = client_messages(&t);
    assert!(sent > 6, "{sent} client messages");
    assert_eq!(outcome.messages_sent as usize, sent);
    assert!(done);
    assert_eq!(platform.sessions_ended, 1);
    // Each exchange was pending once, and the run resumed it when woken.
    assert_eq!((exchanges, pending), (sent, sent));

    // The blocking client, on the same handset and script, exchanges the same messages.
    let server = self::server();
    let mut platform = Platform::default();
    let blocking = {
        let mut tree = handset_for(&server, &mut platform);
        run_with(&mut tree, &mut DefaultAnswers, Run::default())
    };
    let reference = server.finish();
    assert_eq!(blocking.unwrap(), outcome);
    assert_eq!(messages(&reference), messages(&t));
    assert_eq!(reference.commands(), t.commands());
    assert_eq!(reference.results(), t.results());
}

/// A transport that fails mid-session ends the run with `ClientError::Transport` and the
/// session abandoned: over, and the tree's handlers told, as the blocking client does.
#[test]
fn a_transport_error_ends_the_async_session_abandoned() {
    let server = server();
    let mut platform = Platform::default();
    let (outcome, done, exchanges, _) = {
        let mut tree = handset_for(&server, &mut platform);
        run_async(&mut tree, Some(3))
    };
    let t = server.finish();
    assert!(
        matches!(outcome, Err(ClientError::Transport(LinkError::Dropped))),
        "{outcome:?}"
    );
    assert_eq!(exchanges, 3);
    assert!(done, "the session is over");
    assert_eq!(platform.sessions_ended, 1, "the handlers know it");
    // The server saw the two messages that went, and a session that never ended.
    assert_eq!(client_messages(&t), 2);
    assert_eq!(t.sessions()[0].state, SessionState::Open);
}

/// A run dropped while its transport waits (a timeout around it, say) leaves the session
/// abandoned too: the run future holds the session, and gives it up over.
#[test]
fn an_async_run_dropped_midway_abandons_its_session() {
    let server = server();
    let mut platform = Platform::default();
    let (done, exchanges) = {
        let mut tree = handset_for(&server, &mut platform);
        with_session(
            &mut tree,
            &mut DefaultAnswers,
            Run::default(),
            |session, env, bufs| {
                let mut client = Client::new(Yielding::new(None), bufs);
                let mut executor = Executor::new();
                {
                    let mut run = pin!(client.run_async(session, env, |_| {}));
                    // Polled until it waits on its third exchange: two messages have gone.
                    while executor.pending < 3 {
                        assert!(executor.poll(run.as_mut()).is_pending());
                    }
                }
                (session.is_done(), client.transport_mut().exchanges)
            },
        )
        .unwrap()
    };
    let t = server.finish();
    assert_eq!(exchanges, 2);
    assert!(done, "the session is over");
    assert_eq!(platform.sessions_ended, 1, "the handlers know it");
    assert_eq!(client_messages(&t), 2);
    assert_eq!(t.sessions()[0].state, SessionState::Open);
}
