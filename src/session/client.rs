//! The drivers: [`Client::run`] runs a [`Session`] over a blocking [`Transport`] until it
//! ends, and [`Client::run_async`] over an [`AsyncTransport`], with the caller's buffers.
//! Both are one step machine (the private `Drive`) that writes each request and handles
//! each reply; they differ only in calling the transport or awaiting it. Firmware with its
//! own event loop uses [`Session::start`] and [`Session::handle`] directly instead.
//!
//! The async driver brings no executor and allocates nothing: its future holds the
//! transport's, and lives wherever the caller's task does.

use core::ops::ControlFlow;

use embedded_storage::nor_flash::NorFlash;

use super::{Env, Error, Outcome, Session, Step};
use crate::codec::Encoding;
use crate::transport::{AsyncTransport, Reply, Request, Transport};
use crate::tree::Handlers;

/// The memory a session runs in, all the caller's.
pub struct Buffers<'b> {
    /// Receives server messages: at least the session's `MaxMsgSize`. While the session
    /// answers a large package it keeps the server message here.
    pub rx: &'b mut [u8],
    /// Receives the server's replies while `rx` holds a message whose commands are still
    /// running: acknowledgements and Alert 1222, a few hundred bytes.
    pub aux: &'b mut [u8],
    /// Client messages are written here: at least the server's `MaxMsgSize` to use it all.
    pub tx: &'b mut [u8],
    /// Values on their way into and out of messages; the largest single value read or
    /// written whole (larger ones stream).
    pub scratch: &'b mut [u8],
    /// The reply's `x-syncml-hmac` header.
    pub hmac: &'b mut [u8],
}

/// A message on the wire, for transcripts.
#[derive(Debug, Clone, Copy)]
pub enum Event<'m> {
    /// The client sent `body` to `url`, and the server answered it (the [`Received`]
    /// that follows): a message the transport failed to deliver is not an event.
    ///
    /// [`Received`]: Event::Received
    Sent {
        /// The message.
        body: &'m [u8],
        /// Its encoding.
        encoding: Encoding,
        /// Where it went.
        url: &'m str,
    },
    /// The server replied with `body`.
    Received {
        /// The message.
        body: &'m [u8],
    },
}

/// Why [`Client::run`] or [`Client::run_async`] stopped.
#[derive(Debug)]
pub enum ClientError<E> {
    /// The transport failed.
    Transport(E),
    /// The session failed.
    Session(Error),
}

impl<E> From<Error> for ClientError<E> {
    fn from(e: Error) -> Self {
        ClientError::Session(e)
    }
}

impl<E: core::fmt::Debug> core::fmt::Display for ClientError<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ClientError::Transport(e) => write!(f, "transport: {e:?}"),
            ClientError::Session(e) => write!(f, "session: {e}"),
        }
    }
}

impl<E: core::fmt::Debug> core::error::Error for ClientError<E> {}

/// Runs sessions over a transport: a blocking [`Transport`] with [`run`](Self::run), an
/// [`AsyncTransport`] with [`run_async`](Self::run_async). One client type serves both, as
/// a client is only its transport and buffers; which driver applies is the transport's
/// kind.
pub struct Client<'b, T> {
    transport: T,
    bufs: Buffers<'b>,
}

impl<'b, T> Client<'b, T> {
    /// A client sending through `transport`, in `bufs`.
    pub fn new(transport: T, bufs: Buffers<'b>) -> Self {
        Client { transport, bufs }
    }

    /// The transport back.
    pub fn into_transport(self) -> T {
        self.transport
    }

    /// The transport.
    pub fn transport_mut(&mut self) -> &mut T {
        &mut self.transport
    }
}

impl<T: Transport> Client<'_, T> {
    /// Runs `session` from package 1 to its end; `observe` sees every message. A session
    /// that fails is abandoned ([`Session::abandon`]).
    pub fn run<F: NorFlash, H: Handlers>(
        &mut self,
        session: &mut Session,
        env: &mut Env<'_, '_, F, H>,
        observe: impl FnMut(Event<'_>),
    ) -> Result<Outcome, ClientError<T::Error>> {
        let mut run = Abandon::new(session, env);
        let result = self.drive(run.session, run.env, observe);
        run.ended = result.is_ok();
        result
    }

    /// The exchanges of a session, from package 1 to its end or the first error.
    fn drive<F: NorFlash, H: Handlers>(
        &mut self,
        session: &mut Session,
        env: &mut Env<'_, '_, F, H>,
        mut observe: impl FnMut(Event<'_>),
    ) -> Result<Outcome, ClientError<T::Error>> {
        let mut drive = Drive::start(session, env, &mut self.bufs)?;
        loop {
            let x = drive.exchange(session);
            let reply = self
                .transport
                .exchange(&x.request, x.rx, x.hmac)
                .map_err(transport_failed)?;
            if let ControlFlow::Break(outcome) = drive.handle(reply, session, env, &mut observe)? {
                return Ok(outcome);
            }
        }
    }
}

impl<T: AsyncTransport> Client<'_, T> {
    /// Runs `session` from package 1 to its end, awaiting the transport; `observe` sees
    /// every message. A session that fails is abandoned ([`Session::abandon`]), and so is
    /// one whose run is dropped before it ends (a timeout around it, say): the session is
    /// then over, and the tree's handlers know it.
    ///
    /// The future is not `Send` (the [`Env`] lends the UI, the randomness and the clock as
    /// plain trait objects): it runs on the task that made it, as tasks do on embassy's
    /// executors.
    ///
    /// An async firmware (an embassy task over embassy-net, say) implements [`AsyncTransport`]
    /// over its network stack and awaits this:
    ///
    /// ```
    /// use embedded_storage::nor_flash::NorFlash;
    /// use iotadm::session::{Buffers, Client, ClientError, Env, Outcome, Session};
    /// use iotadm::transport::{AsyncTransport, Reply, Request};
    /// use iotadm::tree::Handlers;
    /// # /// A stand-in for an HTTP exchange over the stack's TCP socket.
    /// # struct Socket;
    /// # #[derive(Debug)]
    /// # struct NetError;
    /// # struct Head { hmac_len: Option<usize> }
    /// # impl Socket {
    /// #     async fn post(&mut self, _: &str, _: &str, _: Option<&str>, _: &[u8]) -> Result<(), NetError> { Ok(()) }
    /// #     async fn read_head(&mut self, _: &mut [u8]) -> Result<Head, NetError> { Ok(Head { hmac_len: None }) }
    /// #     async fn read_body(&mut self, _: &mut [u8]) -> Result<usize, NetError> { Ok(0) }
    /// # }
    ///
    /// /// DM over HTTP on a TCP socket the firmware's network task keeps.
    /// struct Link<'s> {
    ///     socket: &'s mut Socket,
    /// }
    ///
    /// impl AsyncTransport for Link<'_> {
    ///     type Error = NetError;
    ///
    ///     async fn exchange(
    ///         &mut self,
    ///         request: &Request<'_>,
    ///         rx: &mut [u8],
    ///         hmac: &mut [u8],
    ///     ) -> Result<Reply, NetError> {
    ///         // POST the message with its content type and `x-syncml-hmac` header; each await
    ///         // lets the rest of the firmware run while the socket waits.
    ///         let content_type = request.encoding.content_type();
    ///         self.socket.post(request.url, content_type, request.hmac, request.body).await?;
    ///         // The reply's `x-syncml-hmac` value goes to `hmac`, its body to `rx`.
    ///         let head = self.socket.read_head(hmac).await?;
    ///         let len = self.socket.read_body(rx).await?;
    ///         Ok(Reply { len, hmac_len: head.hmac_len, encoding: None })
    ///     }
    /// }
    ///
    /// /// One session, run by the task that owns the socket.
    /// async fn manage<F: NorFlash, H: Handlers>(
    ///     socket: &mut Socket,
    ///     bufs: Buffers<'_>,
    ///     session: &mut Session,
    ///     env: &mut Env<'_, '_, F, H>,
    /// ) -> Result<Outcome, ClientError<NetError>> {
    ///     let mut client = Client::new(Link { socket }, bufs);
    ///     client.run_async(session, env, |_| {}).await
    /// }
    /// ```
    pub async fn run_async<F: NorFlash, H: Handlers>(
        &mut self,
        session: &mut Session,
        env: &mut Env<'_, '_, F, H>,
        observe: impl FnMut(Event<'_>),
    ) -> Result<Outcome, ClientError<T::Error>> {
        let mut run = Abandon::new(session, env);
        let result = self.drive_async(run.session, run.env, observe).await;
        run.ended = result.is_ok();
        result
    }

    /// [`Client::drive`], awaiting the transport.
    async fn drive_async<F: NorFlash, H: Handlers>(
        &mut self,
        session: &mut Session,
        env: &mut Env<'_, '_, F, H>,
        mut observe: impl FnMut(Event<'_>),
    ) -> Result<Outcome, ClientError<T::Error>> {
        let mut drive = Drive::start(session, env, &mut self.bufs)?;
        loop {
            let x = drive.exchange(session);
            let reply = self
                .transport
                .exchange(&x.request, x.rx, x.hmac)
                .await
                .map_err(transport_failed)?;
            if let ControlFlow::Break(outcome) = drive.handle(reply, session, env, &mut observe)? {
                return Ok(outcome);
            }
        }
    }
}

/// A transport's failure, which ends the run. Its error is the caller's to show: it need
/// not be something the log can format.
fn transport_failed<E>(e: E) -> ClientError<E> {
    warn!("transport: exchange failed");
    ClientError::Transport(e)
}

/// A run's hold on its session: the session is abandoned when the hold goes, unless the
/// run marked it `ended`. So a run that fails abandons its session, and so does an async
/// run dropped at an await, where no code of the run's own follows.
struct Abandon<'r, 'e, 't, F: NorFlash, H: Handlers> {
    session: &'r mut Session,
    env: &'r mut Env<'e, 't, F, H>,
    /// The session ended well: nothing to abandon. (A flag rather than asking the session
    /// keeps the abandoning code off the path of a session that ended.)
    ended: bool,
}

impl<'r, 'e, 't, F: NorFlash, H: Handlers> Abandon<'r, 'e, 't, F, H> {
    fn new(session: &'r mut Session, env: &'r mut Env<'e, 't, F, H>) -> Self {
        Abandon {
            session,
            env,
            ended: false,
        }
    }
}

impl<F: NorFlash, H: Handlers> Drop for Abandon<'_, '_, '_, F, H> {
    fn drop(&mut self) {
        if !self.ended {
            self.session.abandon(self.env);
        }
    }
}

/// The drivers' state between two exchanges: the buffers, where the next reply goes and
/// what the session holds.
struct Drive<'d> {
    rx: &'d mut [u8],
    aux: &'d mut [u8],
    tx: &'d mut [u8],
    scratch: &'d mut [u8],
    hmac: &'d mut [u8],
    /// The client message's length in `tx`.
    sent: usize,
    /// The server message being answered is kept in `rx`: replies go to `aux`.
    holding: bool,
    /// The length of the server message kept in `rx` while its commands run.
    held_len: usize,
}

/// One exchange: `request` goes to the transport, which writes the reply's body into `rx`
/// and its `x-syncml-hmac` header into `hmac`.
struct Exchange<'a> {
    request: Request<'a>,
    rx: &'a mut [u8],
    hmac: &'a mut [u8],
}

impl<'d> Drive<'d> {
    /// Checks the buffers and writes package 1.
    fn start<F: NorFlash, H: Handlers>(
        session: &mut Session,
        env: &mut Env<'_, '_, F, H>,
        bufs: &'d mut Buffers<'_>,
    ) -> Result<Self, Error> {
        let Buffers {
            rx,
            aux,
            tx,
            scratch,
            hmac,
        } = bufs;
        if rx.len() < session.cfg.max_msg_size as usize {
            return Err(Error::MessageTooSmall);
        }
        let sent = session.start(env, tx, scratch)?;
        Ok(Drive {
            rx,
            aux,
            tx,
            scratch,
            hmac,
            sent: sent.len,
            holding: false,
            held_len: 0,
        })
    }

    /// The exchange of the message just written.
    fn exchange<'a>(&'a mut self, session: &'a Session) -> Exchange<'a> {
        let body = self.tx.get(..self.sent).unwrap_or(&[]);
        debug!("transport: {} bytes to {}", body.len(), session.url());
        Exchange {
            request: Request {
                url: session.url(),
                encoding: session.encoding(),
                hmac: session.hmac_header(),
                body,
            },
            rx: if self.holding {
                &mut *self.aux
            } else {
                &mut *self.rx
            },
            hmac: &mut *self.hmac,
        }
    }

    /// Hands the server's reply to the session, which writes the next client message
    /// (`Continue`) or ends (`Break`).
    fn handle<F: NorFlash, H: Handlers>(
        &mut self,
        reply: Reply,
        session: &mut Session,
        env: &mut Env<'_, '_, F, H>,
        observe: &mut impl FnMut(Event<'_>),
    ) -> Result<ControlFlow<Outcome>, Error> {
        let (reply_buf, held): (&[u8], &[u8]) = if self.holding {
            (&self.aux[..], self.rx.get(..self.held_len).unwrap_or(&[]))
        } else {
            (&self.rx[..], &[])
        };
        let body = reply_buf.get(..reply.len).unwrap_or(&[]);
        debug!("transport: a reply of {} bytes", body.len());
        // The message counts as sent once the server has answered it: a transcript does
        // not show a message the transport failed to deliver.
        observe(Event::Sent {
            body: self.tx.get(..self.sent).unwrap_or(&[]),
            encoding: session.encoding(),
            url: session.url(),
        });
        observe(Event::Received { body });
        let header = reply.hmac_len.and_then(|n| self.hmac.get(..n));
        match session.handle(env, body, header, held, self.tx, self.scratch)? {
            Step::Done(outcome) => Ok(ControlFlow::Break(outcome)),
            Step::Send(t) => {
                if !self.holding && t.hold {
                    self.held_len = reply.len;
                }
                self.holding = t.hold;
                self.sent = t.len;
                Ok(ControlFlow::Continue(()))
            }
        }
    }
}
