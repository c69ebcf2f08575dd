//! The DM session engine (OMA-TS-DM_Protocol 1.2): packages 1 to 4 of a management
//! session, sans-IO.
//!
//! A [`Session`] takes each message the server sends and writes the next client message
//! into a buffer the caller owns; it never blocks, allocates or touches a socket. The
//! [`Client`] drives one over a [`Transport`](crate::transport::Transport)
//! ([`Client::run`]) or, in async firmware, an
//! [`AsyncTransport`](crate::transport::AsyncTransport) ([`Client::run_async`]); a firmware
//! with its own event loop calls [`Session::start`] and [`Session::handle`] itself.
//!
//! Commands run in the order they arrive, straight against the [`Tree`]. Their Status and
//! Results wait in a small queue until written into the next message; when a message is
//! full the session stops executing, sends what it has without `Final`, and continues with
//! the same server message (which the caller keeps in its receive buffer) when the server
//! asks for the next message (Alert 1222). So a package of any size is answered within
//! any MaxMsgSize with RAM for one message each way, whatever the server sends.

use crate::limits::{ALERTS, REF_LEN, SERVER_ADDR_LEN, SERVER_ID_LEN};

mod account;
mod client;
mod device_info;
mod emit;
mod engine;
mod lo;
mod notify;
mod queue;
mod runner;
#[cfg(test)]
mod test_support;

use core::mem::MaybeUninit;

use heapless::String;

pub use crate::alert::GenericAlert;
pub use crate::ui::{
    Choices, DefaultAnswers, NoUi, UiAnswer, UiKind, UiOptions, UiRequest, UserInteraction,
};
pub use account::{Account, AuthEntry};
pub use client::{Buffers, Client, ClientError, Event};
pub use device_info::{DeviceInfo, DeviceInfoError};
pub use notify::{accept_notification, Trigger};
#[cfg(feature = "bootstrap")]
pub use notify::{apply_bootstrap, BootstrapSource};

use crate::auth::{AuthError, AuthScheme};
#[cfg(feature = "bootstrap")]
use crate::bootstrap::BootstrapError;
use crate::codec::{DecodeError, EncodeError, Encoding, Limits};
use crate::codes::StatusCode;
use crate::notification::NotificationError;
use crate::platform::{Clock, Rng};
use crate::tree::Tree;
use queue::Queue;

/// What a session needs besides its own state: the tree, the user, the platform and the
/// reports it carries. Passed to every call, so a session holds no borrow between
/// messages.
pub struct Env<'e, 't, F, H> {
    /// The management tree the server manages.
    pub tree: &'e mut Tree<'t, F, H>,
    /// The handset's UI, for alerts 1100-1104.
    pub ui: &'e mut dyn UserInteraction,
    /// Randomness for nonces and session ids.
    pub rng: &'e mut dyn Rng,
    /// Time, for node timestamps.
    pub clock: &'e dyn Clock,
    /// Generic Alerts (1226) for package 1, e.g. a FUMO result report: the same ones at
    /// every call of one session (they are resent with package 1 when the server
    /// challenges, and the server's statuses are matched to them). At most
    /// [`ALERTS`] are sent.
    pub alerts: &'e [GenericAlert<'e>],
}

/// Settings of a session.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// The encoding of package 1; later messages answer in the server's encoding. A build
    /// without the `xml` feature writes WBXML only, and a session set up for XML is
    /// refused with [`EncodeError::EncodingLeftOut`].
    pub encoding: Encoding,
    /// The largest message this client accepts (its `MaxMsgSize`): at most the receive
    /// buffer.
    pub max_msg_size: u32,
    /// The largest object this client accepts (its `MaxObjSize`).
    pub max_obj_size: u32,
    /// The server's MaxMsgSize until it declares one.
    pub server_max_msg_size: u32,
    /// Times package 1 is resent after the server refuses the client's credentials.
    pub auth_retries: u8,
    /// Times a server may fail to authenticate before the session ends.
    pub server_auth_failures: u8,
    /// Most messages the client sends in one session: a server that never ends its
    /// package (never sends `Final`, or only ever asks for the next message) cannot keep
    /// the handset in one session for ever. The default, 1,000, carries an 8 MB large
    /// object in 8 KiB messages.
    pub max_messages: u32,
    /// Longest a session may last, in seconds, measured with the environment's clock
    /// (a device without one relies on `max_messages` and its transport's timeouts). The
    /// default is 30 minutes.
    pub max_session_secs: u32,
    /// Limits for decoding server messages.
    pub limits: Limits,
}

impl Config {
    /// The defaults: WBXML, 8 KiB messages both ways, 64 KiB objects, three tries at
    /// authentication each way, at most 1,000 messages and 30 minutes a session.
    pub const DEFAULT: Config = Config {
        encoding: Encoding::Wbxml,
        max_msg_size: 8192,
        max_obj_size: 65_536,
        server_max_msg_size: 8192,
        auth_retries: 3,
        server_auth_failures: 3,
        max_messages: 1000,
        max_session_secs: 30 * 60,
        limits: Limits::DEFAULT,
    };
}

impl Default for Config {
    fn default() -> Self {
        Config::DEFAULT
    }
}

/// How a session started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Initiation {
    /// The server asked for it with a package 0: Alert 1200, with the session id the
    /// notification gave.
    Server {
        /// The notification's session id.
        session_id: u16,
    },
    /// The client started it (the user, a timer or a device event): Alert 1201.
    Client,
}

/// How a session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The server ended the session with Alert 1223.
    pub aborted_by_server: bool,
    /// Messages sent.
    pub messages_sent: u32,
    /// The server's Status for each Generic Alert, in the order given (`None`: no Status
    /// came, e.g. the server asked for no response).
    pub alert_status: heapless::Vec<Option<StatusCode>, ALERTS>,
}

/// What to do after [`Session::handle`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "send the message, or stop: the session is over"]
pub enum Step {
    /// Send the message written into the transmit buffer.
    Send(Transmit),
    /// The session is over.
    Done(Outcome),
}

/// A message ready to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "the message waits in the transmit buffer to be sent"]
pub struct Transmit {
    /// Its length in the transmit buffer.
    pub len: usize,
    /// The server message being answered still has commands to run: keep it where it is
    /// and receive the reply elsewhere, then pass both to [`Session::handle`].
    pub hold: bool,
}

/// Why a session stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Error {
    /// A server message does not decode.
    Decode(DecodeError),
    /// A client message could not be written.
    Encode(EncodeError),
    /// Not even one command fits the transmit buffer (or the receive buffer is smaller
    /// than the client's MaxMsgSize): the caller's buffers are too small.
    MessageTooSmall,
    /// The server's MaxMsgSize cannot hold the message header and the next command; how
    /// small a MaxMsgSize a session works with is in `docs/porting.md`.
    ServerMaxMsgSize {
        /// The server's MaxMsgSize.
        limit: u32,
        /// What the message header and the status of the server's header take.
        header: u32,
    },
    /// The server sent a message of another session, protocol or version.
    WrongSession,
    /// The server refused the client's credentials after every retry; holds its last
    /// status.
    Rejected(StatusCode),
    /// The server failed to authenticate too often.
    ServerNotAuthenticated,
    /// The server challenged for a weaker scheme than the account names (the scheme it
    /// asked for). DM Security 1.2 §5.1.4.1: a challenge not answered in its scheme ends
    /// the session; the client does not send weaker credentials, such as a password in
    /// clear where the account says digest.
    AuthDowngrade(AuthScheme),
    /// The account cannot be used: missing, or a field too long.
    Account(StatusCode),
    /// The device's own information (`./DevInfo`, `./DevDetail`) is incomplete: it is set
    /// up with a [`DeviceInfo`] before any session.
    DeviceInfo(DeviceInfoError),
    /// Credentials could not be computed or checked; also an account, or a server's
    /// challenge, naming a scheme this build leaves out ([`AuthError::SchemeLeftOut`]).
    Auth(AuthError),
    /// A package 0 is forged, truncated or not for this device.
    Notification(NotificationError),
    /// The user declined the session a notification asked for.
    Declined,
    /// A bootstrap could not be applied; nothing of it was stored.
    #[cfg(feature = "bootstrap")]
    Bootstrap(StatusCode),
    /// A bootstrap is not authentic (or not authenticated); nothing of it was stored.
    #[cfg(feature = "bootstrap")]
    BootstrapAuth(BootstrapError),
    /// The session reached a bound of [`Config`] (`max_messages` or `max_session_secs`)
    /// before the server ended it.
    Limit(SessionLimit),
    /// The server sent a new package of commands while the client's was unfinished (it
    /// should have asked for the next message with Alert 1222), more than one message can
    /// answer: each command gets a Status, 400, and the ones that did not fit end the
    /// session.
    PackageInterrupted,
    /// The session is over; nothing more to handle.
    Finished,
}

/// Which bound of a session was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SessionLimit {
    /// This many messages were sent.
    Messages(u32),
    /// This many seconds went by.
    Seconds(u32),
}

impl From<DecodeError> for Error {
    fn from(e: DecodeError) -> Self {
        Error::Decode(e)
    }
}

impl From<EncodeError> for Error {
    // Out of line: every `?` on the writer would otherwise carry its own copy.
    #[inline(never)]
    fn from(e: EncodeError) -> Self {
        match e {
            EncodeError::BufferTooSmall { .. } => Error::MessageTooSmall,
            e => Error::Encode(e),
        }
    }
}

impl From<AuthError> for Error {
    fn from(e: AuthError) -> Self {
        Error::Auth(e)
    }
}

#[cfg(feature = "bootstrap")]
impl From<BootstrapError> for Error {
    fn from(e: BootstrapError) -> Self {
        Error::BootstrapAuth(e)
    }
}

impl From<NotificationError> for Error {
    fn from(e: NotificationError) -> Self {
        Error::Notification(e)
    }
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Error::Decode(e) => write!(f, "server message: {e}"),
            Error::Encode(e) => write!(f, "client message: {e}"),
            Error::MessageTooSmall => f.write_str("a command does not fit the message buffer"),
            Error::ServerMaxMsgSize { limit, header } => write!(
                f,
                "the server's MaxMsgSize of {limit} bytes leaves no room for a command after \
                 {header} bytes of header"
            ),
            Error::WrongSession => f.write_str("message of another session or protocol"),
            Error::Rejected(s) => write!(f, "server refused the credentials ({})", u16::from(*s)),
            Error::ServerNotAuthenticated => f.write_str("server failed to authenticate"),
            Error::AuthDowngrade(s) => write!(
                f,
                "server asked for weaker credentials ({}) than the account's; not sent",
                s.meta_type().unwrap_or("none")
            ),
            Error::Account(s) => write!(f, "account unusable ({})", u16::from(*s)),
            Error::DeviceInfo(e) => write!(f, "device information: {e}"),
            Error::Auth(e) => write!(f, "authentication: {e}"),
            Error::Notification(e) => write!(f, "notification: {e}"),
            Error::Declined => f.write_str("the user declined the session"),
            #[cfg(feature = "bootstrap")]
            Error::Bootstrap(s) => write!(f, "bootstrap refused ({})", u16::from(*s)),
            #[cfg(feature = "bootstrap")]
            Error::BootstrapAuth(e) => write!(f, "bootstrap not authentic: {e}"),
            Error::Limit(SessionLimit::Messages(n)) => {
                write!(f, "the server kept the session going past {n} messages")
            }
            Error::Limit(SessionLimit::Seconds(n)) => {
                write!(f, "the server kept the session going past {n} seconds")
            }
            Error::PackageInterrupted => f.write_str(
                "the server sent more commands during the client's package than one message \
                 can answer",
            ),
            Error::Finished => f.write_str("the session is over"),
        }
    }
}

impl core::error::Error for Error {}

/// The client's side of authentication: the credentials it sends.
#[derive(Debug, Clone, Copy)]
struct ClientAuth {
    /// The scheme in use; a challenge may change it before the server accepts.
    scheme: AuthScheme,
    /// The account's scheme: no challenge moves the client below it.
    floor: AuthScheme,
    /// A challenge's nonce is in use but not stored: it came from a server not (yet)
    /// authenticated, and is stored only once the server is.
    nonce_pending: bool,
    /// Status 212: no more credentials this session.
    accepted: bool,
    /// Package 1 resent after 401/407.
    retries: u8,
}

/// The server's side: whether it proved itself.
#[derive(Debug, Clone, Copy, Default)]
struct ServerAuth {
    /// Authenticated for the rest of the session (basic or digest).
    authenticated: bool,
    /// Failures so far.
    failures: u8,
}

/// Where the session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Package 1 not sent yet.
    Start,
    /// Package 1 sent; the server has not accepted the credentials yet.
    Setup,
    /// Management.
    Running,
    /// Over.
    Done,
}

/// The Status the next message carries for the latest server header.
#[derive(Debug, Clone)]
struct HeaderStatus {
    /// The server's `MsgID`.
    msg_id: String<REF_LEN>,
    /// 200, 212, 401 or 407.
    code: StatusCode,
    /// Send a challenge with it (the scheme the account requires, a fresh nonce).
    chal: bool,
    /// The server asked for no Status on its header.
    no_resp: bool,
}

/// The server message whose commands are being run.
#[derive(Debug, Clone, Default)]
struct Held {
    /// Its `MsgID`, the `MsgRef` of every Status for it.
    msg_id: String<REF_LEN>,
    /// Commands still to run: the position to resume at.
    cursor: Option<runner::Cursor>,
    /// Its `Final`.
    is_final: bool,
}

/// An OMA DM client session with one server account.
pub struct Session {
    cfg: Config,
    /// The account; its `addr` is where messages go, replaced by the server's `RespURI`
    /// when it gives one.
    account: Account,
    initiation: Initiation,
    /// How many of the environment's alerts the session carries (fixed when it is set
    /// up).
    alert_count: u8,
    /// (our MsgID, our CmdID) of each Generic Alert sent, to match the server's Status.
    alert_refs: heapless::Vec<(u32, u32), ALERTS>,
    alert_status: heapless::Vec<Option<StatusCode>, ALERTS>,
    session_id: String<8>,
    device_id: String<SERVER_ID_LEN>,
    /// The server's `Source/LocURI`, the `SourceRef` of header statuses.
    server_uri: String<SERVER_ADDR_LEN>,
    phase: Phase,
    encoding: Encoding,
    /// Our last `MsgID`.
    msg_id: u32,
    server_max_msg: u32,
    server_max_obj: Option<u32>,
    client: ClientAuth,
    server: ServerAuth,
    header: Option<HeaderStatus>,
    held: Held,
    queue: Queue,
    #[cfg(feature = "large-objects")]
    lo: Option<lo::Incoming>,
    /// The server ended the session.
    aborted: bool,
    /// The user cancelled an alert: the rest of the package is not executed.
    cancelled: bool,
    /// The `x-syncml-hmac` value of the last message, when the client uses HMAC.
    hmac: String<128>,
    messages_sent: u32,
    /// When package 1 was written, by the environment's clock.
    started: Option<u64>,
}

impl Session {
    /// A session with the account at `./DMAcc/<account>`, ready for
    /// [`start`](Self::start). The environment's `alerts` go in package 1. An account
    /// whose client or server credentials use a scheme this build leaves out is refused
    /// with [`Error::Auth`] ([`AuthError::SchemeLeftOut`]).
    ///
    /// The session (several kilobytes) is returned by value; a device short of stack sets
    /// it up where it is kept with [`Session::new_in`].
    pub fn new<F, H>(
        env: &mut Env<'_, '_, F, H>,
        cfg: Config,
        account: &str,
        initiation: Initiation,
    ) -> Result<Self, Error>
    where
        F: embedded_storage::nor_flash::NorFlash,
        H: crate::tree::Handlers,
    {
        let mut session = Self::blank(cfg, initiation);
        session.load(env, account)?;
        Ok(session)
    }

    /// [`Session::new`] into `slot` (typically part of a `static`, taken once through a
    /// cell): the session is set up where it stays instead of being returned by value and
    /// moved, so that it needs no room on the stack. Whatever `slot` held before is
    /// overwritten (a session needs no drop). On error `slot` holds a session with nothing
    /// to do.
    pub fn new_in<'s, F, H>(
        slot: &'s mut MaybeUninit<Self>,
        env: &mut Env<'_, '_, F, H>,
        cfg: Config,
        account: &str,
        initiation: Initiation,
    ) -> Result<&'s mut Self, Error>
    where
        F: embedded_storage::nor_flash::NorFlash,
        H: crate::tree::Handlers,
    {
        let session = slot.write(Self::blank(cfg, initiation));
        if let Err(e) = session.load(env, account) {
            session.phase = Phase::Done;
            return Err(e);
        }
        Ok(session)
    }

    /// A session with no account yet: everything empty, nothing read from the tree.
    /// Always inlined, so that [`Session::new_in`] writes it straight into its slot.
    #[inline(always)]
    fn blank(cfg: Config, initiation: Initiation) -> Self {
        Session {
            cfg,
            initiation,
            alert_count: 0,
            alert_refs: heapless::Vec::new(),
            alert_status: heapless::Vec::new(),
            session_id: String::new(),
            device_id: String::new(),
            server_uri: String::new(),
            account: Account {
                node: String::new(),
                server_id: String::new(),
                addr: String::new(),
                client: None,
                server: None,
            },
            phase: Phase::Start,
            encoding: cfg.encoding,
            msg_id: 0,
            server_max_msg: cfg.server_max_msg_size,
            server_max_obj: None,
            client: ClientAuth {
                scheme: AuthScheme::None,
                floor: AuthScheme::None,
                nonce_pending: false,
                accepted: false,
                retries: 0,
            },
            server: ServerAuth::default(),
            header: None,
            held: Held::default(),
            queue: Queue::new(),
            #[cfg(feature = "large-objects")]
            lo: None,
            aborted: false,
            cancelled: false,
            hmac: String::new(),
            messages_sent: 0,
            started: None,
        }
    }

    /// Checks the configuration, loads the account and the device's identity, and picks
    /// the session id.
    // Out of line, as the steps of `handle` are: its account and buffers are off the
    // stack before the session runs.
    #[inline(never)]
    fn load<F, H>(&mut self, env: &mut Env<'_, '_, F, H>, account: &str) -> Result<(), Error>
    where
        F: embedded_storage::nor_flash::NorFlash,
        H: crate::tree::Handlers,
    {
        // Package 1 could not be written: refused before anything is read.
        #[cfg(not(feature = "xml"))]
        if self.cfg.encoding == Encoding::Xml {
            return Err(Error::Encode(EncodeError::EncodingLeftOut(Encoding::Xml)));
        }
        self.account
            .load_in(env.tree, account)
            .map_err(Error::Account)?;
        // An account whose credentials this build cannot compute or check is refused here,
        // before anything is sent: not sending credentials, or trusting a server unchecked,
        // would be a session with less security than the account asks for.
        for entry in [self.account.client.as_ref(), self.account.server.as_ref()]
            .into_iter()
            .flatten()
        {
            entry.scheme.check_built()?;
        }
        device_info::check_tree(env.tree).map_err(Error::DeviceInfo)?;
        let mut buf = [0u8; SERVER_ID_LEN];
        let id = account::value(env.tree, "./DevInfo/DevId", &mut buf).map_err(Error::Account)?;
        let id = core::str::from_utf8(id).map_err(|_| Error::Account(StatusCode::BadRequest))?;
        self.device_id
            .push_str(id)
            .map_err(|_| Error::Account(StatusCode::UriTooLong))?;
        let id = match self.initiation {
            Initiation::Server { session_id } => session_id,
            Initiation::Client => {
                let mut b = [0u8; 2];
                env.rng.fill_bytes(&mut b);
                u16::from_be_bytes(b).max(1)
            }
        };
        // As package 0 carries it: upper-case hex without leading zeros (four digits at
        // most, which the id's string holds).
        let _ = self
            .session_id
            .push_str(crate::notification::SessionIdHex::new(id).as_str());
        self.client.scheme = self
            .account
            .client
            .as_ref()
            .map_or(AuthScheme::None, |c| c.scheme);
        self.client.floor = self.client.scheme;
        let _ = self.server_uri.push_str(&self.account.addr);
        self.alert_count = u8::try_from(env.alerts.len().min(ALERTS)).unwrap_or(0);
        for _ in 0..self.alert_count {
            let _ = self.alert_status.push(None);
        }
        Ok(())
    }

    /// Where to send the next message.
    pub fn url(&self) -> &str {
        &self.account.addr
    }

    /// The encoding of the next message.
    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// The `x-syncml-hmac` header value for the message just written, when the client
    /// authenticates with HMAC.
    pub fn hmac_header(&self) -> Option<&str> {
        (!self.hmac.is_empty()).then_some(self.hmac.as_str())
    }

    /// The session id, as it appears in `SessionID`.
    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    /// The account's `ServerID`.
    pub fn server_id(&self) -> &str {
        &self.account.server_id
    }

    /// Whether the session is over.
    pub fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_the_documented_ones() {
        let c = Config::DEFAULT;
        assert_eq!(c.encoding, Encoding::Wbxml);
        assert_eq!(
            (c.max_msg_size, c.max_obj_size, c.server_max_msg_size),
            (8192, 65_536, 8192)
        );
        assert_eq!((c.auth_retries, c.server_auth_failures), (3, 3));
        // 1,000 messages and 30 minutes.
        assert_eq!((c.max_messages, c.max_session_secs), (1000, 1800));
    }

    /// A handset without XML: its DevInfo, and the account `srv` at `http://srv/dm`
    /// without credentials.
    #[cfg(not(feature = "xml"))]
    mod without_xml {
        use super::super::test_support::{self, with_env, TestTree};
        use super::*;
        use crate::codec::DecodeErrorKind;
        use crate::schema::Format;
        use crate::tree::Principal;

        fn handset() -> TestTree {
            let mut tree = test_support::handset();
            for (uri, value) in [
                ("./DMAcc/srv", None),
                ("./DMAcc/srv/ServerID", Some("srv")),
                ("./DMAcc/srv/AppAddr", None),
                ("./DMAcc/srv/AppAddr/1", None),
                ("./DMAcc/srv/AppAddr/1/Addr", Some("http://srv/dm")),
            ] {
                let format = value.map_or(Format::Node, |_| Format::Chr);
                tree.add(
                    Principal::Device,
                    uri,
                    value.map(str::as_bytes),
                    Some(format),
                    None,
                )
                .unwrap();
            }
            tree
        }

        /// A session set up for XML is refused before anything is read: package 1 could
        /// not be written.
        #[test]
        fn a_session_set_up_for_xml_is_refused() {
            let mut tree = handset();
            let xml = Config {
                encoding: Encoding::Xml,
                ..Config::DEFAULT
            };
            let refused = Error::Encode(EncodeError::EncodingLeftOut(Encoding::Xml));
            with_env(&mut tree, |env| {
                let new = Session::new(env, xml, "srv", Initiation::Client);
                assert_eq!(new.err(), Some(refused));
                let mut slot = MaybeUninit::uninit();
                let new_in = Session::new_in(&mut slot, env, xml, "srv", Initiation::Client);
                assert_eq!(new_in.err(), Some(refused));
                // The same account in WBXML starts.
                let mut session =
                    Session::new(env, Config::DEFAULT, "srv", Initiation::Client).unwrap();
                let (mut tx, mut scratch) = ([0u8; 8192], [0u8; 1024]);
                let sent = session.start(env, &mut tx, &mut scratch).unwrap();
                assert_eq!(crate::codec::detect(&tx[..sent.len]), Some(Encoding::Wbxml));
            });
        }

        /// A server that answers in XML ends the session with the decode error that names
        /// the encoding; the client never switches to XML.
        #[test]
        fn a_server_message_in_xml_ends_the_session() {
            let mut tree = handset();
            with_env(&mut tree, |env| {
                let mut session =
                    Session::new(env, Config::DEFAULT, "srv", Initiation::Client).unwrap();
                let (mut tx, mut scratch) = ([0u8; 8192], [0u8; 1024]);
                let _ = session.start(env, &mut tx, &mut scratch).unwrap();
                let reply = b"<SyncML xmlns='SYNCML:SYNCML1.2'><SyncHdr><VerDTD>1.2</VerDTD>\
                    <VerProto>DM/1.2</VerProto><SessionID>1</SessionID><MsgID>1</MsgID>\
                    <Target><LocURI>IMEI:490154203237518</LocURI></Target>\
                    <Source><LocURI>http://srv/dm</LocURI></Source></SyncHdr>\
                    <SyncBody><Final/></SyncBody></SyncML>";
                let got = session.handle(env, reply, None, &[], &mut tx, &mut scratch);
                let Err(Error::Decode(e)) = got else {
                    panic!("{got:?}");
                };
                assert_eq!(e.kind(), DecodeErrorKind::EncodingLeftOut(Encoding::Xml));
                assert_eq!(session.encoding(), Encoding::Wbxml);
            });
        }
    }

    use super::test_support::{self, with_env, TestTree};
    use crate::tree::Principal;
    use std::format;

    /// A handset with its device information and the account `./DMAcc/srv1`, whose
    /// `AppAuth` entries are `(level, AAuthType)`.
    fn handset(entries: &[(&str, &str)]) -> TestTree {
        let mut tree = test_support::handset();
        let mut add = |uri: &str, value: Option<&str>| {
            tree.add(Principal::Device, uri, value.map(str::as_bytes), None, None)
                .unwrap_or_else(|e| panic!("{uri}: {e:?}"));
        };
        add("./DMAcc/srv1", None);
        add("./DMAcc/srv1/ServerID", Some("srv1"));
        add("./DMAcc/srv1/AppAuth", None);
        for (level, kind) in entries {
            let root = format!("./DMAcc/srv1/AppAuth/{level}");
            add(&root, None);
            add(&format!("{root}/AAuthLevel"), Some(level));
            add(&format!("{root}/AAuthType"), Some(kind));
            add(&format!("{root}/AAuthName"), Some("name"));
            add(&format!("{root}/AAuthSecret"), Some("secret"));
        }
        tree
    }

    fn session(tree: &mut TestTree) -> Result<Session, Error> {
        with_env(tree, |env| {
            Session::new(
                env,
                Config::DEFAULT,
                "srv1",
                Initiation::Server { session_id: 0x12 },
            )
        })
    }

    /// An account that names no DM-level scheme (the transport authenticates) gets a
    /// session whatever schemes the build has.
    #[test]
    fn an_account_without_dm_credentials_gets_a_session() {
        let mut tree = handset(&[("CLCRED", "HTTP-DIGEST")]);
        assert!(session(&mut tree).is_ok());
        let mut tree = handset(&[]);
        assert!(session(&mut tree).is_ok());
    }

    /// An account whose scheme this build leaves out, for the client's credentials or for
    /// the server's, is refused before anything is sent.
    #[test]
    #[cfg(not(all(feature = "auth-basic", feature = "auth-md5", feature = "auth-hmac")))]
    fn an_account_with_a_scheme_left_out_gets_no_session() {
        for (scheme, name) in [
            (AuthScheme::Basic, "BASIC"),
            (AuthScheme::Md5Digest, "DIGEST"),
            (AuthScheme::Hmac, "HMAC"),
        ] {
            if scheme.is_built() {
                continue;
            }
            for level in ["CLCRED", "SRVCRED"] {
                let mut tree = handset(&[(level, name)]);
                match session(&mut tree) {
                    Err(e) => assert_eq!(e, Error::Auth(AuthError::SchemeLeftOut(scheme))),
                    Ok(_) => panic!("{level} {name}: a session"),
                }
            }
        }
    }

    /// DM Security 1.2 §5.1.4.1: a challenge is answered in its scheme or the session
    /// ends. One for a scheme this build leaves out ends it, with nothing sent.
    #[test]
    #[cfg(not(all(feature = "auth-basic", feature = "auth-md5", feature = "auth-hmac")))]
    fn a_challenge_for_a_scheme_left_out_ends_the_session() {
        for left_out in [AuthScheme::Basic, AuthScheme::Md5Digest, AuthScheme::Hmac] {
            if !left_out.is_built() {
                challenged(left_out);
            }
        }
    }

    /// Starts a session and answers its package 1 with 401 and a challenge for
    /// `left_out`.
    #[cfg(not(all(feature = "auth-basic", feature = "auth-md5", feature = "auth-hmac")))]
    fn challenged(left_out: AuthScheme) {
        use crate::codec::{
            Chal, Command, EncodeOptions, List, Location, MessageWriter, MetInf, Meta, Status,
            SyncHdr, Text,
        };
        // The client's account names no DM scheme, so no challenge is a downgrade.
        let mut tree = handset(&[("CLCRED", "HTTP-DIGEST")]);
        let mut s = session(&mut tree).unwrap();
        let (mut tx, mut scratch) = (std::vec![0u8; 8192], std::vec![0u8; 2048]);
        let _ = with_env(&mut tree, |env| s.start(env, &mut tx, &mut scratch)).unwrap();

        let chal_meta = MetInf {
            type_: left_out.meta_type().map(Text::new),
            format: Some(Text::new("b64")),
            next_nonce: Some(Text::new("MTIzNA==")),
            ..MetInf::default()
        };
        let header = SyncHdr {
            ver_dtd: Text::new("1.2"),
            ver_proto: Text::new("DM/1.2"),
            session_id: Text::new("12"),
            msg_id: Text::new("1"),
            target: Location::new("IMEI:490154203237518"),
            source: Location::new("http://127.0.0.1/dm"),
            resp_uri: None,
            no_resp: false,
            cred: None,
            meta: None,
        };
        let status = Status {
            cmd_id: Text::new("1"),
            msg_ref: Some(Text::new("1")),
            cmd_ref: Some(Text::new("0")),
            cmd: Some(Text::new("SyncHdr")),
            target_refs: List::empty(),
            source_refs: List::empty(),
            cred: None,
            chal: Some(Chal {
                meta: Some(Meta::new(&chal_meta)),
            }),
            data: Some(Text::new("401")),
            items: List::empty(),
        };
        let mut reply = std::vec![0u8; 1024];
        let options = EncodeOptions::new(Encoding::Wbxml);
        let mut w = MessageWriter::new(&options, &header, &mut reply, 1024).unwrap();
        assert!(w.push(&Command::Status(status)).unwrap());
        let n = w.finish(true);
        let step = with_env(&mut tree, |env| {
            s.handle(env, &reply[..n], None, &[], &mut tx, &mut scratch)
        });
        assert_eq!(step, Err(Error::Auth(AuthError::SchemeLeftOut(left_out))));
    }
}
