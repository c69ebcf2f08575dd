//! The server's protocol engine, without sockets: one client message in, one server
//! message out. [`super::TestServer`] puts it behind HTTP.

use std::collections::{HashMap, HashSet, VecDeque};
use std::string::{String, ToString};
use std::vec::Vec;

use bumpalo::Bump;

use super::lower::{ChalOut, ChunkView, HeaderOut, Lower, StatusOut, Unit};
use super::peer_auth::{self, CredIn, Refusal};
use super::script::{Cmd, CmdKind, Decision, Script, Value};
use super::transcript::{
    received_item, text_string, ClientCommand, ClientPackage, ClientResults, ClientStatus,
    Direction, Party, ReceivedItem, Record, SentCommand, SessionInfo, SessionState, Transcript,
    Violation,
};
use super::{Account, ServerOptions};
use crate::http::encoding_of;
use crate::sim::SeededRng;
use iotadm::auth::AuthScheme;
use iotadm::codec::{self, Command, Encoding, Message, Text};
use iotadm::notification::SessionIdHex;
use iotadm::platform::Rng as _;
use iotadm::{AlertCode, StatusCode};

/// An HTTP request, as far as the engine cares.
pub(crate) struct Inbound<'a> {
    pub(crate) path: &'a str,
    pub(crate) content_type: Option<&'a str>,
    pub(crate) hmac: Option<&'a str>,
    pub(crate) body: &'a [u8],
}

/// The HTTP reply.
#[derive(Debug, Clone)]
pub(crate) struct Outbound {
    pub(crate) status: u16,
    pub(crate) content_type: Option<&'static str>,
    pub(crate) hmac: Option<String>,
    pub(crate) body: Vec<u8>,
}

impl Outbound {
    fn error(status: u16, text: &str) -> Self {
        Outbound {
            status,
            content_type: Some("text/plain"),
            hmac: None,
            body: text.as_bytes().to_vec(),
        }
    }
}

/// What is still to go out in the current server package.
enum Out {
    Status(StatusOut),
    Cmd {
        cmd: Cmd,
        /// Index in the transcript's commands, once sent (a large object keeps it across
        /// its chunks).
        record: Option<usize>,
        /// Bytes of a large object already sent.
        offset: usize,
    },
}

/// A large object the client is sending in `Results` chunks.
struct Assembly {
    cmd_ref: u32,
    item: ReceivedItem,
    declared: Option<usize>,
}

struct Session {
    account: usize,
    encoding: Encoding,
    last_client_msg: u32,
    last_server_msg: u32,
    client_pkg: u32,
    client_pkg_open: bool,
    server_pkg: u32,
    auth_failures: u32,
    server_auth_ok: bool,
    server_auth_failures: u32,
    packages: VecDeque<Vec<Cmd>>,
    outbox: VecDeque<Out>,
    pending: Vec<StatusOut>,
    last_package: Vec<Cmd>,
    resend: bool,
    /// `(MsgID, CmdID)` of each command sent, to its transcript index and, for a chunk
    /// of a large object, whether it was the last one.
    sent: HashMap<(u32, u32), (usize, Option<bool>)>,
    assembly: Option<Assembly>,
    /// The request body and the reply of the last exchange, to answer a retransmission.
    last_exchange: Option<(Vec<u8>, Outbound)>,
    resp_path: Option<String>,
    expect_server_initiated: bool,
    /// The current server package has no commands: once sent, the session is over.
    closing: bool,
    /// The server has started a package and not yet sent its `Final`.
    server_pkg_open: bool,
}

pub(crate) struct Engine {
    pub(crate) base_url: String,
    pub(crate) accounts: Vec<Account>,
    pub(crate) options: ServerOptions,
    pub(crate) script: Script,
    sessions: Vec<Session>,
    pub(crate) transcript: Transcript,
    rng: SeededRng,
    /// Package 0s sent: account and session id, until the session starts.
    triggers: Vec<(usize, String)>,
}

/// How the client's credentials fared on one message.
enum Auth {
    Pass(StatusCode, Option<ChalOut>),
    Fail(StatusCode, Option<ChalOut>),
}

impl Engine {
    pub(crate) fn new(
        base_url: String,
        accounts: Vec<Account>,
        options: ServerOptions,
        script: Script,
    ) -> Self {
        let rng = SeededRng::new(options.seed);
        Engine {
            base_url,
            accounts,
            options,
            script,
            sessions: Vec::new(),
            transcript: Transcript::default(),
            rng,
            triggers: Vec::new(),
        }
    }

    /// The path the account is served at.
    pub(crate) fn path_of(server_id: &str) -> String {
        std::format!("/dm/{server_id}")
    }

    fn account_of_path(&self, path: &str) -> Option<usize> {
        let path = path.split('?').next().unwrap_or(path);
        self.accounts.iter().position(|a| {
            let own = Engine::path_of(&a.server_id);
            path == own
                || path
                    .strip_prefix(own.as_str())
                    .is_some_and(|rest| rest.starts_with('/'))
        })
    }

    /// A fresh 16-byte nonce (DM Security 1.2 §5.1.3.3: at least 128 bits).
    fn new_nonce(&mut self) -> Vec<u8> {
        let mut n = std::vec![0u8; 16];
        self.rng.fill_bytes(&mut n);
        n
    }

    fn violation(&mut self, session: usize, by: Party, what: String) {
        let msg_id = self.sessions.get(session).map_or(0, |s| s.last_client_msg);
        self.transcript.violations.push(Violation {
            session,
            msg_id,
            by,
            what,
        });
    }

    /// Registers a package 0 for `account` and `session_id`, so the session it starts is
    /// expected to open with Alert 1200 and that id.
    pub(crate) fn expect_trigger(&mut self, account: usize, session_id: u16) {
        let hex = SessionIdHex::new(session_id).as_str().to_string();
        self.triggers.push((account, hex));
    }

    pub(crate) fn handle(&mut self, req: &Inbound<'_>) -> Outbound {
        let Some(account) = self.account_of_path(req.path) else {
            return Outbound::error(404, "no DM account at this address");
        };
        let msg = match codec::parse(req.body) {
            Ok(m) => m,
            Err(e) => {
                let session = self.sessions.len();
                self.violation(
                    session,
                    Party::Client,
                    std::format!("undecodable message: {e}"),
                );
                return Outbound::error(400, "undecodable SyncML message");
            }
        };
        // The client's message as an independent reader sees it, against the DTD.
        let breaches = match super::conform::read(req.body) {
            Ok(root) => super::conform::check(&root),
            Err(e) => std::vec![std::format!("unreadable without the client's codec: {e}")],
        };
        let encoding = req
            .content_type
            .and_then(|ct| encoding_of(ct.as_bytes()))
            .or_else(|| codec::detect(req.body))
            .unwrap_or(Encoding::Xml);
        let session_id = text_string(&msg.header.session_id);
        let device = text_string(&msg.header.source.uri);
        let index = match self.find_session(account, &session_id, &device) {
            Some(i) => i,
            None => {
                let ended = self
                    .transcript
                    .sessions
                    .iter()
                    .any(|info| info.session_id == session_id && info.device == device);
                let index = self.open_session(account, &session_id, &device, encoding);
                if ended && msg.header.msg_id.parse_u32() != Some(1) {
                    self.violation(
                        index,
                        Party::Client,
                        std::format!("message for session {session_id}, which has ended"),
                    );
                }
                index
            }
        };
        for b in breaches {
            self.violation(index, Party::Client, std::format!("content model: {b}"));
        }
        // A retransmitted request (same body again) gets the same reply, unprocessed.
        if let Some(session) = self.sessions.get(index) {
            if let Some((body, reply)) = &session.last_exchange {
                if body.as_slice() == req.body {
                    return reply.clone();
                }
            }
        }
        let reply = self.process(index, req, &msg, encoding);
        if let Some(session) = self.sessions.get_mut(index) {
            session.last_exchange = Some((req.body.to_vec(), reply.clone()));
        }
        reply
    }

    fn find_session(&self, account: usize, id: &str, device: &str) -> Option<usize> {
        self.transcript
            .sessions
            .iter()
            .zip(self.sessions.iter())
            .rposition(|(info, s)| {
                s.account == account
                    && info.session_id == id
                    && info.device == device
                    && info.state == SessionState::Open
            })
    }

    fn open_session(&mut self, account: usize, id: &str, device: &str, enc: Encoding) -> usize {
        let packages = self.script.take_session();
        let trigger = self
            .triggers
            .iter()
            .position(|(a, sid)| *a == account && sid == id);
        if let Some(t) = trigger {
            self.triggers.remove(t);
        }
        let server_id = self
            .accounts
            .get(account)
            .map(|a| a.server_id.clone())
            .unwrap_or_default();
        self.transcript.sessions.push(SessionInfo {
            server_id,
            session_id: id.to_string(),
            device: device.to_string(),
            max_msg_size: None,
            max_obj_size: None,
            state: SessionState::Open,
            authenticated: false,
        });
        self.sessions.push(Session {
            account,
            encoding: enc,
            last_client_msg: 0,
            last_server_msg: 0,
            client_pkg: 0,
            client_pkg_open: false,
            server_pkg: 0,
            auth_failures: 0,
            server_auth_ok: false,
            server_auth_failures: 0,
            packages,
            outbox: VecDeque::new(),
            pending: Vec::new(),
            last_package: Vec::new(),
            resend: false,
            sent: HashMap::new(),
            assembly: None,
            last_exchange: None,
            resp_path: None,
            expect_server_initiated: trigger.is_some(),
            closing: false,
            server_pkg_open: false,
        });
        self.sessions.len() - 1
    }

    fn account(&self, index: usize) -> Account {
        self.accounts
            .get(index)
            .cloned()
            .unwrap_or_else(|| Account::new(""))
    }

    fn process(
        &mut self,
        si: usize,
        req: &Inbound<'_>,
        msg: &Message<'_>,
        encoding: Encoding,
    ) -> Outbound {
        self.check_header(si, req, msg);
        let msg_id = msg.header.msg_id.parse_u32().unwrap_or(0);
        let Some(s) = self.sessions.get_mut(si) else {
            return Outbound::error(500, "lost session");
        };
        s.last_client_msg = msg_id;
        s.encoding = encoding;
        if !s.client_pkg_open {
            s.client_pkg = s.server_pkg.saturating_add(1);
        }
        let package = s.client_pkg;
        let account_index = s.account;
        self.transcript.records.push(Record {
            direction: Direction::ClientToServer,
            session: si,
            package,
            msg_id,
            encoding,
            body: req.body.to_vec(),
            hmac: req.hmac.map(ToString::to_string),
            path: req.path.to_string(),
        });
        let header_ref = StatusOut {
            msg_ref: msg_id,
            cmd_ref: 0,
            cmd: "SyncHdr".to_string(),
            code: 200,
            chal: None,
            target_ref: Some(text_string(&msg.header.target.uri)),
            source_ref: Some(text_string(&msg.header.source.uri)),
        };
        match self.authenticate(si, req, msg) {
            Auth::Fail(code, chal) => {
                self.auth_failed(si, msg, msg_id, header_ref, code, chal, req.path)
            }
            Auth::Pass(code, chal) => {
                if let Some(info) = self.transcript.sessions.get_mut(si) {
                    info.authenticated = true;
                }
                let abort = self.take_commands(si, msg, msg_id, package);
                let header_status = (!msg.header.no_resp).then_some(StatusOut {
                    code: code.into(),
                    chal,
                    ..header_ref
                });
                if abort {
                    return self.finish_aborted(si, header_status, req.path);
                }
                let asks_more = msg.body.commands.iter().any(|c| match c {
                    Command::Results(_) => true,
                    Command::Alert(a) => a.data.is_some_and(|d| d == "1222"),
                    _ => false,
                });
                self.reply(
                    si,
                    msg.body.is_final,
                    asks_more,
                    header_status,
                    account_index,
                    req.path,
                )
            }
        }
    }

    /// Checks the header rules that do not depend on authentication.
    fn check_header(&mut self, si: usize, req: &Inbound<'_>, msg: &Message<'_>) {
        let h = &msg.header;
        let mut problems = Vec::new();
        if h.ver_dtd != "1.2" {
            problems.push(std::format!(
                "VerDTD is {:?}, not 1.2",
                text_string(&h.ver_dtd)
            ));
        }
        if h.ver_proto != "DM/1.2" {
            problems.push(std::format!(
                "VerProto is {:?}, not DM/1.2",
                text_string(&h.ver_proto)
            ));
        }
        let Some(s) = self.sessions.get_mut(si) else {
            return;
        };
        match h.msg_id.parse_u32() {
            Some(id) if id == s.last_client_msg.saturating_add(1) => {}
            other => problems.push(std::format!(
                "MsgID {:?} does not follow {}",
                other,
                s.last_client_msg
            )),
        }
        // Violations below name this message.
        s.last_client_msg = h.msg_id.parse_u32().unwrap_or(s.last_client_msg);
        if let Some(limit) = self.options.max_msg_size {
            if req.body.len() > limit {
                problems.push(std::format!(
                    "message of {} bytes exceeds the server's MaxMsgSize {limit}",
                    req.body.len()
                ));
            }
        }
        if let Some(expected) = &s.resp_path {
            if req.path != expected {
                problems.push(std::format!(
                    "posted to {} instead of the RespURI path {expected}",
                    req.path
                ));
            }
        }
        if let Some(meta) = h.meta {
            let info = self.transcript.sessions.get_mut(si);
            if let Some(n) = meta.max_msg_size().and_then(|t| t.parse_u64()) {
                let n = usize::try_from(n).unwrap_or(usize::MAX);
                if let Some(info) = info {
                    info.max_msg_size = Some(n);
                }
            }
            let info = self.transcript.sessions.get_mut(si);
            if let Some(n) = meta.max_obj_size().and_then(|t| t.parse_u64()) {
                if let Some(info) = info {
                    info.max_obj_size = Some(usize::try_from(n).unwrap_or(usize::MAX));
                }
            }
        }
        for p in problems {
            self.violation(si, Party::Client, p);
        }
    }

    fn authenticate(&mut self, si: usize, req: &Inbound<'_>, msg: &Message<'_>) -> Auth {
        let Some(s) = self.sessions.get(si) else {
            return Auth::Fail(StatusCode::CommandFailed, None);
        };
        let acc = self.account(s.account);
        let authenticated = self
            .transcript
            .sessions
            .get(si)
            .is_some_and(|i| i.authenticated);
        let scheme = acc.client_scheme;
        let (name, secret, nonce) = (&acc.client.name, &acc.client.secret, &acc.client.nonce);
        let result = match scheme {
            AuthScheme::None => return Auth::Pass(StatusCode::Ok, None),
            AuthScheme::Hmac => peer_auth::check_mac(name, secret, nonce, req.body, req.hmac),
            // Credentials are checked until accepted once; later ones are not needed.
            _ if authenticated => return Auth::Pass(StatusCode::Ok, None),
            _ => {
                let cred = msg.header.cred.map(|c| {
                    let meta = c.meta.map(|m| m.to_metinf()).unwrap_or_default();
                    (
                        meta.type_.map(|t| text_string(&t)),
                        meta.format.map(|t| text_string(&t)),
                        super::transcript::text_bytes(&c.data),
                    )
                });
                let view = cred.as_ref().map(|(t, f, d)| CredIn {
                    meta_type: t.as_deref(),
                    format: f.as_deref(),
                    data: d,
                });
                peer_auth::check_cred(scheme, name.as_bytes(), secret, nonce, view.as_ref())
            }
        };
        let failed = result.is_err();
        let code = match &result {
            Ok(()) if scheme == AuthScheme::Hmac => StatusCode::Ok,
            Ok(()) => StatusCode::AuthenticationAccepted,
            Err(Refusal::Missing) => StatusCode::MissingCredentials,
            Err(Refusal::Invalid(_)) => StatusCode::InvalidCredentials,
        };
        if let Err(e) = &result {
            self.violation(
                si,
                Party::Client,
                std::format!("authentication failed: {e}"),
            );
        }
        // A challenge after a failure (unless retries are spent); with the MAC a fresh
        // nonce on every message; with the digest, on 212, the nonce for the next session.
        let exhausted = failed
            && self.sessions.get(si).is_some_and(|s| {
                s.auth_failures.saturating_add(1) >= self.options.max_auth_attempts
            });
        let chal = if exhausted || (!failed && scheme == AuthScheme::Basic) {
            None
        } else {
            let uses_nonce = matches!(scheme, AuthScheme::Md5Digest | AuthScheme::Hmac);
            let nonce = uses_nonce.then(|| self.new_nonce());
            if let (Some(n), Some(a)) =
                (&nonce, self.accounts.get_mut(acc_index(&self.sessions, si)))
            {
                a.client.nonce = n.clone();
            }
            Some(ChalOut {
                type_: peer_auth::meta_type(scheme).to_string(),
                next_nonce: nonce.map(|n| peer_auth::nonce_text(&n)),
            })
        };
        if failed {
            Auth::Fail(code, chal)
        } else {
            Auth::Pass(code, chal)
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn auth_failed(
        &mut self,
        si: usize,
        msg: &Message<'_>,
        msg_id: u32,
        header_ref: StatusOut,
        code: StatusCode,
        chal: Option<ChalOut>,
        path: &str,
    ) -> Outbound {
        let max = self.options.max_auth_attempts;
        let Some(s) = self.sessions.get_mut(si) else {
            return Outbound::error(500, "lost session");
        };
        s.auth_failures = s.auth_failures.saturating_add(1);
        let exhausted = s.auth_failures >= max;
        // Nothing is executed: every command gets the header's status.
        let mut statuses = std::vec![StatusOut {
            code: code.into(),
            chal,
            ..header_ref
        }];
        for c in msg.body.commands.iter() {
            if matches!(c, Command::Status(_) | Command::Results(_)) {
                continue;
            }
            statuses.push(StatusOut {
                msg_ref: msg_id,
                cmd_ref: c.cmd_id().parse_u32().unwrap_or(0),
                cmd: c.name().to_string(),
                code: code.into(),
                chal: None,
                target_ref: None,
                source_ref: None,
            });
        }
        // The client starts over with package 1.
        s.client_pkg_open = false;
        s.server_pkg = s.client_pkg.saturating_add(1);
        s.outbox = statuses.into_iter().map(Out::Status).collect();
        let account = s.account;
        let reply = self.compose(si, None, false, account, path);
        if let Some(s) = self.sessions.get_mut(si) {
            s.server_pkg = 0;
        }
        if exhausted {
            self.set_state(si, SessionState::AuthFailed);
        }
        reply
    }

    fn set_state(&mut self, si: usize, state: SessionState) {
        if let Some(info) = self.transcript.sessions.get_mut(si) {
            info.state = state;
        }
    }

    /// Reads the client's commands; returns whether the client aborted the session.
    fn take_commands(&mut self, si: usize, msg: &Message<'_>, msg_id: u32, package: u32) -> bool {
        let mut abort = false;
        let mut ids = HashSet::new();
        for c in msg.body.commands.iter() {
            let cmd_id = c.cmd_id().parse_u32().unwrap_or(0);
            if !ids.insert(cmd_id) {
                self.violation(si, Party::Client, std::format!("CmdID {cmd_id} repeated"));
            }
            let answer = match &c {
                Command::Status(st) => {
                    self.take_status(si, st, msg_id, package);
                    None
                }
                Command::Results(r) => {
                    self.take_results(si, r, msg_id, package);
                    None
                }
                Command::Alert(a) => {
                    let code = a.data.and_then(|t| t.parse_u32()).unwrap_or(0);
                    let code = u16::try_from(code).unwrap_or(0);
                    let answer = self.take_alert(si, code, package);
                    abort |= code == u16::from(AlertCode::SessionAbort);
                    self.record_client_command(
                        si,
                        msg_id,
                        package,
                        cmd_id,
                        &c,
                        Some(code),
                        a.correlator,
                        a.items.iter(),
                        answer,
                    );
                    (!a.no_resp).then_some(answer)
                }
                Command::Replace(ic) => {
                    let answer = StatusCode::Ok.into();
                    self.record_client_command(
                        si,
                        msg_id,
                        package,
                        cmd_id,
                        &c,
                        None,
                        None,
                        ic.items.iter(),
                        answer,
                    );
                    (!ic.no_resp).then_some(answer)
                }
                other => {
                    self.violation(
                        si,
                        Party::Client,
                        std::format!("client sent {}, which only a server sends", other.name()),
                    );
                    let answer = StatusCode::OptionalFeatureNotSupported.into();
                    self.record_client_command(
                        si,
                        msg_id,
                        package,
                        cmd_id,
                        &c,
                        None,
                        None,
                        core::iter::empty(),
                        answer,
                    );
                    Some(answer)
                }
            };
            if let (Some(code), Some(s)) = (answer, self.sessions.get_mut(si)) {
                s.pending.push(StatusOut {
                    msg_ref: msg_id,
                    cmd_ref: cmd_id,
                    cmd: c.name().to_string(),
                    code,
                    chal: None,
                    target_ref: None,
                    source_ref: None,
                });
            }
        }
        abort
    }

    #[allow(clippy::too_many_arguments)]
    fn record_client_command<'m>(
        &mut self,
        si: usize,
        msg_id: u32,
        package: u32,
        cmd_id: u32,
        c: &Command<'m>,
        alert: Option<u16>,
        correlator: Option<Text<'m>>,
        items: impl Iterator<Item = codec::Item<'m>>,
        answered: u16,
    ) {
        self.transcript.client_commands.push(ClientCommand {
            session: si,
            package,
            msg_id,
            cmd_id,
            name: c.name().to_string(),
            alert,
            correlator: correlator.map(|t| text_string(&t)),
            items: items.map(|i| received_item(&i)).collect(),
            answered,
        });
    }

    fn take_alert(&mut self, si: usize, code: u16, package: u32) -> u16 {
        let expect_1200 = self
            .sessions
            .get(si)
            .is_some_and(|s| s.expect_server_initiated);
        match AlertCode::from(code) {
            AlertCode::ServerInitiatedMgmt | AlertCode::ClientInitiatedMgmt => {
                if package != 1 {
                    self.violation(
                        si,
                        Party::Client,
                        std::format!("Alert {code} outside package 1"),
                    );
                }
                let account = acc_index(&self.sessions, si);
                let triggered_elsewhere = self.triggers.iter().any(|(a, _)| *a == account);
                if !expect_1200
                    && triggered_elsewhere
                    && code == u16::from(AlertCode::ServerInitiatedMgmt)
                {
                    self.violation(
                        si,
                        Party::Client,
                        "Alert 1200 with a SessionID other than package 0's".to_string(),
                    );
                }
                if expect_1200 && code != u16::from(AlertCode::ServerInitiatedMgmt) {
                    self.violation(
                        si,
                        Party::Client,
                        "a session started by package 0 must open with Alert 1200".to_string(),
                    );
                }
                StatusCode::Ok.into()
            }
            AlertCode::NextMessage
            | AlertCode::SessionAbort
            | AlertCode::GenericAlert
            | AlertCode::ClientEvent => StatusCode::Ok.into(),
            _ => {
                self.violation(si, Party::Client, std::format!("client sent Alert {code}"));
                StatusCode::OptionalFeatureNotSupported.into()
            }
        }
    }

    fn take_status(&mut self, si: usize, st: &codec::Status<'_>, msg_id: u32, package: u32) {
        let Some(code) = st
            .data
            .and_then(|t| t.parse_u32())
            .and_then(|c| u16::try_from(c).ok())
        else {
            self.violation(si, Party::Client, "Status without a code".to_string());
            return;
        };
        // MsgRef, CmdRef and Cmd are required (SyncML RepPro DTD): a Status without them
        // answers nothing, whatever the server could guess.
        let Some(cmd_ref) = st.cmd_ref.and_then(|t| t.parse_u32()) else {
            self.violation(si, Party::Client, "Status without a CmdRef".to_string());
            return;
        };
        let Some(msg_ref) = st.msg_ref.and_then(|t| t.parse_u32()) else {
            self.violation(
                si,
                Party::Client,
                std::format!("Status for CmdRef {cmd_ref} without a MsgRef"),
            );
            return;
        };
        let Some(cmd_name) = st.cmd.map(|t| text_string(&t)) else {
            self.violation(
                si,
                Party::Client,
                std::format!("Status for CmdRef {cmd_ref} without a Cmd"),
            );
            return;
        };

        let chal = st.chal.map(|c| {
            let m = c.meta.map(|m| m.to_metinf()).unwrap_or_default();
            (
                m.type_.map(|t| text_string(&t)),
                m.format.map(|t| text_string(&t)),
                m.next_nonce.map(|t| text_string(&t)),
            )
        });
        let mut command = None;
        if cmd_ref == 0 {
            let sent = self.sessions.get(si).map_or(0, |s| s.last_server_msg);
            if cmd_name != "SyncHdr" || msg_ref == 0 || msg_ref > sent {
                self.violation(
                    si,
                    Party::Client,
                    std::format!(
                        "header Status names {cmd_name:?} of message {msg_ref} (sent: {sent})"
                    ),
                );
            }
            self.take_header_status(si, code, chal.as_ref());
        } else {
            let key = (msg_ref, cmd_ref);
            match self
                .sessions
                .get(si)
                .and_then(|s| s.sent.get(&key))
                .copied()
            {
                None => self.violation(
                    si,
                    Party::Client,
                    std::format!(
                        "Status for CmdRef {cmd_ref} of message {}, which the server did not send",
                        key.0
                    ),
                ),
                Some((index, chunk)) => {
                    command = Some(index);
                    self.take_command_status(si, index, chunk, code, &cmd_name);
                }
            }
        }
        self.transcript.statuses.push(ClientStatus {
            session: si,
            package,
            msg_id,
            msg_ref: Some(msg_ref),
            cmd_ref,
            cmd: cmd_name,
            code,
            target_refs: st.target_refs.iter().map(|t| text_string(&t)).collect(),
            source_refs: st.source_refs.iter().map(|t| text_string(&t)).collect(),
            chal: chal.map(|(t, _, n)| (t, n)),
            items: st.items.iter().map(|i| received_item(&i)).collect(),
            command,
        });
    }

    fn take_header_status(
        &mut self,
        si: usize,
        code: u16,
        chal: Option<&(Option<String>, Option<String>, Option<String>)>,
    ) {
        let account = acc_index(&self.sessions, si);
        if let Some((t, f, n)) = chal {
            match peer_auth::parse_chal(t.as_deref(), f.as_deref(), n.as_deref()) {
                Ok((scheme, nonce)) => {
                    if let Some(a) = self.accounts.get_mut(account) {
                        if let Some(nonce) = nonce {
                            a.server.nonce = nonce;
                        }
                        if a.client_scheme != AuthScheme::Hmac && scheme != AuthScheme::Hmac {
                            a.server_scheme = scheme;
                        }
                    }
                }
                Err(e) => self.violation(si, Party::Client, std::format!("unreadable Chal: {e}")),
            }
        }
        let max = self.options.max_auth_attempts;
        let Some(s) = self.sessions.get_mut(si) else {
            return;
        };
        match StatusCode::from(code) {
            StatusCode::AuthenticationAccepted => s.server_auth_ok = true,
            StatusCode::InvalidCredentials | StatusCode::MissingCredentials => {
                s.server_auth_ok = false;
                s.server_auth_failures = s.server_auth_failures.saturating_add(1);
                s.resend = s.server_auth_failures < max;
            }
            _ => {}
        }
    }

    fn take_command_status(
        &mut self,
        si: usize,
        index: usize,
        chunk: Option<bool>,
        code: u16,
        cmd_name: &str,
    ) {
        let mut problems = Vec::new();
        if let Some(c) = self.transcript.commands.get_mut(index) {
            c.statuses.push(code);
            if c.name != cmd_name {
                problems.push(std::format!(
                    "Status names {cmd_name:?} for a {} command",
                    c.name
                ));
            }
            // A command of several items may get a Status per item (SyncML RepPro: one per
            // item whenever their codes differ, each naming its item in TargetRef).
            let per_send = c.targets.len().max(1);
            if c.statuses.len() > c.sends.len().saturating_mul(per_send) {
                problems.push(std::format!("a second Status for the {} command", c.name));
            }
        }
        let chunked = u16::from(StatusCode::ChunkedItemAccepted);
        match chunk {
            Some(false) if code != chunked => {
                // The client refused the object: the server stops sending it.
                if let Some(s) = self.sessions.get_mut(si) {
                    s.outbox
                        .retain(|o| !matches!(o, Out::Cmd { record: Some(r), .. } if *r == index));
                }
            }
            Some(true) | None if code == chunked => {
                problems.push("213 for a command that was not a non-final chunk".to_string());
            }
            _ => {}
        }
        for p in problems {
            self.violation(si, Party::Client, p);
        }
    }

    fn take_results(&mut self, si: usize, r: &codec::Results<'_>, msg_id: u32, package: u32) {
        let cmd_ref = r.cmd_ref.and_then(|t| t.parse_u32()).unwrap_or(0);
        let msg_ref = r.msg_ref.and_then(|t| t.parse_u32());
        let last_server = self.sessions.get(si).map_or(0, |s| s.last_server_msg);
        let key = (msg_ref.unwrap_or(last_server), cmd_ref);
        let command = self
            .sessions
            .get(si)
            .and_then(|s| s.sent.get(&key))
            .map(|(i, _)| *i);
        match command.and_then(|i| self.transcript.commands.get(i)) {
            Some(c) if c.name == "Get" => {}
            _ => self.violation(
                si,
                Party::Client,
                std::format!("Results for CmdRef {cmd_ref}, which is no Get the server sent"),
            ),
        }
        let mut done = Vec::new();
        for item in r.items.iter() {
            let received = received_item(&item);
            let assembly = self.sessions.get_mut(si).and_then(|s| s.assembly.take());
            match assembly {
                Some(mut a) => {
                    if a.cmd_ref != cmd_ref || a.item.source != received.source {
                        self.violation(
                            si,
                            Party::Client,
                            "a new item before the last chunk of a large object".to_string(),
                        );
                        done.push(a.item);
                        self.start_or_finish(si, cmd_ref, received, &mut done);
                        continue;
                    }
                    a.item.data.extend_from_slice(&received.data);
                    if received.more_data {
                        if let Some(s) = self.sessions.get_mut(si) {
                            s.assembly = Some(a);
                        }
                    } else {
                        a.item.more_data = false;
                        if let Some(n) = a.declared {
                            if n != a.item.data.len() {
                                self.violation(
                                    si,
                                    Party::Client,
                                    std::format!(
                                        "large object of {} bytes declared Size {n}",
                                        a.item.data.len()
                                    ),
                                );
                            }
                        }
                        done.push(a.item);
                    }
                }
                None => self.start_or_finish(si, cmd_ref, received, &mut done),
            }
        }
        if !done.is_empty() {
            self.transcript.results.push(ClientResults {
                session: si,
                package,
                msg_id,
                msg_ref,
                cmd_ref,
                items: done,
                command,
            });
        }
    }

    fn start_or_finish(
        &mut self,
        si: usize,
        cmd_ref: u32,
        item: ReceivedItem,
        done: &mut Vec<ReceivedItem>,
    ) {
        if !item.more_data {
            done.push(item);
            return;
        }
        let declared = item.size.as_deref().and_then(|s| s.trim().parse().ok());
        if declared.is_none() {
            self.violation(
                si,
                Party::Client,
                "first chunk of a large object without Meta/Size".to_string(),
            );
        }
        if let Some(s) = self.sessions.get_mut(si) {
            s.assembly = Some(Assembly {
                cmd_ref,
                item,
                declared,
            });
        }
    }

    fn finish_aborted(&mut self, si: usize, header: Option<StatusOut>, path: &str) -> Outbound {
        let account = acc_index(&self.sessions, si);
        if let Some(s) = self.sessions.get_mut(si) {
            s.outbox = s.pending.drain(..).map(Out::Status).collect();
            s.server_pkg = s.client_pkg.saturating_add(1);
        }
        self.set_state(si, SessionState::AbortedByClient);
        self.compose(si, header, false, account, path)
    }

    /// The server's next message after an authenticated client message.
    fn reply(
        &mut self,
        si: usize,
        client_final: bool,
        asks_more: bool,
        header: Option<StatusOut>,
        account: usize,
        path: &str,
    ) -> Outbound {
        let in_progress = self.sessions.get(si).is_some_and(|s| s.server_pkg_open);
        if client_final {
            if let Some(s) = self.sessions.get_mut(si) {
                s.client_pkg_open = false;
            }
            if in_progress {
                self.violation(
                    si,
                    Party::Client,
                    "Final sent before the server's package ended".to_string(),
                );
            } else {
                self.check_statuses_complete(si);
                self.start_package(si);
            }
        } else {
            if let Some(s) = self.sessions.get_mut(si) {
                s.client_pkg_open = true;
            }
            if in_progress && !asks_more {
                self.violation(
                    si,
                    Party::Client,
                    "answer to a message without Final has neither Alert 1222 nor Results"
                        .to_string(),
                );
            }
            if !in_progress {
                // The client's package goes on: the header status and Alert 1222, nothing
                // else; the statuses for its commands wait for the end of its package.
                return self.compose(si, header, true, account, path);
            }
        }
        self.compose(si, header, false, account, path)
    }

    fn check_statuses_complete(&mut self, si: usize) {
        let commands = &self.transcript.commands;
        // The commands inside an Atomic answered 517 have none: the answer to them could
        // not fit a message (DM RepPro 1.2 §6.6.2).
        let too_large = |c: &SentCommand| {
            let mut parent = c.parent;
            while let Some(p) = parent.and_then(|i| commands.get(i)) {
                if p.name == "Atomic" && p.statuses.last() == Some(&517) {
                    return true;
                }
                parent = p.parent;
            }
            false
        };
        let missing: Vec<(usize, String)> = commands
            .iter()
            .enumerate()
            .filter(|(_, c)| c.session == si && !c.no_resp && c.statuses.len() < c.sends.len())
            .filter(|(_, c)| !too_large(c))
            .map(|(i, c)| {
                let (m, id) = c.sends.last().copied().unwrap_or((0, 0));
                (
                    i,
                    std::format!("no Status for {} (message {m}, CmdID {id})", c.name),
                )
            })
            .collect();
        for (i, what) in missing {
            self.violation(si, Party::Client, what);
            // Reported once: counted as answered from here on.
            if let Some(c) = self.transcript.commands.get_mut(i) {
                while c.statuses.len() < c.sends.len() {
                    c.statuses.push(0);
                }
            }
        }
    }

    fn start_package(&mut self, si: usize) {
        let Some(s) = self.sessions.get(si) else {
            return;
        };
        let number = s.client_pkg;
        let resend = s.resend;
        let cmds = if resend {
            s.last_package.clone()
        } else {
            let decision = match self.script.hook.as_mut() {
                Some(hook) => hook(&ClientPackage {
                    session: si,
                    number,
                    transcript: &self.transcript,
                }),
                None => Decision::Scripted,
            };
            match decision {
                Decision::Send(cmds) => cmds,
                Decision::End => Vec::new(),
                Decision::Scripted => self
                    .sessions
                    .get_mut(si)
                    .and_then(|s| s.packages.pop_front())
                    .unwrap_or_default(),
            }
        };
        let Some(s) = self.sessions.get_mut(si) else {
            return;
        };
        s.resend = false;
        s.server_pkg = s.client_pkg.saturating_add(1);
        let mut outbox: VecDeque<Out> = s.pending.drain(..).map(Out::Status).collect();
        outbox.extend(cmds.iter().cloned().map(|cmd| Out::Cmd {
            cmd,
            record: None,
            offset: 0,
        }));
        s.outbox = outbox;
        s.closing = cmds.is_empty();
        s.server_pkg_open = true;
        s.last_package = cmds;
    }

    fn header_out(&mut self, si: usize, account: usize) -> HeaderOut {
        let acc = self.account(account);
        let info = self.transcript.sessions.get(si).cloned();
        let s = self.sessions.get_mut(si);
        let (msg_id, server_auth_ok, resp) = match s {
            Some(s) => {
                s.last_server_msg = s.last_server_msg.saturating_add(1);
                if self.options.resp_uri && s.resp_path.is_none() {
                    s.resp_path = Some(std::format!("{}/s{si}", Engine::path_of(&acc.server_id)));
                }
                (s.last_server_msg, s.server_auth_ok, s.resp_path.clone())
            }
            None => (1, false, None),
        };
        let cred = match acc.server_scheme {
            AuthScheme::Basic | AuthScheme::Md5Digest
                if !server_auth_ok && acc.client_scheme != AuthScheme::Hmac =>
            {
                let s = &acc.server;
                Some((
                    peer_auth::meta_type(acc.server_scheme).to_string(),
                    peer_auth::cred_data(acc.server_scheme, s.name.as_bytes(), &s.secret, &s.nonce),
                ))
            }
            _ => None,
        };
        HeaderOut {
            session_id: info
                .as_ref()
                .map(|i| i.session_id.clone())
                .unwrap_or_default(),
            msg_id,
            target: info.map(|i| i.device).unwrap_or_default(),
            source: std::format!("{}{}", self.base_url, Engine::path_of(&acc.server_id)),
            source_name: Some(acc.server.name.clone()),
            resp_uri: resp.map(|p| std::format!("{}{p}", self.base_url)),
            cred,
            max_msg_size: self.options.max_msg_size,
            max_obj_size: self.options.max_obj_size,
        }
    }

    /// Builds, signs and records the next server message from the outbox (or, with
    /// `next_message_only`, the header status and Alert 1222).
    fn compose(
        &mut self,
        si: usize,
        header_status: Option<StatusOut>,
        next_message_only: bool,
        account: usize,
        path: &str,
    ) -> Outbound {
        let header = self.header_out(si, account);
        let info = self.transcript.sessions.get(si).cloned();
        let limit = info.as_ref().and_then(|i| i.max_msg_size);
        let max_obj = info.as_ref().and_then(|i| i.max_obj_size);
        let Some(s) = self.sessions.get_mut(si) else {
            return Outbound::error(500, "lost session");
        };
        let encoding = s.encoding;
        if !next_message_only {
            // Statuses for the client's latest commands lead the message.
            for st in s.pending.drain(..).rev() {
                s.outbox.push_front(Out::Status(st));
            }
        }
        let header_status_units: Vec<StatusOut> = header_status.into_iter().collect();
        let plan = Plan {
            header: &header,
            statuses: &header_status_units,
            limit,
            max_obj,
            respect_max_obj: self.options.respect_max_obj_size,
            encoding,
        };
        let (taken, script_errors) = if next_message_only {
            (Vec::new(), Vec::new())
        } else {
            plan.fill(&mut s.outbox)
        };
        let is_final = !next_message_only && s.outbox.is_empty();
        if is_final {
            s.server_pkg_open = false;
        }
        // Encode for real.
        let bump = Bump::new();
        let lower = Lower::new(&bump);
        let mut units: Vec<Unit<'_>> = header_status_units.iter().map(Unit::Status).collect();
        if next_message_only {
            units.push(Unit::NextMessage);
        }
        for (o, chunk) in &taken {
            units.push(match o {
                Out::Status(st) => Unit::Status(st),
                Out::Cmd { cmd, .. } => Unit::Command { cmd, chunk: *chunk },
            });
        }
        let mut ids = Vec::new();
        let message = lower.message(&header, &units, is_final, &mut ids);
        let body = encode(&message, encoding).unwrap_or_default();
        // Record the commands sent.
        let msg_id = header.msg_id;
        let skip = units.len() - taken.len();
        let mut first_records = Vec::new();
        for ((o, chunk), unit_ids) in taken.iter().zip(ids.iter().skip(skip)) {
            if let Out::Cmd { cmd, record, .. } = o {
                let first = self.record_sent(si, cmd, *record, *chunk, msg_id, unit_ids);
                if record.is_none() {
                    first_records.push(first);
                }
            }
        }
        // The Alert 1222 is a command like any other: the client owes it a Status.
        if next_message_only {
            if let Some(&id) = ids.get(skip - 1).and_then(|unit| unit.first()) {
                self.record_next_message(si, msg_id, id);
            }
        }
        // A large object keeps its transcript entry across its chunks.
        if let Some(s) = self.sessions.get_mut(si) {
            let mut fresh = first_records.into_iter();
            if let Some(Out::Cmd { record, offset, .. }) = s.outbox.front_mut() {
                if *offset > 0 && record.is_none() {
                    *record = fresh.next_back();
                }
            }
        }
        for e in script_errors {
            self.violation(si, Party::Script, e);
        }
        let acc = self.account(account);
        let hmac = (acc.client_scheme == AuthScheme::Hmac).then(|| {
            let s = &acc.server;
            let mac = peer_auth::mac(s.name.as_bytes(), &s.secret, &s.nonce, &body);
            peer_auth::hmac_header(&s.name, &mac)
        });
        let package = self.sessions.get(si).map_or(0, |s| {
            if next_message_only {
                s.client_pkg.saturating_add(1)
            } else {
                s.server_pkg
            }
        });
        self.transcript.records.push(Record {
            direction: Direction::ServerToClient,
            session: si,
            package,
            msg_id,
            encoding,
            body: body.clone(),
            hmac: hmac.clone(),
            path: path.to_string(),
        });
        let closing = self.sessions.get(si).is_some_and(|s| s.closing);
        if is_final && closing {
            let state = self.transcript.sessions.get(si).map(|i| i.state);
            if state == Some(SessionState::Open) {
                self.set_state(si, SessionState::Completed);
            }
        }
        Outbound {
            status: 200,
            content_type: Some(encoding.content_type()),
            hmac,
            body,
        }
    }

    /// Records the server's Alert 1222 `(msg_id, id)`, so that its Status is expected.
    fn record_next_message(&mut self, si: usize, msg_id: u32, id: u32) {
        let package = self
            .sessions
            .get(si)
            .map_or(0, |s| s.client_pkg.saturating_add(1));
        self.transcript.commands.push(SentCommand {
            session: si,
            package,
            sends: std::vec![(msg_id, id)],
            name: CmdKind::Alert(0).name(),
            alert: Some(AlertCode::NextMessage.into()),
            label: None,
            targets: Vec::new(),
            statuses: Vec::new(),
            parent: None,
            no_resp: false,
        });
        let index = self.transcript.commands.len() - 1;
        if let Some(s) = self.sessions.get_mut(si) {
            s.sent.insert((msg_id, id), (index, None));
        }
    }

    fn record_sent(
        &mut self,
        si: usize,
        cmd: &Cmd,
        record: Option<usize>,
        chunk: Option<ChunkView>,
        msg_id: u32,
        ids: &[u32],
    ) -> usize {
        let package = self.sessions.get(si).map_or(0, |s| s.server_pkg);
        let mut flat = Vec::new();
        flatten(cmd, None, &mut flat);
        let mut first = 0;
        let mut parents: Vec<usize> = Vec::new();
        for (k, ((c, parent), id)) in flat.iter().zip(ids.iter()).enumerate() {
            let index = match (k, record) {
                (0, Some(r)) => {
                    if let Some(sc) = self.transcript.commands.get_mut(r) {
                        sc.sends.push((msg_id, *id));
                    }
                    r
                }
                _ => {
                    self.transcript.commands.push(SentCommand {
                        session: si,
                        package,
                        sends: std::vec![(msg_id, *id)],
                        name: c.kind().name(),
                        alert: match c.kind() {
                            CmdKind::Alert(code) => Some(code),
                            _ => None,
                        },
                        label: c.label.clone(),
                        targets: c.targets(),
                        statuses: Vec::new(),
                        parent: parent.and_then(|p| parents.get(p).copied()),
                        no_resp: c.no_resp,
                    });
                    self.transcript.commands.len() - 1
                }
            };
            parents.push(index);
            if k == 0 {
                first = index;
            }
            let chunk_state = if k == 0 {
                chunk.map(|v| v.is_last())
            } else {
                None
            };
            if let Some(s) = self.sessions.get_mut(si) {
                s.sent.insert((msg_id, *id), (index, chunk_state));
            }
        }
        first
    }
}

fn acc_index(sessions: &[Session], si: usize) -> usize {
    sessions.get(si).map_or(0, |s| s.account)
}

/// What a message may hold: the limits it is filled under.
struct Plan<'p> {
    header: &'p HeaderOut,
    statuses: &'p [StatusOut],
    limit: Option<usize>,
    max_obj: Option<usize>,
    respect_max_obj: bool,
    encoding: Encoding,
}

impl Plan<'_> {
    fn fits(&self, taken: &[(Out, Option<ChunkView>)]) -> bool {
        self.limit.is_none_or(|l| {
            size_of(self.header, self.statuses, taken, false, self.encoding).is_some_and(|n| n <= l)
        })
    }

    /// Takes from the front of `outbox` what fits in one message: whole statuses and
    /// commands in order, then possibly one chunk of a large object, which ends the
    /// message. Returns what was taken and the script errors met (commands dropped).
    fn fill(&self, outbox: &mut VecDeque<Out>) -> (Vec<(Out, Option<ChunkView>)>, Vec<String>) {
        let mut taken: Vec<(Out, Option<ChunkView>)> = Vec::new();
        let mut errors = Vec::new();
        while let Some(next) = outbox.pop_front() {
            if let Out::Cmd { cmd, offset: 0, .. } = &next {
                let size = cmd.largest_object();
                if let Some(max) = self.max_obj.filter(|m| size > *m && self.respect_max_obj) {
                    errors.push(std::format!(
                        "{} of a {size}-byte object not sent: the client's MaxObjSize is {max}",
                        cmd.kind().name()
                    ));
                    continue;
                }
            }
            let partial = matches!(&next, Out::Cmd { offset, .. } if *offset > 0);
            let next = if partial {
                next
            } else {
                taken.push((next, None));
                if self.fits(&taken) {
                    continue;
                }
                let Some((next, _)) = taken.pop() else {
                    break;
                };
                let alone = self.fits(&[(clone_out(&next), None)]);
                let chunkable = matches!(&next, Out::Cmd { cmd, .. } if cmd.chunkable().is_some());
                if alone || (!chunkable && !taken.is_empty()) {
                    // It goes whole in the next message.
                    outbox.push_front(next);
                    break;
                }
                if !chunkable {
                    errors.push(std::format!(
                        "{} does not fit in the client's MaxMsgSize {} and cannot be split",
                        out_name(&next),
                        self.limit.unwrap_or(0)
                    ));
                    continue;
                }
                // Too large for any message: it goes as a large object from here.
                next
            };
            match self.chunk(&next, &taken) {
                Some((view, rest)) => {
                    if let Some(rest) = rest {
                        outbox.push_front(rest);
                    }
                    taken.push((next, Some(view)));
                }
                None if taken.is_empty() => errors.push(std::format!(
                    "no room for even one byte of a large object in MaxMsgSize {}",
                    self.limit.unwrap_or(0)
                )),
                None => outbox.push_front(next),
            }
            break;
        }
        (taken, errors)
    }

    /// The largest chunk of the large object `next` that fits after `taken`, and what is
    /// left of the object to send later.
    fn chunk(
        &self,
        next: &Out,
        taken: &[(Out, Option<ChunkView>)],
    ) -> Option<(ChunkView, Option<Out>)> {
        let Out::Cmd {
            cmd,
            record,
            offset,
        } = next
        else {
            return None;
        };
        let offset = *offset;
        let data = cmd.chunkable().and_then(|i| i.data.as_ref())?;
        let total = data.byte_len()?;
        // Candidate ends: every byte, or every character boundary of text, up to what a
        // message could ever hold.
        let upper = self
            .limit
            .map_or(total, |l| total.min(offset.saturating_add(l)));
        let ends: Vec<usize> = match data {
            Value::Text(t) => (offset + 1..=upper)
                .filter(|&e| t.is_char_boundary(e))
                .collect(),
            _ => (offset + 1..=upper).collect(),
        };
        let mut trial: Vec<(Out, Option<ChunkView>)> =
            taken.iter().map(|(o, c)| (clone_out(o), *c)).collect();
        // A longer chunk never makes a message shorter, so the ends that fit come first.
        let fitting = ends.partition_point(|&end| {
            trial.push((
                clone_out(next),
                Some(ChunkView {
                    start: offset,
                    end,
                    total,
                }),
            ));
            let ok = self.fits(&trial);
            trial.pop();
            ok
        });
        let lo = *ends.get(fitting.checked_sub(1)?)?;
        let view = ChunkView {
            start: offset,
            end: lo,
            total,
        };
        let rest = (!view.is_last()).then(|| Out::Cmd {
            cmd: cmd.clone(),
            record: *record,
            offset: lo,
        });
        Some((view, rest))
    }
}

fn out_name(o: &Out) -> &'static str {
    match o {
        Out::Status(_) => "Status",
        Out::Cmd { cmd, .. } => cmd.kind().name(),
    }
}

fn clone_out(o: &Out) -> Out {
    match o {
        Out::Status(s) => Out::Status(s.clone()),
        Out::Cmd {
            cmd,
            record,
            offset,
        } => Out::Cmd {
            cmd: cmd.clone(),
            record: *record,
            offset: *offset,
        },
    }
}

/// The command and its children in pre-order, each with its parent's position.
fn flatten<'c>(cmd: &'c Cmd, parent: Option<usize>, out: &mut Vec<(&'c Cmd, Option<usize>)>) {
    let me = out.len();
    out.push((cmd, parent));
    for child in cmd.children() {
        flatten(child, Some(me), out);
    }
}

fn encode(message: &Message<'_>, encoding: Encoding) -> Option<Vec<u8>> {
    let len = message.encoded_len(encoding).ok()?;
    let mut buf = std::vec![0u8; len];
    let n = message.encode(encoding, &mut buf).ok()?;
    buf.truncate(n);
    Some(buf)
}

/// The encoded size of a message holding the header statuses and `taken`, counted with
/// `Final` so that the message fits whatever its end.
fn size_of(
    header: &HeaderOut,
    statuses: &[StatusOut],
    taken: &[(Out, Option<ChunkView>)],
    next_message: bool,
    encoding: Encoding,
) -> Option<usize> {
    let bump = Bump::new();
    let lower = Lower::new(&bump);
    let mut units: Vec<Unit<'_>> = statuses.iter().map(Unit::Status).collect();
    if next_message {
        units.push(Unit::NextMessage);
    }
    for (o, chunk) in taken {
        units.push(match o {
            Out::Status(st) => Unit::Status(st),
            Out::Cmd { cmd, .. } => Unit::Command { cmd, chunk: *chunk },
        });
    }
    let mut ids = Vec::new();
    lower
        .message(header, &units, true, &mut ids)
        .encoded_len(encoding)
        .ok()
}
