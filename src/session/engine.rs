//! The session's turns: package 1, then for each server message the header checks,
//! authentication both ways, the server's statuses, the commands, and the next client
//! message.

use embedded_storage::nor_flash::NorFlash;
use heapless::String;

use super::emit::{MessageSink, Sink};
use super::queue::Entry;
use super::runner::{Cursor, Runner};
use super::{
    Env, Error, HeaderStatus, Held, Outcome, Phase, Session, SessionLimit, Step, Transmit,
};
use crate::auth::{
    self, build_cred, verify_cred, AuthError, AuthScheme, Challenge, Credentials, Nonce,
};
#[cfg(feature = "auth-hmac")]
use crate::auth::{mac_b64, HmacHeader};
use crate::codec::{
    self, Chal, Command, Cred, EncodeError, EncodeOptions, List, Location, Message, MessageWriter,
    MetInf, Meta, Status, SyncHdr, Text,
};
use crate::codes::{AlertCode, StatusCode};
use crate::decimal::Decimal;
use crate::limits::{REF_LEN, SERVER_ADDR_LEN};
use crate::tree::Handlers;

/// Room a message keeps for commands beside the status of the server's header: below it,
/// that status goes without the TargetRef and SourceRef that repeat the header.
const ROOM_FOR_A_COMMAND: usize = 160;

/// Whether the server's statuses send the session back to package 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Statuses {
    Go,
    Restart,
}

impl Session {
    /// Writes package 1 into `tx`: Alert 1200 or 1201, the Generic Alerts, and DevInfo,
    /// with the client's credentials. `scratch` holds values while they are written.
    pub fn start<F: NorFlash, H: Handlers>(
        &mut self,
        env: &mut Env<'_, '_, F, H>,
        tx: &mut [u8],
        scratch: &mut [u8],
    ) -> Result<Transmit, Error> {
        if self.phase != Phase::Start {
            return Err(Error::Finished);
        }
        self.queue_package1();
        self.phase = Phase::Setup;
        self.started = env.clock.unix_time();
        info!(
            "session {}: package 1 to {}",
            self.session_id.as_str(),
            self.account.server_id.as_str()
        );
        match self.compose(env, None, None, tx, scratch)? {
            Step::Send(t) => Ok(t),
            Step::Done(_) => Err(Error::Finished),
        }
    }

    /// Handles the server's `reply` (with its `x-syncml-hmac` header value, if any) and
    /// writes the next client message into `tx`, or ends the session.
    ///
    /// When the last [`Transmit`] said `hold`, `held` must be the server message handled
    /// before (still in its buffer); its remaining commands run now. Otherwise `held` is
    /// not read.
    pub fn handle<F: NorFlash, H: Handlers>(
        &mut self,
        env: &mut Env<'_, '_, F, H>,
        reply: &[u8],
        hmac: Option<&[u8]>,
        held: &[u8],
        tx: &mut [u8],
        scratch: &mut [u8],
    ) -> Result<Step, Error> {
        self.receive(env, reply, hmac, held, tx, scratch)
            .inspect_err(|e| warn!("session: stopped, {:?}", e))
    }

    /// [`handle`](Self::handle), whose errors it logs.
    fn receive<F: NorFlash, H: Handlers>(
        &mut self,
        env: &mut Env<'_, '_, F, H>,
        reply: &[u8],
        hmac: Option<&[u8]>,
        held: &[u8],
        tx: &mut [u8],
        scratch: &mut [u8],
    ) -> Result<Step, Error> {
        match self.phase {
            Phase::Done => return Err(Error::Finished),
            Phase::Start => return Err(Error::WrongSession),
            Phase::Setup | Phase::Running => {}
        }
        self.check_bounds(env)?;
        let msg = codec::parse_with(reply, &self.cfg.limits)?;
        if let Some(encoding) = codec::detect(reply) {
            self.encoding = encoding;
        }
        self.check_header(&msg.header)?;
        let deny = self.authenticate_server(env, &msg.header, reply, hmac)?;
        if self.read_statuses(env, &msg)? == Statuses::Restart {
            self.queue_package1();
            self.held = Held::default();
            return self.compose(env, None, None, tx, scratch);
        }
        let continuing = self.held.cursor.is_some() || !self.queue.is_empty();
        if continuing {
            // Our package goes on: the server only acknowledges and asks for more (Alert
            // 1222, answered 200 in the next message), or ends the session (1223).
            // Anything else it sends now breaks the protocol; each such command is
            // answered 400.
            self.aborted |= msg
                .body
                .commands
                .iter()
                .any(|c| alert_code(&c) == Some(AlertCode::SessionAbort));
            if self.aborted {
                return Ok(self.finish(env));
            }
            let interrupting = Some(&msg);
            if self.held.cursor.is_some() {
                let held = codec::parse_with(held, &self.cfg.limits)?;
                return self.compose_with(env, Some(&held), interrupting, deny, tx, scratch);
            }
            return self.compose_with(env, None, interrupting, deny, tx, scratch);
        }
        // A new server message.
        debug!(
            "session: server message {} of {} bytes{}",
            self.header.as_ref().map_or("", |h| h.msg_id.as_str()),
            reply.len(),
            if msg.body.is_final {
                ", package ends"
            } else {
                ""
            }
        );
        if self.held.is_final {
            self.cancelled = false;
        }
        self.held = Held {
            msg_id: self
                .header
                .as_ref()
                .map(|h| h.msg_id.clone())
                .unwrap_or_default(),
            cursor: Some(Cursor::default()),
            is_final: msg.body.is_final,
        };
        let has_commands = msg
            .body
            .commands
            .iter()
            .any(|c| !matches!(c, Command::Status(_)));
        if !has_commands && msg.body.is_final && !self.receiving_lo() && deny.is_none() {
            return Ok(self.finish(env));
        }
        self.compose(env, Some(&msg), deny, tx, scratch)
    }

    /// Whether the session may go on: it has sent fewer than `max_messages` messages and
    /// lasted at most `max_session_secs`. Checked before each server message is handled,
    /// so that a server that never ends the session gets no more answers.
    fn check_bounds<F: NorFlash, H: Handlers>(&self, env: &Env<'_, '_, F, H>) -> Result<(), Error> {
        if self.messages_sent >= self.cfg.max_messages {
            return Err(Error::Limit(SessionLimit::Messages(self.cfg.max_messages)));
        }
        let elapsed = self
            .started
            .zip(env.clock.unix_time())
            .map(|(start, now)| now.saturating_sub(start));
        if elapsed.is_some_and(|s| s > u64::from(self.cfg.max_session_secs)) {
            return Err(Error::Limit(SessionLimit::Seconds(
                self.cfg.max_session_secs,
            )));
        }
        Ok(())
    }

    /// Package 1's commands, in order.
    fn queue_package1(&mut self) {
        self.queue.clear();
        let code = match self.initiation {
            super::Initiation::Server { .. } => AlertCode::ServerInitiatedMgmt,
            super::Initiation::Client => AlertCode::ClientInitiatedMgmt,
        };
        let _ = self.queue.push(Entry::Open(u16::from(code)));
        self.alert_refs.clear();
        for i in 0..self.alert_count {
            let _ = self.queue.push(Entry::Generic(i));
            let _ = self.alert_refs.push((0, 0));
        }
        let _ = self.queue.push(Entry::DevInfo { next: 0 });
    }

    /// Ends a session that cannot go on (the transport failed, or [`handle`](Self::handle)
    /// returned an error): an unfinished large object is dropped and the tree's handlers
    /// learn that the session is over.
    pub fn abandon<F: NorFlash, H: Handlers>(&mut self, env: &mut Env<'_, '_, F, H>) {
        if self.phase != Phase::Done {
            let _ = self.finish(env);
        }
    }

    /// Whether a large object is being received: the session waits for its next chunk.
    fn receiving_lo(&self) -> bool {
        #[cfg(feature = "large-objects")]
        return self.lo.is_some();
        #[cfg(not(feature = "large-objects"))]
        return false;
    }

    /// Ends the session.
    fn finish<F: NorFlash, H: Handlers>(&mut self, env: &mut Env<'_, '_, F, H>) -> Step {
        info!(
            "session {}: ended after {} messages{}",
            self.session_id.as_str(),
            self.messages_sent,
            if self.aborted {
                ", aborted by the server"
            } else {
                ""
            }
        );
        self.phase = Phase::Done;
        env.tree.handlers_mut().session_ended();
        #[cfg(feature = "large-objects")]
        if let Some(lo) = self.lo.take() {
            lo.abandon(
                env.tree,
                crate::tree::Principal::Server(&self.account.server_id),
                env.clock.unix_time(),
            );
        }
        Step::Done(Outcome {
            aborted_by_server: self.aborted,
            messages_sent: self.messages_sent,
            alert_status: self.alert_status.clone(),
        })
    }

    // The steps of `handle` (header, authentication, statuses) are kept out of line: each
    // has buffers of its own, which inlined together would all be on the stack at once.

    /// The header must be of this session and protocol; it sets where and how to answer.
    #[inline(never)]
    fn check_header(&mut self, hdr: &SyncHdr<'_>) -> Result<(), Error> {
        let same_session = hdr.session_id.trim().eq_ignore_ascii_case(&self.session_id)
            || hdr.session_id.parse_u32().is_some_and(|n| {
                // Ours is at most four hex digits, written by `Session::load`.
                let ours = self
                    .session_id
                    .bytes()
                    .try_fold(0u32, |id, b| Some(id << 4 | char::from(b).to_digit(16)?));
                ours == Some(n)
            });
        if !hdr.ver_dtd.trim().eq_bytes(b"1.2")
            || !hdr.ver_proto.trim().eq_bytes(b"DM/1.2")
            || !same_session
        {
            return Err(Error::WrongSession);
        }
        let mut msg_id: String<REF_LEN> = String::new();
        let text = hdr.msg_id.trim();
        let mut buf = [0u8; REF_LEN];
        msg_id
            .push_str(text.to_str(&mut buf).ok_or(Error::WrongSession)?)
            .map_err(|_| Error::WrongSession)?;
        let mut uri = [0u8; SERVER_ADDR_LEN];
        if let Some(source) = hdr.source.uri.trim().to_str(&mut uri) {
            self.server_uri.clear();
            let _ = self.server_uri.push_str(source);
        }
        if let Some(resp) = hdr
            .resp_uri
            .and_then(|r| r.trim().to_str(&mut uri).map(|s| (s.len(), s)))
        {
            // The account's address is where messages go; for the rest of the session,
            // that is the server's RespURI.
            if resp.0 > 0 && resp.0 <= self.account.addr.capacity() {
                self.account.addr.clear();
                let _ = self.account.addr.push_str(resp.1);
            }
        }
        if let Some(meta) = hdr.meta {
            // The server's limit is kept as it is: a message that cannot be made to fit it
            // ends the session with an error saying so, instead of one the server refuses.
            if let Some(n) = meta
                .max_msg_size()
                .and_then(|t| t.parse_u32())
                .filter(|&n| n > 0)
            {
                self.server_max_msg = n;
            }
            if let Some(n) = meta.max_obj_size().and_then(|t| t.parse_u32()) {
                self.server_max_obj = Some(n);
            }
        }
        self.header = Some(HeaderStatus {
            msg_id,
            code: StatusCode::Ok,
            chal: false,
            no_resp: hdr.no_resp,
        });
        Ok(())
    }

    /// Checks the server's credentials (SRVCRED) and sets the header status. Returns the
    /// code every command gets when the server failed.
    #[inline(never)]
    #[cfg_attr(not(feature = "auth-hmac"), allow(unused_variables))]
    fn authenticate_server<F: NorFlash, H: Handlers>(
        &mut self,
        env: &mut Env<'_, '_, F, H>,
        hdr: &SyncHdr<'_>,
        body: &[u8],
        hmac: Option<&[u8]>,
    ) -> Result<Option<StatusCode>, Error> {
        let Some(entry) = self.account.server.as_ref() else {
            return Ok(None);
        };
        let scheme = entry.scheme;
        if self.server.authenticated && scheme != AuthScheme::Hmac {
            return Ok(None);
        }
        let creds = Credentials::new(entry.name.as_bytes(), &entry.secret);
        let nonce = entry.nonce.as_bytes();
        let result = match scheme {
            AuthScheme::None => Ok(()),
            #[cfg(feature = "auth-hmac")]
            AuthScheme::Hmac => match hmac {
                None => Err(AuthError::MissingCredentials),
                Some(h) => HmacHeader::parse(h).and_then(|h| h.verify(&creds, nonce, body)),
            },
            // A session never starts with such an account (`Session::load`); were it to,
            // the server would be refused, not trusted.
            #[cfg(not(feature = "auth-hmac"))]
            AuthScheme::Hmac => Err(AuthError::SchemeLeftOut(AuthScheme::Hmac)),
            scheme => {
                let mut type_buf = [0u8; 32];
                let mut format_buf = [0u8; 16];
                let mut data_buf = [0u8; 256];
                // One call for credentials present or absent, so that it is inlined once.
                hdr.cred
                    .map(|c| {
                        let meta = c.meta;
                        let meta_type = meta
                            .and_then(|m| m.type_())
                            .and_then(|t| t.trim().to_str(&mut type_buf));
                        let format = meta
                            .and_then(|m| m.format())
                            .and_then(|t| t.trim().to_str(&mut format_buf));
                        let data = c.data.trim().copy_to(&mut data_buf);
                        let data = data.ok_or(AuthError::BadCredentials)?;
                        Ok(auth::Cred {
                            meta_type,
                            format,
                            data,
                        })
                    })
                    .transpose()
                    .and_then(|cred| verify_cred(scheme, &creds, nonce, cred.as_ref()))
            }
        };
        let (code, deny) = match result {
            Ok(()) => {
                debug!("session: server authenticated ({:?})", scheme);
                self.server.authenticated = true;
                self.store_pending_nonce(env)?;
                let code = if scheme == AuthScheme::Hmac {
                    StatusCode::Ok
                } else {
                    StatusCode::AuthenticationAccepted
                };
                (code, None)
            }
            Err(e) => {
                self.server.failures = self.server.failures.saturating_add(1);
                warn!(
                    "session: server credentials refused ({:?}, {:?}), failure {}",
                    scheme, e, self.server.failures
                );
                if self.server.failures > self.cfg.server_auth_failures {
                    return Err(Error::ServerNotAuthenticated);
                }
                let code = match e.status() {
                    StatusCode::MissingCredentials => StatusCode::MissingCredentials,
                    _ => StatusCode::InvalidCredentials,
                };
                (code, Some(code))
            }
        };
        // Every challenge, and every success of a scheme with nonces, hands the server a
        // fresh nonce (for the next message with HMAC, the next session otherwise), made
        // when the header's Status is written (`compose`).
        let chal = deny.is_some() || scheme.uses_nonce();
        if let Some(h) = self.header.as_mut() {
            h.code = code;
            h.chal = chal;
        }
        Ok(deny)
    }

    /// The server's statuses for the client's commands: the header status settles the
    /// client's authentication; Generic Alert statuses are recorded.
    fn read_statuses<F: NorFlash, H: Handlers>(
        &mut self,
        env: &mut Env<'_, '_, F, H>,
        msg: &Message<'_>,
    ) -> Result<Statuses, Error> {
        let mut outcome = Statuses::Go;
        for cmd in msg.body.commands {
            let Command::Status(status) = cmd else {
                continue;
            };
            let code = StatusCode::from(
                status
                    .data
                    .and_then(|d| d.parse_u32())
                    .and_then(|c| u16::try_from(c).ok())
                    .unwrap_or(0),
            );
            let msg_ref = status.msg_ref.and_then(|m| m.parse_u32());
            let cmd_ref = status.cmd_ref.and_then(|c| c.parse_u32());
            if cmd_ref == Some(0) {
                outcome = self.header_status(env, &status, code)?;
                continue;
            }
            if let (Some(m), Some(c)) = (msg_ref, cmd_ref) {
                #[cfg(any(feature = "defmt", feature = "log"))]
                if !code.is_success() {
                    warn!(
                        "session: the server answered command {} of message {} with {}",
                        c,
                        m,
                        u16::from(code)
                    );
                }
                if let Some(i) = self.alert_refs.iter().position(|&r| r == (m, c)) {
                    if let Some(slot) = self.alert_status.get_mut(i) {
                        *slot = Some(code);
                    }
                }
            }
        }
        Ok(outcome)
    }

    /// Whether the server has proved itself this session, or has nothing to prove it with
    /// (the account holds no server credentials).
    fn server_trusted(&self) -> bool {
        self.account.server.is_none() || self.server.authenticated
    }

    /// Stores the client nonce a challenge gave, once it may be stored.
    fn store_pending_nonce<F: NorFlash, H: Handlers>(
        &mut self,
        env: &mut Env<'_, '_, F, H>,
    ) -> Result<(), Error> {
        if !self.client.nonce_pending {
            return Ok(());
        }
        if let Some(client) = self.account.client.as_ref() {
            self.account
                .store_nonce(env.tree, client)
                .map_err(Error::Account)?;
        }
        self.client.nonce_pending = false;
        Ok(())
    }

    /// The server's verdict on the client's credentials.
    #[inline(never)]
    fn header_status<F: NorFlash, H: Handlers>(
        &mut self,
        env: &mut Env<'_, '_, F, H>,
        status: &Status<'_>,
        code: StatusCode,
    ) -> Result<Statuses, Error> {
        // A challenge's nonce is used even from a server not yet authenticated, so that two
        // sides with stale nonces can resynchronise, but stored only once the server has
        // authenticated (DM Security 1.2 §5.1.3.4): a peer that cannot prove itself must
        // not replace a good nonce with one of its choosing.
        if let Some(meta) = status.chal.and_then(|c| c.meta) {
            let mut type_buf = [0u8; 32];
            let mut format_buf = [0u8; 16];
            let mut nonce_buf = [0u8; auth::NONCE_B64_CAPACITY];
            let meta_type = meta.type_().and_then(|t| t.trim().copy_to(&mut type_buf));
            let format = meta
                .format()
                .and_then(|t| t.trim().copy_to(&mut format_buf));
            let next = meta
                .next_nonce()
                .and_then(|t| t.trim().copy_to(&mut nonce_buf));
            let chal = Challenge::parse(meta_type, format, next)?;
            let may_switch = self.phase == Phase::Setup;
            if let Some(client) = self.account.client.as_mut() {
                if may_switch {
                    if !chal.scheme.at_least(self.client.floor) {
                        return Err(Error::AuthDowngrade(chal.scheme));
                    }
                    // A challenge this build cannot answer in its scheme ends the session,
                    // as one for a scheme no build implements does (DM Security 1.2
                    // §5.1.4.1): nothing weaker is sent instead.
                    chal.scheme.check_built()?;
                    // The scheme may change only before the server first accepts.
                    client.scheme = chal.scheme;
                    self.client.scheme = chal.scheme;
                }
                if let Some(nonce) = chal.nonce.clone() {
                    client.nonce = nonce;
                    self.client.nonce_pending = true;
                }
            }
            if self.server_trusted() {
                self.store_pending_nonce(env)?;
            }
        }
        match code {
            StatusCode::AuthenticationAccepted => {
                debug!("session: the server accepted the client's credentials");
                self.client.accepted = true;
                self.phase = Phase::Running;
                Ok(Statuses::Go)
            }
            StatusCode::Ok => {
                self.phase = Phase::Running;
                Ok(Statuses::Go)
            }
            // Only a challenge invites another try: a refusal without one is the server's
            // last word, and package 1 sent again would reach a session it has closed.
            StatusCode::InvalidCredentials | StatusCode::MissingCredentials
                if self.phase == Phase::Setup
                    && self.client.retries < self.cfg.auth_retries
                    && status.chal.is_some() =>
            {
                self.client.retries += 1;
                warn!(
                    "session: the server challenged the client's credentials ({}), retry {}",
                    u16::from(code),
                    self.client.retries
                );
                Ok(Statuses::Restart)
            }
            other => Err(Error::Rejected(other)),
        }
    }

    /// Starts the next message in `tx`: the header (with the client's credentials until the
    /// server accepts them), the status of the server's header and the statuses of a
    /// continuation's prelude. Returns the writer and the last `CmdID` used. Out of line:
    /// the header's parts are off the stack before commands run and responses are written.
    #[inline(never)]
    fn begin_message<'t, F: NorFlash, H: Handlers>(
        &mut self,
        env: &mut Env<'_, '_, F, H>,
        interrupting: Option<&Message<'_>>,
        tx: &'t mut [u8],
    ) -> Result<(MessageWriter<'t>, u32), Error> {
        self.msg_id += 1;
        let msg_id = Decimal::new(u64::from(self.msg_id));
        let max_msg = Decimal::new(u64::from(self.cfg.max_msg_size));
        let max_obj = Decimal::new(u64::from(self.cfg.max_obj_size));
        let meta = MetInf {
            max_msg_size: Some(Text::new(max_msg.as_str())),
            // MaxObjSize belongs to large objects (OMA-TS-DM_Protocol 1.2 §7): without
            // them no object is larger than a message, which MaxMsgSize bounds already.
            max_obj_size: cfg!(feature = "large-objects").then(|| Text::new(max_obj.as_str())),
            ..MetInf::default()
        };
        // The client's credentials, until the server accepts them for the session.
        let mut cred_buf = [0u8; 160];
        let client = self.account.client.as_ref();
        let cred_meta;
        let mut cred = None;
        if let Some(c) = client.filter(|_| !self.client.accepted) {
            let creds = Credentials::new(c.name.as_bytes(), &c.secret);
            if let Some(built) = build_cred(
                self.client.scheme,
                &creds,
                c.nonce.as_bytes(),
                &mut cred_buf,
            )? {
                cred_meta = MetInf {
                    type_: built.meta_type.map(Text::new),
                    format: built.format.map(Text::new),
                    ..MetInf::default()
                };
                cred = Some(Cred {
                    meta: Some(Meta::new(&cred_meta)),
                    data: Text::from_bytes(built.data),
                });
            }
        }
        let header = SyncHdr {
            ver_dtd: Text::new("1.2"),
            ver_proto: Text::new("DM/1.2"),
            session_id: Text::new(&self.session_id),
            msg_id: Text::new(msg_id.as_str()),
            target: Location::new(&self.server_uri),
            source: Location {
                uri: Text::new(&self.device_id),
                name: client.map(|c| Text::new(&c.name)),
            },
            resp_uri: None,
            no_resp: false,
            cred,
            // The limits hold for the session once declared, in the first message (and
            // again when package 1 starts over).
            meta: (self.messages_sent == 0 || self.phase == Phase::Setup).then(|| Meta::new(&meta)),
        };
        let limit = (self.server_max_msg as usize).min(tx.len());
        let options = EncodeOptions::new(self.encoding);
        let tx_len = tx.len();
        let mut writer = match MessageWriter::new(&options, &header, tx, limit) {
            Err(EncodeError::BufferTooSmall { required }) => {
                return Err(self.too_small(tx_len, required))
            }
            other => other?,
        };
        let mut cmd_id = 0u32;
        // A challenge's fresh nonce is made only for a message that carries it: the
        // server's last message gets no answer, and a nonce made for it anyway would be
        // one the server never saw, failing the next session. It is stored before it is
        // sent, so that a restart keeps it, but only for a server that authenticated: the
        // nonce for one that failed is for its next try in this session, and a peer that
        // cannot prove itself does not get to change the nonce that package 0 and the next
        // session are checked with (nor to clear the mark of a spent resynchronisation).
        if self.header.as_ref().is_some_and(|h| h.chal && !h.no_resp) {
            if let Some(entry) = self
                .account
                .server
                .as_mut()
                .filter(|e| e.scheme.uses_nonce())
            {
                entry.nonce = Nonce::generate(&mut RngRef(env.rng));
            }
            if let Some(entry) = self
                .account
                .server
                .as_ref()
                .filter(|e| e.scheme.uses_nonce() && self.server.authenticated)
            {
                self.account
                    .store_nonce(env.tree, entry)
                    .map_err(Error::Account)?;
            }
        }
        // The status of the server's header comes first.
        if let Some(h) = self.header.as_ref().filter(|h| !h.no_resp) {
            let id = Decimal::new(u64::from(cmd_id + 1));
            let code = Decimal::new(u64::from(u16::from(h.code)));
            let targets = [Text::new(&self.device_id)];
            let sources = [Text::new(&self.server_uri)];
            let server = self.account.server.as_ref();
            let scheme = server.map_or(AuthScheme::Basic, |s| s.scheme);
            let nonce_b64 = server
                .filter(|_| scheme.uses_nonce())
                .map(|s| s.nonce.to_b64());
            let chal_meta = MetInf {
                type_: scheme.meta_type().map(Text::new),
                format: Some(Text::new("b64")),
                next_nonce: nonce_b64.as_deref().map(Text::new),
                ..MetInf::default()
            };
            let mut status = Command::Status(Status {
                cmd_id: Text::new(id.as_str()),
                msg_ref: Some(Text::new(&h.msg_id)),
                cmd_ref: Some(Text::new("0")),
                cmd: Some(Text::new("SyncHdr")),
                target_refs: List::new(&targets),
                source_refs: List::new(&sources),
                cred: None,
                chal: h.chal.then(|| Chal {
                    meta: Some(Meta::new(&chal_meta)),
                }),
                data: Some(Text::new(code.as_str())),
                items: List::new(&[]),
            });
            // TargetRef and SourceRef only repeat the header (the DTD makes them
            // optional): under a small MaxMsgSize they give way to the commands. The
            // command is built once and changed in place: each copy of it is code.
            let with_refs = status.encoded_len(self.encoding)?;
            if let Command::Status(s) = &mut status {
                if writer.room().saturating_sub(with_refs) < ROOM_FOR_A_COMMAND {
                    s.target_refs = List::empty();
                    s.source_refs = List::empty();
                }
            }
            if !writer.push(&status)? {
                return Err(self.too_small(tx_len, writer.written()));
            }
            cmd_id += 1;
            // The commands of a server message that came while our package was going on
            // (Alert 1222, or a protocol error): one Status each, nested ones included,
            // all in this message.
            if let Some(msg) = interrupting {
                for cmd in msg.body.commands {
                    if !refuse(&mut writer, &h.msg_id, &cmd, &mut cmd_id)? {
                        return Err(Error::PackageInterrupted);
                    }
                }
            }
        }
        Ok((writer, cmd_id))
    }

    /// Writes the next message: the header status, then queued responses and the
    /// results of running commands, until the message is full or everything is answered.
    fn compose<F: NorFlash, H: Handlers>(
        &mut self,
        env: &mut Env<'_, '_, F, H>,
        held: Option<&Message<'_>>,
        deny: Option<StatusCode>,
        tx: &mut [u8],
        scratch: &mut [u8],
    ) -> Result<Step, Error> {
        self.compose_with(env, held, None, deny, tx, scratch)
    }

    /// [`compose`](Self::compose), answering first the commands of `interrupting`, a
    /// server message that came while the client's package was unfinished (normally just
    /// Alert 1222).
    fn compose_with<F: NorFlash, H: Handlers>(
        &mut self,
        env: &mut Env<'_, '_, F, H>,
        held: Option<&Message<'_>>,
        interrupting: Option<&Message<'_>>,
        deny: Option<StatusCode>,
        tx: &mut [u8],
        scratch: &mut [u8],
    ) -> Result<Step, Error> {
        let tx_len = tx.len();
        let (mut writer, cmd_id) = self.begin_message(env, interrupting, tx)?;
        let held_msg_id = self.held.msg_id.clone();
        #[cfg(not(feature = "large-objects"))]
        let alone_room = writer.room();
        let mut sink = MessageSink {
            writer: &mut writer,
            server_id: &self.account.server_id,
            encoding: self.encoding,
            msg_ref: &held_msg_id,
            msg_id: self.msg_id,
            cmd_id,
            alerts: env
                .alerts
                .get(..usize::from(self.alert_count))
                .unwrap_or(&[]),
            alert_refs: &mut self.alert_refs,
            server_uri: &self.server_uri,
            device_id: &self.device_id,
            written: 0,
            asked_next: false,
            #[cfg(not(feature = "large-objects"))]
            alone_room,
        };
        let room = Sink::<F, H>::flush(&mut sink, env.tree, &mut self.queue, scratch)?;
        if let (true, Some(cur), Some(msg)) = (room, self.held.cursor, held) {
            let next = {
                let mut runner = Runner {
                    env: &mut *env,
                    queue: &mut self.queue,
                    #[cfg(feature = "large-objects")]
                    lo: &mut self.lo,
                    server_id: &self.account.server_id,
                    cfg: &self.cfg,
                    server_max_obj: self.server_max_obj,
                    scratch: &mut *scratch,
                    cancelled: &mut self.cancelled,
                    aborted: &mut self.aborted,
                    sink: &mut sink,
                };
                runner.run(msg.body.commands, cur, deny)?
            };
            self.held.cursor = next;
            if next.is_none() && !self.held.is_final && !self.aborted {
                // The server's package goes on: ask for its next message.
                let _ = self.queue.push(Entry::NextMessage);
            }
            Sink::<F, H>::flush(&mut sink, env.tree, &mut self.queue, scratch)?;
        } else if held.is_none() {
            self.held.cursor = None;
        }
        let (written, asked_next) = (sink.written, sink.asked_next);
        if self.aborted {
            return Ok(self.finish(env));
        }
        let complete = self.queue.is_empty() && self.held.cursor.is_none();
        if written == 0 && !self.queue.is_empty() {
            return Err(self.too_small(tx_len, writer.written()));
        }
        let len = writer.finish(complete && !asked_next);
        self.sign(tx.get(..len).unwrap_or(&[]))?;
        self.messages_sent = self.messages_sent.saturating_add(1);
        Ok(Step::Send(Transmit {
            len,
            hold: self.held.cursor.is_some(),
        }))
    }

    /// The error for a message in which nothing fits after `header` bytes: the server's
    /// MaxMsgSize is too small, or else the transmit buffer (`tx_len` bytes) is.
    fn too_small(&self, tx_len: usize, header: usize) -> Error {
        if (self.server_max_msg as usize) < tx_len {
            Error::ServerMaxMsgSize {
                limit: self.server_max_msg,
                header: u32::try_from(header).unwrap_or(u32::MAX),
            }
        } else {
            Error::MessageTooSmall
        }
    }

    /// With HMAC, the `x-syncml-hmac` value for `body`. Out of line: the MAC's state and
    /// buffers are on the stack only once the message is written.
    #[inline(never)]
    #[cfg(feature = "auth-hmac")]
    fn sign(&mut self, body: &[u8]) -> Result<(), Error> {
        self.hmac.clear();
        let Some(c) = self.account.client.as_ref() else {
            return Ok(());
        };
        if self.client.scheme != AuthScheme::Hmac {
            return Ok(());
        }
        let creds = Credentials::new(c.name.as_bytes(), &c.secret);
        let mac = mac_b64(&creds, c.nonce.as_bytes(), body);
        let mut buf = [0u8; 160];
        let n = HmacHeader::emit(c.name.as_bytes(), &mac, &mut buf)?;
        let text = core::str::from_utf8(buf.get(..n).unwrap_or(&[])).unwrap_or("");
        self.hmac
            .push_str(text)
            .map_err(|_| Error::Auth(AuthError::TooLong))?;
        Ok(())
    }

    /// Without HMAC no message is signed (no account that asks for it gets a session).
    #[cfg(not(feature = "auth-hmac"))]
    fn sign(&mut self, _body: &[u8]) -> Result<(), Error> {
        self.hmac.clear();
        Ok(())
    }
}

/// The alert code of `cmd`, if it is an Alert with one.
fn alert_code(cmd: &Command<'_>) -> Option<AlertCode> {
    match cmd {
        Command::Alert(a) => a
            .data
            .and_then(|d| d.parse_u32())
            .and_then(|n| u16::try_from(n).ok())
            .map(AlertCode::from),
        _ => None,
    }
}

/// Writes the Status of a command of a server message that broke into the client's
/// package, and those of the commands inside it: 200 for Alert 1222 (what the server
/// should have sent alone), 400 for anything else, each naming its command. Whether every
/// one of them fit.
fn refuse(
    writer: &mut MessageWriter<'_>,
    msg_ref: &str,
    cmd: &Command<'_>,
    cmd_id: &mut u32,
) -> Result<bool, Error> {
    let (no_resp, inner) = match cmd {
        Command::Status(_) => return Ok(true),
        Command::Atomic(c) | Command::Sequence(c) => (c.no_resp, Some(c.commands)),
        Command::Alert(a) => (a.no_resp, None),
        Command::Add(c)
        | Command::Copy(c)
        | Command::Delete(c)
        | Command::Get(c)
        | Command::Replace(c) => (c.no_resp, None),
        Command::Exec(e) => (e.no_resp, None),
        Command::Sync(s) => (s.no_resp, None),
        _ => (false, None),
    };
    if !no_resp {
        let code = if alert_code(cmd) == Some(AlertCode::NextMessage) {
            "200"
        } else {
            "400"
        };
        let id = Decimal::new(u64::from(*cmd_id + 1));
        let status = Command::Status(Status {
            cmd_id: Text::new(id.as_str()),
            msg_ref: Some(Text::new(msg_ref)),
            cmd_ref: Some(cmd.cmd_id()),
            cmd: Some(Text::new(cmd.name())),
            target_refs: List::empty(),
            source_refs: List::empty(),
            cred: None,
            chal: None,
            data: Some(Text::new(code)),
            items: List::empty(),
        });
        if !writer.push(&status)? {
            return Ok(false);
        }
        *cmd_id += 1;
    }
    for c in inner.into_iter().flatten() {
        if !refuse(writer, msg_ref, &c, cmd_id)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// `Nonce::generate` wants an `impl Rng`; the environment holds a `dyn Rng`.
struct RngRef<'r>(&'r mut dyn crate::platform::Rng);

impl crate::platform::Rng for RngRef<'_> {
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0.fill_bytes(dest);
    }
}
