//! The engine's only I/O: one request (a client message) and its reply (the server's next
//! message), as DM over HTTP works. The vendor's binding (HTTP, OBEX, SMS, a UART) lives
//! behind this trait; the host crate `iotadm-host` has an HTTP binding for hosts and
//! tests.

use crate::codec::Encoding;

/// A client message to send.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// Where to send it: the account's server address (or the `RespURI` the server gave).
    pub url: &'a str,
    /// The message's encoding; its content type is [`Encoding::content_type`].
    pub encoding: Encoding,
    /// The `x-syncml-hmac` header value, when the session uses HMAC integrity.
    pub hmac: Option<&'a str>,
    /// The message.
    pub body: &'a [u8],
}

/// The server's reply to a [`Request`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply {
    /// Bytes of the message written to the receive buffer.
    pub len: usize,
    /// Bytes of the reply's `x-syncml-hmac` header value written to the header buffer, if
    /// the reply had one.
    pub hmac_len: Option<usize>,
    /// The reply's encoding, from its content type, when the binding knows it.
    pub encoding: Option<Encoding>,
}

/// Carries client messages to the server and its replies back.
pub trait Transport {
    /// The binding's errors.
    type Error: core::fmt::Debug;

    /// Sends `request` and writes the reply's body into `rx` and its `x-syncml-hmac`
    /// header value (if any) into `hmac`. A reply larger than `rx` is an error.
    fn exchange(
        &mut self,
        request: &Request<'_>,
        rx: &mut [u8],
        hmac: &mut [u8],
    ) -> Result<Reply, Self::Error>;
}

/// A borrowed transport is a transport: a firmware keeps its link and lends it to each
/// session's [`Client`](crate::session::Client).
impl<T: Transport + ?Sized> Transport for &mut T {
    type Error = T::Error;

    fn exchange(
        &mut self,
        request: &Request<'_>,
        rx: &mut [u8],
        hmac: &mut [u8],
    ) -> Result<Reply, Self::Error> {
        (**self).exchange(request, rx, hmac)
    }
}
