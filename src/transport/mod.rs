//! The engine's only I/O: one request (a client message) and its reply (the server's next
//! message), as DM over HTTP works. The vendor's binding (HTTP, OBEX, SMS, a UART) lives
//! behind [`Transport`], or behind [`AsyncTransport`] where the firmware is async (an
//! embassy task over embassy-net); the host crate `iotadm-host` has a blocking HTTP
//! binding for hosts and tests.

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

/// [`Transport`] for async firmware: the same exchange, awaited, so that the task running
/// a session yields to the rest of the firmware while the server answers.
/// [`Client::run_async`](crate::session::Client::run_async) drives a session over it.
///
/// `exchange` may be pending any number of times before its reply is ready; it wakes its
/// task through the context's waker, as any future does. The future it returns is not
/// required to be `Send`: embedded executors (embassy's among them) poll a task on the
/// thread that spawned it, and a binding over a network stack's socket borrows that
/// stack, which is seldom `Send`. A host that runs sessions on a multi-threaded executor
/// runs them on a local task (or blocks on them), or uses the blocking [`Transport`].
#[allow(
    async_fn_in_trait,
    reason = "the future is deliberately not bound by Send: single-threaded executors"
)]
pub trait AsyncTransport {
    /// The binding's errors.
    type Error: core::fmt::Debug;

    /// Sends `request` and writes the reply's body into `rx` and its `x-syncml-hmac`
    /// header value (if any) into `hmac`, as [`Transport::exchange`]. A reply larger than
    /// `rx` is an error.
    async fn exchange(
        &mut self,
        request: &Request<'_>,
        rx: &mut [u8],
        hmac: &mut [u8],
    ) -> Result<Reply, Self::Error>;
}

/// A borrowed async transport is one too, as for [`Transport`]: a firmware task keeps its
/// link and lends it to each session's client.
impl<T: AsyncTransport> AsyncTransport for &mut T {
    type Error = T::Error;

    async fn exchange(
        &mut self,
        request: &Request<'_>,
        rx: &mut [u8],
        hmac: &mut [u8],
    ) -> Result<Reply, Self::Error> {
        (**self).exchange(request, rx, hmac).await
    }
}
