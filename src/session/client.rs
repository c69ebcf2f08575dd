//! A blocking driver: runs a [`Session`] over a [`Transport`] until it ends, with the
//! caller's buffers. Firmware with its own event loop uses [`Session::start`] and
//! [`Session::handle`] directly instead.

use embedded_storage::nor_flash::NorFlash;

use super::{Env, Error, Outcome, Session, Step};
use crate::codec::Encoding;
use crate::transport::{Request, Transport};
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
    /// The client sent `body` to `url`.
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

/// Why [`Client::run`] stopped.
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

/// Runs sessions over a transport.
pub struct Client<'b, T> {
    transport: T,
    bufs: Buffers<'b>,
}

impl<'b, T: Transport> Client<'b, T> {
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

    /// Runs `session` from package 1 to its end; `observe` sees every message. A session
    /// that fails is abandoned ([`Session::abandon`]).
    pub fn run<F: NorFlash, H: Handlers>(
        &mut self,
        session: &mut Session,
        env: &mut Env<'_, '_, F, H>,
        observe: impl FnMut(Event<'_>),
    ) -> Result<Outcome, ClientError<T::Error>> {
        let result = self.drive(session, env, observe);
        if result.is_err() {
            session.abandon(env);
        }
        result
    }

    fn drive<F: NorFlash, H: Handlers>(
        &mut self,
        session: &mut Session,
        env: &mut Env<'_, '_, F, H>,
        mut observe: impl FnMut(Event<'_>),
    ) -> Result<Outcome, ClientError<T::Error>> {
        let Buffers {
            rx,
            aux,
            tx,
            scratch,
            hmac,
        } = &mut self.bufs;
        if rx.len() < session.cfg.max_msg_size as usize {
            return Err(ClientError::Session(Error::MessageTooSmall));
        }
        let mut sent = session.start(env, tx, scratch)?;
        // The length of the server message kept in `rx` while its commands run.
        let mut held_len = 0;
        let mut holding = false;
        loop {
            let body = tx.get(..sent.len).unwrap_or(&[]);
            observe(Event::Sent {
                body,
                encoding: session.encoding(),
                url: session.url(),
            });
            let request = Request {
                url: session.url(),
                encoding: session.encoding(),
                hmac: session.hmac_header(),
                body,
            };
            let into: &mut [u8] = if holding { aux } else { rx };
            let reply = self
                .transport
                .exchange(&request, into, hmac)
                .map_err(ClientError::Transport)?;
            let (reply_buf, held): (&[u8], &[u8]) = if holding {
                (&aux[..], rx.get(..held_len).unwrap_or(&[]))
            } else {
                (&rx[..], &[])
            };
            let body = reply_buf.get(..reply.len).unwrap_or(&[]);
            observe(Event::Received { body });
            let header = reply.hmac_len.and_then(|n| hmac.get(..n));
            match session.handle(env, body, header, held, tx, scratch)? {
                Step::Done(outcome) => return Ok(outcome),
                Step::Send(t) => {
                    if !holding && t.hold {
                        held_len = reply.len;
                    }
                    holding = t.hold;
                    sent = t;
                }
            }
        }
    }
}
