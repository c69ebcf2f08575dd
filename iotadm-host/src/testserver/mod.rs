//! A scripted OMA DM 1.2 server for tests and the demo, on `127.0.0.1` (host only, `std`).
//!
//! [`TestServer::start`] listens on a port the OS picks and answers DM messages over HTTP
//! from a background thread, the way a DM server does, following a [`Script`] of server
//! packages. It records every message both ways and what the client did with each command
//! in a [`Transcript`], and notes every protocol rule the client broke as a [`Violation`],
//! so a test can judge the client against the protocol, not only against its own output.
//! `iotadm serve` runs it from a script file, for handsets tested without Rust
//! (docs/serve.md).
//!
//! ```
//! use iotadm_host::testserver::{Account, Cmd, Script, TestServer};
//!
//! let script = Script::new().package([Cmd::get("./DevInfo/Mod").label("model")]);
//! let server = TestServer::start(std::vec![Account::new("srv1").client_basic("dev", "pw")], script)?;
//! let url = server.url("srv1"); // http://127.0.0.1:PORT/dm/srv1, the account's address
//! # let _ = url;
//! // ... run a client session against `url` ...
//! let transcript = server.transcript();
//! assert!(transcript.violations().is_empty());
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # What the server does (OMA-TS-DM_Protocol 1.2, DM_Security 1.2)
//!
//! * **HTTPS.** With [`ServerOptions::tls`] the server speaks TLS (rustls) with the
//!   certificate it is given, and [`TestServer::url`] names `https://`. A connection reaches
//!   the DM engine only once its handshake has succeeded, so a client that refuses the
//!   certificate (or that a server asking for client certificates refuses) leaves no
//!   record in the transcript.
//! * **Routing.** Each [`Account`] is served at `/dm/<server id>`; a session is identified
//!   by the account, `SessionID` and the client's `Source/LocURI`. Replies use the encoding
//!   of the request (XML or WBXML) and its `Content-Type`.
//! * **Client authentication** with the account's scheme. Basic and MD5 digest: the
//!   `SyncHdr` `Cred` is checked until it is accepted once (status 212); missing
//!   credentials get 407 and wrong ones 401, each with a `Chal` (`Type`, `Format` b64 and,
//!   for the digest, a fresh `NextNonce`), every command of that message gets the same code
//!   and none is executed (common server practice), and the client starts again with
//!   package 1. On 212 with the
//!   digest, the server also sends the `NextNonce` for the next session (replay
//!   protection; common server practice). HMAC (`syncml:auth-MAC`): every client message
//!   must carry a correct `x-syncml-hmac` (checked against the server's current nonce for
//!   the client); the `SyncHdr` status is 200 with a new `NextNonce` on every message, and
//!   every server message carries its own `x-syncml-hmac`, made with the server's
//!   credentials and the nonce the client gave it. After [`ServerOptions::max_auth_attempts`]
//!   failures the server answers without a challenge and the session ends.
//! * **Server authentication.** With a [`Account::server_scheme`] of basic or MD5, the
//!   server puts its `Cred` in its `SyncHdr` until the client answers 212. When the client
//!   challenges it (401/407 with `Chal`), it takes the new nonce (and scheme) and sends the
//!   package again. Any `NextNonce` the client gives the server is kept for the next
//!   credential or MAC.
//! * **Packages.** Each complete client package (its last message has `Final`) is answered
//!   by the statuses for its commands (Alert, Replace: 200; Generic Alert: 200) and the next
//!   scripted package, or what the hook of [`Script::on_package`] decides. A server package
//!   with no commands ends the session ([`SessionState::Completed`]). Alert 1223 from the
//!   client ends it too.
//! * **Client packages over several messages.** A client message without `Final` is
//!   answered with the `SyncHdr` status and Alert 1222 and nothing else; the statuses for
//!   its commands go with the server's next package, naming their message in `MsgRef`.
//!   Large `Results` sent in chunks (`MoreData`, `Size` on the first) are joined and the size
//!   checked.
//! * **MaxMsgSize.** The server honours the client's `MaxMsgSize` (from any `SyncHdr/Meta`)
//!   for every message: a package that does not fit goes over several messages, only the
//!   last with `Final`; each next message is sent when the client answers the previous one
//!   (with its statuses and Alert 1222). `Atomic` and `Sequence` go whole in one message.
//!   The server declares its own [`ServerOptions::max_msg_size`] and notes any client message
//!   above it.
//! * **Large objects.** An `Add`/`Replace`/`Exec` whose data cannot fit in any message goes as
//!   a large object: one chunk per message, as large as the message allows, `Size` on the
//!   first, `Meta` repeated, `MoreData` on all but the last, each chunk the last command of
//!   its message. The client must answer 213 to every chunk but the last; any other code
//!   stops the object. Objects above the client's `MaxObjSize` are not sent (a script
//!   violation) unless [`ServerOptions::respect_max_obj_size`] is off, to test the client's
//!   413.
//! * **Package 0.** [`TestServer::package0`] and [`TestServer::package0_push`] build the
//!   notification with the server's credentials and nonce; the session it starts is expected
//!   to open with Alert 1200 and the session id it named.
//! * **Checks on the client**, each noted as a [`Violation`]: VerDTD/VerProto, `MsgID`
//!   sequence, repeated `CmdID`s, a `Status` for a command never sent or naming the wrong
//!   command, two statuses for one command, a missing status (checked at the end of each
//!   client package), 213 where no chunk was pending, `Final` before the server's package
//!   ended, an answer to a non-final server message with neither Alert 1222 nor Results,
//!   Alert 1200/1201 outside package 1, Alert 1201 (or another session id) after package 0,
//!   commands only a server sends, a large object whose joined size is not its `Size`,
//!   `RespURI` not followed, messages above the server's MaxMsgSize, messages for a session
//!   that has ended, undecodable messages, failed authentication.
//!
//! Choices the protocol leaves open, taken as common servers do: CmdIDs restart at 1 in
//! every message; the server's `Source/LocURI` is the account's URL and its `LocName` the
//! server's user name (also the HMAC `username`); a retransmitted request (same body) gets
//! the same reply again; nonces come from a seeded generator so runs repeat.
//!
//! # An independent peer
//!
//! The server shares no protocol logic with the client beyond the message codec: its
//! credentials, digests, MACs and package 0 are computed from the specification's formulas
//! in `peer_auth` (never with [`iotadm::auth`]), and every client message is also read by a
//! reader of its own (XML by `roxmltree`, WBXML with its own token tables) and checked
//! against the SyncML 1.2 content models: required elements (`MsgRef`, `CmdRef`, `Cmd` of
//! a Status, ...) and their order. A Status without `MsgRef` or `CmdRef` answers nothing:
//! the server never guesses which message it meant. Every breach is a [`Violation`], and a
//! server dropped with violations it was not told to expect
//! ([`TestServer::expect_violations`]) fails the test.
//!
//! This module never touches the management tree or the session engine: it talks to them
//! only through HTTP.

mod conform;
mod engine;
mod lower;
mod peer_auth;
mod script;
mod tls;
mod transcript;

use std::boxed::Box;
use std::fmt;
use std::io;
use std::string::{String, ToString};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;
use std::vec::Vec;

pub use script::{
    commands_of, Cmd, CmdKind, Decision, ItemSpec, MetaSpec, Script, Value, XmlPiece,
};
pub use tls::TlsFront;
pub use transcript::{
    ClientCommand, ClientPackage, ClientResults, ClientStatus, Direction, Party, ReceivedItem,
    Record, SentCommand, SessionInfo, SessionState, Transcript, Violation,
};

use crate::http::TlsIdentity;
use engine::{Engine, Inbound};
use iotadm::auth::{AuthScheme, HMAC_HEADER_NAME};
use iotadm::notification::wsp::{
    AppId, MediaType, PushRepr, APP_SYNCML_DM, CT_SYNCML_NOTIFICATION,
};
use iotadm::notification::{NotificationError, UiMode};

/// A name, a secret and the current nonce for one direction of an account.
#[derive(Clone, PartialEq, Eq)]
pub struct Creds {
    /// The user name (`AAuthName`).
    pub name: String,
    /// The secret (`AAuthSecret`).
    pub secret: Vec<u8>,
    /// The nonce in force (`AAuthData`), as hashed (decoded) bytes.
    pub nonce: Vec<u8>,
}

impl fmt::Debug for Creds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Creds")
            .field("name", &self.name)
            .field("secret", &"***")
            .field("nonce", &self.nonce)
            .finish()
    }
}

impl Creds {
    /// `name` and `secret` with an empty nonce.
    pub fn new(name: &str, secret: &str) -> Self {
        Creds {
            name: name.to_string(),
            secret: secret.as_bytes().to_vec(),
            nonce: Vec::new(),
        }
    }
}

/// One DM server identity and the device account it serves: what it expects from the
/// client and how it proves itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The `ServerID`; the account is served at `/dm/<server_id>`.
    pub server_id: String,
    /// How the client must authenticate (`CLCRED` `AAuthType`).
    pub client_scheme: AuthScheme,
    /// The client's credentials as the server expects them; `nonce` is the server's current
    /// nonce for the client.
    pub client: Creds,
    /// How the server authenticates to the client in its `SyncHdr` `Cred` (`None`, basic
    /// or MD5). With an HMAC client scheme the server signs every message instead.
    pub server_scheme: AuthScheme,
    /// The server's credentials (`SRVCRED`); `nonce` is the latest the client gave it, used
    /// for its digest, its MAC and the package 0 digest.
    pub server: Creds,
}

impl Account {
    /// An account for `server_id` that asks no credentials; the server's name is the server
    /// id, with no secret.
    pub fn new(server_id: &str) -> Self {
        Account {
            server_id: server_id.to_string(),
            client_scheme: AuthScheme::None,
            client: Creds::new("", ""),
            server_scheme: AuthScheme::None,
            server: Creds::new(server_id, ""),
        }
    }

    /// The client must send basic credentials.
    pub fn client_basic(mut self, name: &str, secret: &str) -> Self {
        self.client_scheme = AuthScheme::Basic;
        self.client = Creds::new(name, secret);
        self
    }

    /// The client must send an MD5 digest; `nonce` is the server's nonce for the client.
    pub fn client_md5(mut self, name: &str, secret: &str, nonce: &[u8]) -> Self {
        self.client_scheme = AuthScheme::Md5Digest;
        self.client = Creds {
            nonce: nonce.to_vec(),
            ..Creds::new(name, secret)
        };
        self
    }

    /// Both sides authenticate every message with `x-syncml-hmac`; `nonce` is the server's
    /// nonce for the client.
    pub fn client_hmac(mut self, name: &str, secret: &str, nonce: &[u8]) -> Self {
        self.client_scheme = AuthScheme::Hmac;
        self.client = Creds {
            nonce: nonce.to_vec(),
            ..Creds::new(name, secret)
        };
        self
    }

    /// The server's own credentials; `nonce` is the nonce the client gave the server.
    /// `scheme` says how it sends them in `Cred` (`None` to send none; irrelevant with HMAC).
    pub fn server_cred(
        mut self,
        scheme: AuthScheme,
        name: &str,
        secret: &str,
        nonce: &[u8],
    ) -> Self {
        self.server_scheme = scheme;
        self.server = Creds {
            nonce: nonce.to_vec(),
            ..Creds::new(name, secret)
        };
        self
    }
}

/// Settings of a [`TestServer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerOptions {
    /// The `MaxMsgSize` the server declares and checks client messages against.
    pub max_msg_size: Option<usize>,
    /// The `MaxObjSize` the server declares.
    pub max_obj_size: Option<usize>,
    /// Failed authentications allowed per session before the server gives up.
    pub max_auth_attempts: u32,
    /// Refuse to send an object larger than the client's `MaxObjSize` (on: what a server
    /// must do; off: to see the client answer 413).
    pub respect_max_obj_size: bool,
    /// Send a `RespURI` (a per-session path) and expect the client to post there.
    pub resp_uri: bool,
    /// Seed of the nonce generator.
    pub seed: u64,
    /// Serve HTTPS with this identity instead of HTTP; `None` serves plain HTTP.
    pub tls: Option<ServerTls>,
}

/// The test server's side of TLS: what it shows clients and what it asks of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerTls {
    /// The server's certificate chain and private key.
    pub identity: TlsIdentity,
    /// When set, every client must show a certificate issued by one of these CAs (a PEM
    /// document of `CERTIFICATE` blocks), as a server using mutual TLS asks; a client
    /// without one is refused in the handshake.
    pub client_roots_pem: Option<Vec<u8>>,
}

impl ServerTls {
    /// Serves with `identity` and asks clients for no certificate.
    pub fn new(identity: TlsIdentity) -> Self {
        ServerTls {
            identity,
            client_roots_pem: None,
        }
    }
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            max_msg_size: Some(64 * 1024),
            max_obj_size: None,
            max_auth_attempts: 3,
            respect_max_obj_size: true,
            resp_uri: false,
            seed: 0x1077_AD00,
            tls: None,
        }
    }
}

/// What can go wrong with the test server.
#[derive(Debug)]
#[non_exhaustive]
pub enum TestServerError {
    /// No account has this server id.
    UnknownAccount(String),
    /// The notification could not be built.
    Notification(NotificationError),
}

impl fmt::Display for TestServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TestServerError::UnknownAccount(id) => write!(f, "no account for server id {id:?}"),
            TestServerError::Notification(e) => write!(f, "cannot build package 0: {e}"),
        }
    }
}

impl std::error::Error for TestServerError {}

/// `127.0.0.1`, on a port the OS picks: where tests listen.
const LOOPBACK: std::net::SocketAddr = std::net::SocketAddr::V4(std::net::SocketAddrV4::new(
    std::net::Ipv4Addr::LOCALHOST,
    0,
));

/// The running server: a background thread answering on `127.0.0.1`. Dropping it stops
/// the thread.
pub struct TestServer {
    addr: std::net::SocketAddr,
    /// `http://ADDR` or, with TLS, `https://ADDR`.
    base: String,
    tls: Option<tls::TlsFront>,
    engine: Arc<Mutex<Engine>>,
    http: Arc<tiny_http::Server>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    panic: Arc<Mutex<Option<Box<dyn std::any::Any + Send>>>>,
    watchers: Watchers,
    /// The test provokes violations on purpose and judges them itself.
    violations_expected: AtomicBool,
}

impl fmt::Debug for TestServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Those told after every answered message (see [`TestServer::watch`]).
type Watchers = Arc<Mutex<Vec<Sender<()>>>>;

/// Largest request body read.
const MAX_REQUEST: u64 = 16 << 20;

impl TestServer {
    /// Starts a server with default options.
    pub fn start(accounts: Vec<Account>, script: Script) -> io::Result<TestServer> {
        TestServer::start_with(accounts, script, ServerOptions::default())
    }

    /// Starts a server on `127.0.0.1`, on a port the OS picks.
    pub fn start_with(
        accounts: Vec<Account>,
        script: Script,
        options: ServerOptions,
    ) -> io::Result<TestServer> {
        TestServer::start_on(LOOPBACK, accounts, script, options)
    }

    /// Starts a server listening on `listen` (port 0: one the OS picks; see
    /// [`TestServer::addr`]). Tests keep to `127.0.0.1`; `iotadm serve` lets a handset on
    /// a bench network reach it. With TLS, `listen` is the TLS listener's, and the HTTP
    /// listener behind it stays on the loopback address.
    pub fn start_on(
        listen: std::net::SocketAddr,
        accounts: Vec<Account>,
        script: Script,
        options: ServerOptions,
    ) -> io::Result<TestServer> {
        let http_listen = if options.tls.is_some() {
            LOOPBACK
        } else {
            listen
        };
        let http = tiny_http::Server::http(http_listen).map_err(io::Error::other)?;
        let http_addr = http
            .server_addr()
            .to_ip()
            .ok_or_else(|| io::Error::other("not an IP listener"))?;
        // With TLS, clients reach the HTTP listener only through the TLS one.
        let tls = options
            .tls
            .as_ref()
            .map(|settings| tls::TlsFront::start(settings, listen, http_addr))
            .transpose()?;
        let (scheme, addr) = match &tls {
            Some(front) => ("https", front.addr()),
            None => ("http", http_addr),
        };
        let base = std::format!("{scheme}://{addr}");
        let engine = Arc::new(Mutex::new(Engine::new(
            base.clone(),
            accounts,
            options,
            script,
        )));
        let http = Arc::new(http);
        let stop = Arc::new(AtomicBool::new(false));
        let panic = Arc::new(Mutex::new(None));
        let watchers = Watchers::default();
        let thread = {
            let (engine, http, stop, panic, watchers) = (
                engine.clone(),
                http.clone(),
                stop.clone(),
                panic.clone(),
                watchers.clone(),
            );
            std::thread::Builder::new()
                .name("iotadm-testserver".to_string())
                .spawn(move || serve(&http, &engine, &stop, &panic, &watchers))?
        };
        Ok(TestServer {
            addr,
            base,
            tls,
            engine,
            http,
            stop,
            thread: Some(thread),
            panic,
            watchers,
            violations_expected: AtomicBool::new(false),
        })
    }

    /// Sends `()` on `tx` after every message the server has answered (the transcript
    /// holds it by then), so a program can wait for a session to end without polling.
    /// A sender whose receiver is gone is dropped.
    pub fn watch(&self, tx: Sender<()>) {
        lock(&self.watchers).push(tx);
    }

    /// The address the server listens on (with TLS, the TLS listener's).
    pub fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    /// Where the server listens, as a URL: `http://ADDR` or, with TLS, `https://ADDR`.
    pub fn base_url(&self) -> String {
        self.base.clone()
    }

    /// The URL of the account `server_id` (its DMAcc `Addr`): `https://` when the server
    /// serves TLS.
    pub fn url(&self, server_id: &str) -> String {
        std::format!("{}{}", self.base, Engine::path_of(server_id))
    }

    /// A copy of the transcript so far. The server answers each message only after
    /// recording it, so after a client's exchange returns, its effects are here.
    pub fn transcript(&self) -> Transcript {
        lock(&self.engine).transcript.clone()
    }

    /// Runs `f` on the transcript without copying it.
    pub fn with_transcript<R>(&self, f: impl FnOnce(&Transcript) -> R) -> R {
        f(&lock(&self.engine).transcript)
    }

    /// The account as it stands now (nonces change as sessions run).
    pub fn account(&self, server_id: &str) -> Option<Account> {
        lock(&self.engine)
            .accounts
            .iter()
            .find(|a| a.server_id == server_id)
            .cloned()
    }

    /// Replaces an account's settings (say, to change a nonce between sessions).
    pub fn set_account(&self, account: Account) {
        let mut engine = lock(&self.engine);
        match engine
            .accounts
            .iter_mut()
            .find(|a| a.server_id == account.server_id)
        {
            Some(slot) => *slot = account,
            None => engine.accounts.push(account),
        }
    }

    /// Package 0 for `server_id`: the digest made with the server's credentials and nonce,
    /// the UI mode, the server as initiator, and `session_id`. The session it starts is
    /// expected to open with Alert 1200 and that session id.
    pub fn package0(
        &self,
        server_id: &str,
        ui_mode: UiMode,
        session_id: u16,
    ) -> Result<Vec<u8>, TestServerError> {
        let mut engine = lock(&self.engine);
        let index = engine
            .accounts
            .iter()
            .position(|a| a.server_id == server_id)
            .ok_or_else(|| TestServerError::UnknownAccount(server_id.to_string()))?;
        let account = engine.accounts.get(index).cloned();
        let Some(account) = account else {
            return Err(TestServerError::UnknownAccount(server_id.to_string()));
        };
        let ui = match ui_mode {
            UiMode::NotSpecified => 0,
            UiMode::Background => 1,
            UiMode::Informative => 2,
            UiMode::UserInteraction => 3,
        };
        let s = &account.server;
        let out = peer_auth::package0(&account.server_id, &s.secret, &s.nonce, ui, session_id);
        engine.expect_trigger(index, session_id);
        Ok(out)
    }

    /// [`TestServer::package0`] wrapped in a connectionless WAP Push PDU (content type
    /// `0x44`, `X-Wap-Application-Id` `0x07`), as it travels in an SMS.
    pub fn package0_push(
        &self,
        server_id: &str,
        ui_mode: UiMode,
        session_id: u16,
    ) -> Result<Vec<u8>, TestServerError> {
        let body = self.package0(server_id, ui_mode, session_id)?;
        let push = PushRepr {
            transaction_id: 0x01,
            media: MediaType::WellKnown(CT_SYNCML_NOTIFICATION),
            params: &[],
            application_id: Some(AppId::Code(APP_SYNCML_DM)),
            body: &body,
        };
        let mut out = std::vec![0u8; body.len() + 64];
        let n = push
            .emit(&mut out)
            .map_err(|e| TestServerError::Notification(NotificationError::Wsp(e)))?;
        out.truncate(n);
        Ok(out)
    }

    /// Stops the server and returns the transcript. If a hook of the script panicked (a
    /// failed assertion in it, say), the panic goes on from here.
    pub fn finish(mut self) -> Transcript {
        self.shutdown();
        if let Some(payload) = lock(&self.panic).take() {
            std::panic::resume_unwind(payload);
        }
        self.transcript()
    }

    /// Says the test provokes violations on purpose (a client that breaks a rule, a script
    /// the server cannot send) and checks them itself. Otherwise a server that saw any
    /// violation fails the test when it is dropped: a rule the client breaks fails every
    /// test whose session breaks it, not only the tests that look.
    pub fn expect_violations(&self) {
        self.violations_expected.store(true, Ordering::SeqCst);
    }

    /// Panics when violations were seen and not expected: this is how a test fails.
    #[allow(clippy::panic)]
    fn check_violations(&self) {
        if std::thread::panicking() || self.violations_expected.load(Ordering::SeqCst) {
            return;
        }
        let seen = lock(&self.engine).transcript.violations.clone();
        if !seen.is_empty() {
            panic!("the test server saw protocol violations: {seen:#?}");
        }
    }

    fn shutdown(&mut self) {
        // The TLS connections first: each ends its HTTP connection, which the HTTP side
        // still serves until it is stopped.
        if let Some(front) = &mut self.tls {
            front.stop();
        }
        self.stop.store(true, Ordering::SeqCst);
        self.http.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown();
        self.check_violations();
    }
}

fn serve(
    http: &tiny_http::Server,
    engine: &Mutex<Engine>,
    stop: &AtomicBool,
    panic: &Mutex<Option<Box<dyn std::any::Any + Send>>>,
    watchers: &Mutex<Vec<Sender<()>>>,
) {
    while !stop.load(Ordering::SeqCst) {
        let mut request = match http.recv_timeout(Duration::from_millis(200)) {
            Ok(Some(r)) => r,
            Ok(None) => continue,
            Err(_) => break,
        };
        if *request.method() != tiny_http::Method::Post {
            let _ = request.respond(tiny_http::Response::empty(405));
            continue;
        }
        let header = |name: &str| {
            request
                .headers()
                .iter()
                .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
                .map(|h| h.value.as_str().to_string())
        };
        let content_type = header("Content-Type");
        let hmac = header(HMAC_HEADER_NAME);
        let path = request.url().to_string();
        let mut body = Vec::new();
        if io::Read::read_to_end(
            &mut io::Read::take(request.as_reader(), MAX_REQUEST),
            &mut body,
        )
        .is_err()
        {
            let _ = request.respond(tiny_http::Response::empty(400));
            continue;
        }
        let inbound = Inbound {
            path: &path,
            content_type: content_type.as_deref(),
            hmac: hmac.as_deref(),
            body: &body,
        };
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            lock(engine).handle(&inbound)
        }));
        let reply = match outcome {
            Ok(reply) => reply,
            Err(payload) => {
                lock(panic).get_or_insert(payload);
                let _ = request.respond(tiny_http::Response::empty(500));
                continue;
            }
        };
        let mut response =
            tiny_http::Response::from_data(reply.body).with_status_code(reply.status);
        if let Some(ct) = reply.content_type {
            if let Ok(h) = tiny_http::Header::from_bytes("Content-Type", ct) {
                response.add_header(h);
            }
        }
        if let Some(mac) = reply.hmac {
            if let Ok(h) = tiny_http::Header::from_bytes(HMAC_HEADER_NAME, mac.as_bytes()) {
                response.add_header(h);
            }
        }
        let _ = request.respond(response);
        lock(watchers).retain(|tx| tx.send(()).is_ok());
    }
}
