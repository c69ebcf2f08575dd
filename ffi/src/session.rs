//! One management session, start to end, over a transport the C side supplies:
//! `iotadm_session_run` drives the session engine with `Client::run`, calling the C
//! `exchange` callback for every message. The session's state lives in the device's
//! storage, its buffers are the caller's, and a FUMO report waiting to be delivered goes
//! out with it.

use core::ffi::{c_char, c_int, c_void};
use core::mem::MaybeUninit;

use iotadm::codec::Encoding;
use iotadm::fumo::Report;
use iotadm::limits::{SERVER_ADDR_LEN, SERVER_ID_LEN};
use iotadm::session::{self as dm, Client, ClientError, Config, Env, Initiation, Session};
use iotadm::transport;

use crate::device::{device_mut, Device};
use crate::status::{
    fumo_error, session_error, IOTADM_ERR_BUFFER_TOO_SMALL, IOTADM_ERR_INVALID_ARGUMENT,
    IOTADM_ERR_TRANSPORT, IOTADM_OK,
};
use crate::text::{bytes_out, str_in, CText};

/// Bytes of `iotadm_trigger.account`: the longest account name or server id (64 bytes)
/// and its NUL.
pub const IOTADM_ACCOUNT_SPACE: usize = 65;
const _: () = assert!(IOTADM_ACCOUNT_SPACE == SERVER_ID_LEN + 1);
/// Room for an account or server id and its NUL.
pub(crate) const MAX_ID_Z: usize = IOTADM_ACCOUNT_SPACE;
/// Room for a server address and its NUL.
const MAX_ADDR_Z: usize = SERVER_ADDR_LEN + 1;
/// Room for an `x-syncml-hmac` header value and its NUL.
const MAX_HMAC_Z: usize = 256;

/// `iotadm_session_params.encoding`: WBXML (`application/vnd.syncml.dm+wbxml`).
pub const IOTADM_ENCODING_WBXML: u8 = 0;
/// `iotadm_session_params.encoding`: XML (`application/vnd.syncml.dm+xml`).
pub const IOTADM_ENCODING_XML: u8 = 1;

/// A client message to send. Every pointer is valid only during the call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Request {
    /// Where to send it: the account's server address, or the `RespURI` the server gave.
    pub url: *const c_char,
    /// The message's content type, for the `Content-Type` header.
    pub content_type: *const c_char,
    /// The `x-syncml-hmac` header value to send, or `NULL` when the session does not use
    /// HMAC integrity.
    pub hmac: *const c_char,
    /// The message.
    pub body: *const u8,
    /// Its length.
    pub body_len: usize,
}

/// Where the server's reply goes.
#[repr(C)]
#[derive(Debug)]
pub struct Reply {
    /// The reply body goes here...
    pub body: *mut u8,
    /// ...up to this many bytes: a longer reply is a transport failure, never cut.
    pub body_capacity: usize,
    /// Set by the callback: the body's length.
    pub body_len: usize,
    /// The reply's `x-syncml-hmac` header value goes here (no NUL needed)...
    pub hmac: *mut c_char,
    /// ...up to this many bytes.
    pub hmac_capacity: usize,
    /// Set by the callback: the header value's length, 0 when the reply had none.
    pub hmac_len: usize,
}

/// The transport: DM over HTTP, OBEX, SMS or a UART, as the device has it.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Transport {
    /// Handed back to `exchange`.
    pub user: *mut c_void,
    /// Required. Sends `request` (for HTTP: a `POST` to its URL with its content type,
    /// and `Accept` for both DM content types) and fills `reply` with the server's
    /// answer. Blocks until the reply is in. Returns 0, or anything else for a failure
    /// (no answer, an HTTP status other than 2xx, a reply too large), which ends the
    /// session with `IOTADM_ERR_TRANSPORT`.
    pub exchange: Option<
        unsafe extern "C" fn(
            user: *mut c_void,
            request: *const Request,
            reply: *mut Reply,
        ) -> c_int,
    >,
}

/// The memory a session runs in, all the caller's, used only during
/// `iotadm_session_run`. The five buffers must not overlap.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Buffers {
    /// Receives server messages: at least `max_msg_size` bytes. While the session answers
    /// a large package it keeps the server message here.
    pub rx: *mut u8,
    /// `rx`'s size.
    pub rx_len: usize,
    /// Receives the server's replies while `rx` holds a message still being executed:
    /// acknowledgements, a few hundred bytes (1 KiB is ample).
    pub aux: *mut u8,
    /// `aux`'s size.
    pub aux_len: usize,
    /// Client messages are written here: the server's MaxMsgSize, to use it all.
    pub tx: *mut u8,
    /// `tx`'s size.
    pub tx_len: usize,
    /// Values on their way into and out of messages: the largest single value read or
    /// written whole.
    pub scratch: *mut u8,
    /// `scratch`'s size.
    pub scratch_len: usize,
    /// The reply's `x-syncml-hmac` header value: 256 bytes when HMAC is used.
    pub hmac: *mut u8,
    /// `hmac`'s size.
    pub hmac_len: usize,
}

/// The session to run.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct SessionParams {
    /// The account: its node name under `./DMAcc` (`iotadm_trigger.account` for a
    /// session a package 0 asked for).
    pub account: *const c_char,
    /// `true` for the session a package 0 asked for (Alert 1200 with `session_id`);
    /// `false` for one the device starts (Alert 1201, a random session id).
    pub server_initiated: bool,
    /// The package 0's session id (`iotadm_trigger.session_id`).
    pub session_id: u16,
    /// The encoding of package 1: `IOTADM_ENCODING_WBXML` or `IOTADM_ENCODING_XML`;
    /// later messages follow the server's.
    pub encoding: u8,
    /// The largest message the client accepts (its MaxMsgSize); at most `rx_len`.
    pub max_msg_size: u32,
    /// The largest object the client accepts (its MaxObjSize); 0 for 65,536.
    pub max_obj_size: u32,
    /// Most messages the client sends in the session before it ends it
    /// (`IOTADM_ERR_SESSION_LIMIT`); 0 for 1,000.
    pub max_messages: u32,
    /// Longest the session may last, in seconds by the platform's clock; 0 for 1,800.
    pub max_session_secs: u32,
}

/// How a session went.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct Outcome {
    /// Client messages sent.
    pub messages_sent: u32,
    /// The server ended the session with Alert 1223.
    pub aborted_by_server: bool,
    /// A FUMO report went out with the session.
    pub report_sent: bool,
    /// The server's status for it (0 when none came); 200 or 202 acknowledged it, and
    /// the device forgot it. Any other status keeps it for the next session.
    pub report_status: u16,
}

/// The C transport behind `transport::Transport`.
struct CTransport {
    user: *mut c_void,
    exchange: unsafe extern "C" fn(*mut c_void, *const Request, *mut Reply) -> c_int,
}

impl transport::Transport for CTransport {
    type Error = c_int;

    fn exchange(
        &mut self,
        request: &transport::Request<'_>,
        rx: &mut [u8],
        hmac: &mut [u8],
    ) -> Result<transport::Reply, c_int> {
        let url = CText::<MAX_ADDR_Z>::new(request.url);
        let header = request.hmac.map(CText::<MAX_HMAC_Z>::new);
        let content_type = match request.encoding {
            Encoding::Xml => c"application/vnd.syncml.dm+xml",
            Encoding::Wbxml => c"application/vnd.syncml.dm+wbxml",
        };
        let c_request = Request {
            url: url.as_ptr(),
            content_type: content_type.as_ptr(),
            hmac: header.as_ref().map_or(core::ptr::null(), CText::as_ptr),
            body: request.body.as_ptr(),
            body_len: request.body.len(),
        };
        let mut reply = Reply {
            body: rx.as_mut_ptr(),
            body_capacity: rx.len(),
            body_len: 0,
            hmac: hmac.as_mut_ptr().cast(),
            hmac_capacity: hmac.len(),
            hmac_len: 0,
        };
        // SAFETY: the request's strings and body, and the reply's buffers, are valid for
        // the call and do not overlap.
        let code = unsafe { (self.exchange)(self.user, &c_request, &mut reply) };
        if code != 0 {
            return Err(code);
        }
        if reply.body_len > rx.len() || reply.hmac_len > hmac.len() {
            return Err(IOTADM_ERR_BUFFER_TOO_SMALL);
        }
        Ok(transport::Reply {
            len: reply.body_len,
            hmac_len: (reply.hmac_len > 0).then_some(reply.hmac_len),
            encoding: None,
        })
    }
}

/// The caller's buffers as slices, refusing `NULL` and overlaps.
///
/// # Safety
/// Each buffer is writable for its length and used by nothing else during the session.
unsafe fn lend<'b>(b: &Buffers) -> Result<dm::Buffers<'b>, c_int> {
    let all = [
        (b.rx as usize, b.rx_len),
        (b.aux as usize, b.aux_len),
        (b.tx as usize, b.tx_len),
        (b.scratch as usize, b.scratch_len),
        (b.hmac as usize, b.hmac_len),
    ];
    for (i, &(start, len)) in all.iter().enumerate() {
        let end = start.checked_add(len).ok_or(IOTADM_ERR_INVALID_ARGUMENT)?;
        for &(other, other_len) in all.iter().skip(i + 1) {
            let other_end = other.saturating_add(other_len);
            if len > 0 && other_len > 0 && start < other_end && other < end {
                return Err(IOTADM_ERR_INVALID_ARGUMENT);
            }
        }
    }
    let out = |p: *mut u8, n: usize| {
        // SAFETY: as promised by the caller; the buffers are disjoint (checked above).
        unsafe { bytes_out(p, n) }.ok_or(IOTADM_ERR_INVALID_ARGUMENT)
    };
    Ok(dm::Buffers {
        rx: out(b.rx, b.rx_len)?,
        aux: out(b.aux, b.aux_len)?,
        tx: out(b.tx, b.tx_len)?,
        scratch: out(b.scratch, b.scratch_len)?,
        hmac: out(b.hmac, b.hmac_len)?,
    })
}

/// Builds the session in its slot, in place. Kept out of line so that what setting it up
/// takes on the stack is gone before the messages are exchanged.
#[inline(never)]
fn start<'s, F, H>(
    slot: &'s mut MaybeUninit<Session>,
    env: &mut Env<'_, '_, F, H>,
    cfg: Config,
    account: &str,
    initiation: Initiation,
) -> Result<&'s mut Session, dm::Error>
where
    F: embedded_storage::nor_flash::NorFlash,
    H: iotadm::tree::Handlers,
{
    Session::new_in(slot, env, cfg, account, initiation)
}

/// Runs one management session with the server of `params->account`, from package 1 to
/// its end, blocking in `transport->exchange` for each message. The session works on the
/// device's tree (server commands, node handlers and FUMO) and asks the user through the
/// device's UI. When FUMO has a report waiting, it goes out as a Generic Alert and
/// `outcome` tells the server's answer; an acknowledged report is forgotten.
///
/// `outcome` (if not `NULL`) is filled on success.
///
/// Returns `IOTADM_OK`, `IOTADM_ERR_TRANSPORT`, `IOTADM_ERR_BUFFER_TOO_SMALL`,
/// `IOTADM_ERR_PROTOCOL`, `IOTADM_ERR_CREDENTIALS_REJECTED`,
/// `IOTADM_ERR_SERVER_NOT_AUTHENTICATED`, `IOTADM_ERR_ACCOUNT`, `IOTADM_ERR_AUTH`,
/// `IOTADM_ERR_ENCODE` or `IOTADM_ERR_INVALID_ARGUMENT`. A session that fails is
/// abandoned: what it changed in the tree stays, as a server expects of a broken session.
///
/// # Safety
/// `device` is an open device; `params`, `transport` and `buffers` are valid, with the
/// pointers they hold; `outcome` is `NULL` or writable.
#[no_mangle]
pub unsafe extern "C" fn iotadm_session_run(
    device: *mut Device,
    params: *const SessionParams,
    transport: *const Transport,
    buffers: *const Buffers,
    outcome: *mut Outcome,
) -> c_int {
    // SAFETY: as promised by the caller.
    let (dev, params, transport, bufs) = match unsafe {
        (
            device_mut(device),
            params.as_ref(),
            transport.as_ref(),
            buffers.as_ref(),
        )
    } {
        (Ok(d), Some(p), Some(t), Some(b)) => (d, p, t, b),
        _ => return IOTADM_ERR_INVALID_ARGUMENT,
    };
    // SAFETY: as promised by the caller.
    let Some(account) = (unsafe { str_in(params.account) }) else {
        return IOTADM_ERR_INVALID_ARGUMENT;
    };
    let Some(exchange) = transport.exchange else {
        return IOTADM_ERR_INVALID_ARGUMENT;
    };
    // SAFETY: as promised by the caller.
    let bufs = match unsafe { lend(bufs) } {
        Ok(b) => b,
        Err(code) => return code,
    };
    let cfg = Config {
        encoding: match params.encoding {
            IOTADM_ENCODING_XML => Encoding::Xml,
            _ => Encoding::Wbxml,
        },
        max_msg_size: params.max_msg_size,
        max_obj_size: match params.max_obj_size {
            0 => Config::default().max_obj_size,
            n => n,
        },
        max_messages: match params.max_messages {
            0 => Config::default().max_messages,
            n => n,
        },
        max_session_secs: match params.max_session_secs {
            0 => Config::default().max_session_secs,
            n => n,
        },
        ..Config::default()
    };
    let initiation = if params.server_initiated {
        Initiation::Server {
            session_id: params.session_id,
        }
    } else {
        Initiation::Client
    };
    let Device {
        tree,
        rng,
        clock,
        ui,
        session,
    } = dev;
    let report: Option<Report> = tree
        .handlers_mut()
        .fumo
        .as_ref()
        .and_then(|f| f.pending_report());
    let alert = report.as_ref().map(Report::alert);
    let alerts = alert.as_slice();
    let mut env = Env {
        tree: &mut *tree,
        ui,
        rng,
        clock: &*clock,
        alerts,
    };
    let result = match start(session, &mut env, cfg, account, initiation) {
        Ok(session) => {
            let c = CTransport {
                user: transport.user,
                exchange,
            };
            Client::new(c, bufs).run(session, &mut env, |_| {})
        }
        Err(e) => Err(ClientError::Session(e)),
    };
    let done = match result {
        Ok(done) => done,
        Err(ClientError::Transport(_)) => return IOTADM_ERR_TRANSPORT,
        Err(ClientError::Session(e)) => return session_error(&e),
    };
    let status = done.alert_status.first().copied().flatten();
    if let (Some(report), Some(fumo)) = (&report, tree.handlers_mut().fumo.as_mut()) {
        if let Err(e) = fumo.report_delivered(report, status) {
            return fumo_error(e);
        }
    }
    // SAFETY: as promised by the caller.
    if let Some(out) = unsafe { outcome.as_mut() } {
        *out = Outcome {
            messages_sent: done.messages_sent,
            aborted_by_server: done.aborted_by_server,
            report_sent: report.is_some(),
            report_status: status.map_or(0, u16::from),
        };
    }
    IOTADM_OK
}
