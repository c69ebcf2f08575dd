//! The HTTP binding of [`Transport`] (OMA DM over HTTP), on the blocking `ureq` client.
//!
//! Each exchange is one `POST` of a client message to the account's address (or the
//! `RespURI` the server gave), with
//!
//! * `Content-Type: application/vnd.syncml.dm+wbxml` or `application/vnd.syncml.dm+xml`,
//!   from the message's encoding;
//! * `Accept:` both DM content types ([`ACCEPT`]), so the server may answer in either;
//! * `x-syncml-hmac`, when the session uses `syncml:auth-MAC`.
//!
//! The reply's body is streamed straight into the caller's receive buffer (a reply that does
//! not fit is an error, never truncated), its `x-syncml-hmac` value is copied into the
//! caller's header buffer, and its encoding is read from its `Content-Type`. A reply in any
//! other status than 2xx is an error: DM servers answer every message with `200 OK`, and
//! redirects are not followed, because a redirected `POST` may lose its body (DM moves a
//! session with `RespURI`, not with HTTP redirects).
//!
//! `http://` addresses only; the crate enables no TLS stack. This module never looks
//! inside a message.

use std::boxed::Box;
use std::fmt;
use std::io::{self, Read};
use std::string::String;
use std::time::Duration;

use iotadm::auth::HMAC_HEADER_NAME;
use iotadm::codec::Encoding;
use iotadm::transport::{Reply, Request, Transport};

/// The `Accept` header sent with every request: both DM message types.
pub const ACCEPT: &str = "application/vnd.syncml.dm+wbxml, application/vnd.syncml.dm+xml";

/// Timeouts and identity of an [`HttpTransport`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// Longest time to open the connection; `None` waits as long as the OS does.
    pub connect_timeout: Option<Duration>,
    /// Longest time for a whole exchange, connection, request and reply included;
    /// `None` for no limit.
    pub timeout: Option<Duration>,
    /// The `User-Agent` header; `None` sends none.
    pub user_agent: Option<String>,
    /// An HTTP proxy (`http://host:port`) to go through; `None` connects directly. Proxy
    /// settings in the environment are ignored, so a handset's traffic goes where its
    /// configuration says and nowhere else.
    pub proxy: Option<String>,
}

impl HttpConfig {
    /// Defaults: 10 s to connect, 60 s for an exchange (a server may take a while to build
    /// a large package), no `User-Agent`, no proxy.
    pub fn new() -> Self {
        HttpConfig {
            connect_timeout: Some(Duration::from_secs(10)),
            timeout: Some(Duration::from_secs(60)),
            user_agent: None,
            proxy: None,
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig::new()
    }
}

/// Why an exchange failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum HttpError {
    /// A configured timeout ran out.
    Timeout,
    /// The request could not be sent or the reply not read (connection refused or reset,
    /// malformed HTTP, an address that is not `http://`, a bad proxy setting).
    Connection(Box<dyn std::error::Error + Send + Sync>),
    /// The server answered with a status other than 2xx.
    Status(u16),
    /// The reply's body is larger than the receive buffer.
    ReplyTooLarge {
        /// The receive buffer's size.
        capacity: usize,
    },
    /// The reply's `x-syncml-hmac` value is larger than the header buffer.
    HmacTooLarge {
        /// The header value's length.
        required: usize,
    },
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::Timeout => f.write_str("HTTP exchange timed out"),
            HttpError::Connection(e) => write!(f, "HTTP exchange failed: {e}"),
            HttpError::Status(code) => write!(f, "server answered HTTP status {code}"),
            HttpError::ReplyTooLarge { capacity } => {
                write!(f, "reply larger than the {capacity}-byte receive buffer")
            }
            HttpError::HmacTooLarge { required } => {
                write!(f, "x-syncml-hmac header of {required} bytes does not fit")
            }
        }
    }
}

impl std::error::Error for HttpError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            HttpError::Connection(e) => Some(&**e),
            _ => None,
        }
    }
}

impl From<ureq::Error> for HttpError {
    fn from(e: ureq::Error) -> Self {
        match e {
            ureq::Error::Timeout(_) => HttpError::Timeout,
            ureq::Error::StatusCode(code) => HttpError::Status(code),
            ureq::Error::Io(io) if is_timeout(&io) => HttpError::Timeout,
            other => HttpError::Connection(Box::new(other)),
        }
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
    )
}

/// A [`Transport`] over HTTP. One value keeps its connections alive between the exchanges
/// of a session.
///
/// ```no_run
/// use iotadm::codec::Encoding;
/// use iotadm::transport::{Request, Transport};
/// use iotadm_host::HttpTransport;
///
/// let mut http = HttpTransport::new();
/// let body = b"<SyncML>...</SyncML>";
/// let (mut rx, mut hmac) = ([0u8; 16 * 1024], [0u8; 256]);
/// let request = Request { url: "http://127.0.0.1:8080/dm", encoding: Encoding::Xml, hmac: None, body };
/// let reply = http.exchange(&request, &mut rx, &mut hmac)?;
/// let message = &rx[..reply.len];
/// # let _ = message;
/// # Ok::<(), iotadm_host::HttpError>(())
/// ```
pub struct HttpTransport {
    agent: ureq::Agent,
    config: HttpConfig,
}

impl fmt::Debug for HttpTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpTransport")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl HttpTransport {
    /// A transport with the default [`HttpConfig`].
    pub fn new() -> Self {
        let config = HttpConfig::new();
        HttpTransport {
            agent: agent(&config, None),
            config,
        }
    }

    /// A transport with explicit settings; fails only on a malformed proxy address.
    pub fn with_config(config: HttpConfig) -> Result<Self, HttpError> {
        let proxy = config
            .proxy
            .as_deref()
            .map(ureq::Proxy::new)
            .transpose()
            .map_err(HttpError::from)?;
        Ok(HttpTransport {
            agent: agent(&config, proxy),
            config,
        })
    }

    /// The settings in force.
    pub fn config(&self) -> &HttpConfig {
        &self.config
    }
}

/// An agent that follows no redirect, reports every HTTP status as a reply and ignores
/// proxy settings in the environment.
fn agent(config: &HttpConfig, proxy: Option<ureq::Proxy>) -> ureq::Agent {
    let builder = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .proxy(proxy)
        .timeout_connect(config.connect_timeout)
        .timeout_global(config.timeout);
    let builder = match &config.user_agent {
        Some(ua) => builder.user_agent(ua.as_str()),
        None => builder.user_agent(ureq::config::AutoHeaderValue::None),
    };
    builder.build().into()
}

impl Default for HttpTransport {
    fn default() -> Self {
        HttpTransport::new()
    }
}

/// The encoding a `Content-Type` value names, parameters and case ignored.
pub(crate) fn encoding_of(content_type: &[u8]) -> Option<Encoding> {
    let mime = content_type
        .split(|&b| b == b';')
        .next()
        .unwrap_or(&[])
        .trim_ascii();
    [Encoding::Wbxml, Encoding::Xml]
        .into_iter()
        .find(|e| mime.eq_ignore_ascii_case(e.content_type().as_bytes()))
}

impl Transport for HttpTransport {
    type Error = HttpError;

    fn exchange(
        &mut self,
        request: &Request<'_>,
        rx: &mut [u8],
        hmac: &mut [u8],
    ) -> Result<Reply, HttpError> {
        let mut post = self
            .agent
            .post(request.url)
            .header("Content-Type", request.encoding.content_type())
            .header("Accept", ACCEPT);
        if let Some(value) = request.hmac {
            post = post.header(HMAC_HEADER_NAME, value);
        }
        let mut response = post.send(request.body)?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            return Err(HttpError::Status(status));
        }
        let encoding = response
            .headers()
            .get("Content-Type")
            .and_then(|v| encoding_of(v.as_bytes()));
        let hmac_len = match response.headers().get(HMAC_HEADER_NAME) {
            Some(value) => {
                let value = value.as_bytes();
                let dest = hmac.get_mut(..value.len()).ok_or(HttpError::HmacTooLarge {
                    required: value.len(),
                })?;
                dest.copy_from_slice(value);
                Some(value.len())
            }
            None => None,
        };
        let capacity = rx.len();
        if response
            .body()
            .content_length()
            .is_some_and(|n| n > capacity as u64)
        {
            return Err(HttpError::ReplyTooLarge { capacity });
        }
        let len = read_into(&mut response.body_mut().as_reader(), rx)?;
        Ok(Reply {
            len,
            hmac_len,
            encoding,
        })
    }
}

/// Reads a whole body into `rx`; a body with a byte more than `rx` holds is an error.
fn read_into(reader: &mut impl Read, rx: &mut [u8]) -> Result<usize, HttpError> {
    let capacity = rx.len();
    let mut len = 0;
    while let Some(free) = rx.get_mut(len..) {
        if free.is_empty() {
            // Full: the body must end here.
            let mut probe = [0u8; 1];
            return match reader.read(&mut probe) {
                Ok(0) => Ok(len),
                Ok(_) => Err(HttpError::ReplyTooLarge { capacity }),
                Err(e) => Err(read_error(e)),
            };
        }
        match reader.read(free) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(read_error(e)),
        }
    }
    Ok(len)
}

fn read_error(e: io::Error) -> HttpError {
    if is_timeout(&e) {
        return HttpError::Timeout;
    }
    // ureq wraps its own errors (a timeout, a broken chunked encoding) in io::Error.
    match e.downcast::<ureq::Error>() {
        Ok(inner) => HttpError::from(inner),
        Err(e) => HttpError::Connection(Box::new(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_name_their_encoding() {
        assert_eq!(
            encoding_of(b"application/vnd.syncml.dm+wbxml"),
            Some(Encoding::Wbxml)
        );
        assert_eq!(
            encoding_of(b"Application/VND.SyncML.DM+XML; charset=UTF-8"),
            Some(Encoding::Xml)
        );
        assert_eq!(encoding_of(b"text/html"), None);
        assert_eq!(encoding_of(b""), None);
    }

    #[test]
    fn a_body_that_overflows_the_buffer_is_refused_not_cut() {
        let mut rx = [0u8; 4];
        assert_eq!(read_into(&mut &b"abcd"[..], &mut rx).ok(), Some(4));
        assert!(matches!(
            read_into(&mut &b"abcde"[..], &mut rx),
            Err(HttpError::ReplyTooLarge { capacity: 4 })
        ));
        let mut empty = [0u8; 0];
        assert_eq!(read_into(&mut &b""[..], &mut empty).ok(), Some(0));
    }
}
