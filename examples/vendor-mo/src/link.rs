//! [`LinkTransport`]: DM messages over a byte link to whatever holds the handset's IP stack
//! (the application processor, a modem, a host bridge), as the session engine's
//! [`Transport`].
//!
//! The baseband has no HTTP of its own here: it frames each request, writes it to the
//! [`Link`], and reads the framed reply the other end sends back after posting the
//! request to the DM server. The link is a reliable byte stream (an IPC mailbox, USB CDC, a
//! socket); it carries one exchange at a time.
//!
//! ```text
//! request = "VM" 0x01 encoding:u8 url_len:u16be url hmac_len:u16be hmac body_len:u32be body
//! reply   = "VM" 0x81 encoding:u8 hmac_len:u16be hmac body_len:u32be body
//! failure = "VM" 0xE1 status:u16be
//! ```
//!
//! `encoding` is 0 for XML and 1 for WBXML (0xFF in a reply: not known); `hmac_len` 0xFFFF
//! means no `x-syncml-hmac` header. A failure is the other end's word that it could not
//! deliver the request: the server's HTTP status, or 0 when the server did not answer. A
//! reply too large for its buffer is read to its end, so that the next frame is found, and
//! refused. This module never looks inside a DM message.

use iotadm::codec::Encoding;
use iotadm::transport::{Reply, Request, Transport};

/// The first two bytes of every frame.
pub const SYNC: [u8; 2] = *b"VM";
/// The kind of a request frame (device to other end).
pub const KIND_REQUEST: u8 = 0x01;
/// The kind of a reply frame (other end to device).
pub const KIND_REPLY: u8 = 0x81;
/// The kind of a failure frame (other end to device).
pub const KIND_FAILURE: u8 = 0xE1;
/// `hmac_len` of a frame without an `x-syncml-hmac` header.
pub const NO_HMAC: u16 = 0xFFFF;
/// `encoding` of a reply whose encoding the other end does not know.
pub const UNKNOWN_ENCODING: u8 = 0xFF;

/// The `encoding` byte of `encoding`.
pub fn encoding_byte(encoding: Encoding) -> u8 {
    match encoding {
        Encoding::Xml => 0,
        Encoding::Wbxml => 1,
    }
}

/// The encoding an `encoding` byte names, if any.
pub fn encoding_of(byte: u8) -> Option<Encoding> {
    match byte {
        0 => Some(Encoding::Xml),
        1 => Some(Encoding::Wbxml),
        _ => None,
    }
}

/// A reliable, blocking byte stream to the other end.
pub trait Link {
    /// The link's errors (a timeout, a closed channel).
    type Error: core::fmt::Debug;

    /// Writes all of `bytes`.
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), Self::Error>;

    /// Fills `buf` with the next bytes from the other end, waiting for them.
    fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), Self::Error>;

    /// Called when a whole frame has been written: a link that buffers sends it now.
    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

impl<L: Link + ?Sized> Link for &mut L {
    type Error = L::Error;

    fn write_all(&mut self, bytes: &[u8]) -> Result<(), Self::Error> {
        (**self).write_all(bytes)
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), Self::Error> {
        (**self).read_exact(buf)
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        (**self).flush()
    }
}

/// Why an exchange over a [`LinkTransport`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkError<E> {
    /// The link failed.
    Link(E),
    /// The bytes received are not a reply or failure frame.
    Framing,
    /// The request does not fit a frame (a URL or header of 65,535 bytes or more, a body
    /// of 4 GiB or more).
    RequestTooLarge,
    /// The reply, or its header, is larger than the buffer it goes to.
    ReplyTooLarge,
    /// The other end could not deliver the request: the server's HTTP status, or 0 when
    /// the server did not answer.
    Remote(u16),
}

impl<E: core::fmt::Debug> core::fmt::Display for LinkError<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            LinkError::Link(e) => write!(f, "link: {e:?}"),
            LinkError::Framing => f.write_str("malformed frame"),
            LinkError::RequestTooLarge => f.write_str("request does not fit a frame"),
            LinkError::ReplyTooLarge => f.write_str("reply larger than its buffer"),
            LinkError::Remote(0) => f.write_str("the server did not answer"),
            LinkError::Remote(s) => write!(f, "the server answered HTTP {s}"),
        }
    }
}

impl<E: core::fmt::Debug> core::error::Error for LinkError<E> {}

/// The session's [`Transport`] over a [`Link`]; see the module docs for the frames.
#[derive(Debug)]
pub struct LinkTransport<L> {
    link: L,
}

impl<L: Link> LinkTransport<L> {
    /// A transport over `link` (or `&mut link`, to keep it).
    pub fn new(link: L) -> Self {
        LinkTransport { link }
    }

    /// The link back.
    pub fn into_link(self) -> L {
        self.link
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), LinkError<L::Error>> {
        self.link.write_all(bytes).map_err(LinkError::Link)
    }

    fn read(&mut self, buf: &mut [u8]) -> Result<(), LinkError<L::Error>> {
        self.link.read_exact(buf).map_err(LinkError::Link)
    }

    fn read_u16(&mut self) -> Result<u16, LinkError<L::Error>> {
        let mut b = [0u8; 2];
        self.read(&mut b)?;
        Ok(u16::from_be_bytes(b))
    }

    fn read_u32(&mut self) -> Result<u32, LinkError<L::Error>> {
        let mut b = [0u8; 4];
        self.read(&mut b)?;
        Ok(u32::from_be_bytes(b))
    }

    /// Reads `len` bytes into the start of `buf`, or reads them to nothing (so that the
    /// stream stays in step) when `buf` is too small: whether they fit.
    fn read_into(&mut self, len: usize, buf: &mut [u8]) -> Result<bool, LinkError<L::Error>> {
        if let Some(dst) = buf.get_mut(..len) {
            self.read(dst)?;
            return Ok(true);
        }
        let mut left = len;
        let mut sink = [0u8; 64];
        while left > 0 {
            let n = left.min(sink.len());
            self.read(sink.get_mut(..n).unwrap_or(&mut []))?;
            left -= n;
        }
        Ok(false)
    }

    fn send(&mut self, request: &Request<'_>) -> Result<(), LinkError<L::Error>> {
        let url_len = u16::try_from(request.url.len())
            .ok()
            .filter(|&n| n != u16::MAX)
            .ok_or(LinkError::RequestTooLarge)?;
        let hmac_len = match request.hmac {
            Some(h) => u16::try_from(h.len())
                .ok()
                .filter(|&n| n != NO_HMAC)
                .ok_or(LinkError::RequestTooLarge)?,
            None => NO_HMAC,
        };
        let body_len = u32::try_from(request.body.len()).map_err(|_| LinkError::RequestTooLarge)?;
        self.write(&[
            SYNC[0],
            SYNC[1],
            KIND_REQUEST,
            encoding_byte(request.encoding),
        ])?;
        self.write(&url_len.to_be_bytes())?;
        self.write(request.url.as_bytes())?;
        self.write(&hmac_len.to_be_bytes())?;
        if let Some(h) = request.hmac {
            self.write(h.as_bytes())?;
        }
        self.write(&body_len.to_be_bytes())?;
        self.write(request.body)?;
        self.link.flush().map_err(LinkError::Link)
    }

    fn receive(&mut self, rx: &mut [u8], hmac: &mut [u8]) -> Result<Reply, LinkError<L::Error>> {
        let mut head = [0u8; 3];
        self.read(&mut head)?;
        let [s0, s1, kind] = head;
        if [s0, s1] != SYNC {
            return Err(LinkError::Framing);
        }
        match kind {
            KIND_REPLY => {}
            KIND_FAILURE => return Err(LinkError::Remote(self.read_u16()?)),
            _ => return Err(LinkError::Framing),
        }
        let mut encoding = [0u8; 1];
        self.read(&mut encoding)?;
        let [encoding] = encoding;
        let hmac_len = match self.read_u16()? {
            NO_HMAC => None,
            n => Some(usize::from(n)),
        };
        let hmac_fits = match hmac_len {
            Some(n) => self.read_into(n, hmac)?,
            None => true,
        };
        let len = usize::try_from(self.read_u32()?).map_err(|_| LinkError::ReplyTooLarge)?;
        // The body is read (or skipped) whole before refusing a header too large, so that
        // the link is ready for the next exchange either way.
        if !self.read_into(len, rx)? || !hmac_fits {
            return Err(LinkError::ReplyTooLarge);
        }
        Ok(Reply {
            len,
            hmac_len,
            encoding: encoding_of(encoding),
        })
    }
}

impl<L: Link> Transport for LinkTransport<L> {
    type Error = LinkError<L::Error>;

    fn exchange(
        &mut self,
        request: &Request<'_>,
        rx: &mut [u8],
        hmac: &mut [u8],
    ) -> Result<Reply, Self::Error> {
        self.send(request)?;
        self.receive(rx, hmac)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use std::collections::VecDeque;
    use std::vec::Vec;

    use super::*;

    /// A link whose other end is scripted: what the device wrote, and what it will read.
    #[derive(Default)]
    struct Loop {
        written: Vec<u8>,
        to_read: VecDeque<u8>,
        flushes: usize,
    }

    impl Link for Loop {
        type Error = &'static str;

        fn write_all(&mut self, bytes: &[u8]) -> Result<(), Self::Error> {
            self.written.extend_from_slice(bytes);
            Ok(())
        }

        fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), Self::Error> {
            for b in buf {
                *b = self.to_read.pop_front().ok_or("closed")?;
            }
            Ok(())
        }

        fn flush(&mut self) -> Result<(), Self::Error> {
            self.flushes += 1;
            Ok(())
        }
    }

    fn reply_frame(encoding: u8, hmac: Option<&[u8]>, body: &[u8]) -> Vec<u8> {
        let mut f = Vec::from(*b"VM\x81");
        f.push(encoding);
        match hmac {
            Some(h) => {
                f.extend_from_slice(&(h.len() as u16).to_be_bytes());
                f.extend_from_slice(h);
            }
            None => f.extend_from_slice(&NO_HMAC.to_be_bytes()),
        }
        f.extend_from_slice(&(body.len() as u32).to_be_bytes());
        f.extend_from_slice(body);
        f
    }

    fn request<'a>(hmac: Option<&'a str>) -> Request<'a> {
        Request {
            url: "http://dm.example/x",
            encoding: Encoding::Wbxml,
            hmac,
            body: b"\x02\x00",
        }
    }

    #[test]
    fn frames_the_request_and_reads_the_reply() {
        let mut link = Loop::default();
        link.to_read
            .extend(reply_frame(0, Some(b"algorithm=MD5"), b"<SyncML/>"));
        let mut t = LinkTransport::new(&mut link);
        let (mut rx, mut hmac) = ([0u8; 16], [0u8; 16]);
        let reply = t
            .exchange(&request(Some("mac=1")), &mut rx, &mut hmac)
            .unwrap();
        assert_eq!(
            reply,
            Reply {
                len: 9,
                hmac_len: Some(13),
                encoding: Some(Encoding::Xml)
            }
        );
        assert_eq!(&rx[..9], b"<SyncML/>");
        assert_eq!(&hmac[..13], b"algorithm=MD5");
        let mut expected = Vec::from(*b"VM\x01\x01\x00\x13http://dm.example/x\x00\x05mac=1");
        expected.extend_from_slice(b"\x00\x00\x00\x02\x02\x00");
        assert_eq!(link.written, expected);
        assert_eq!(link.flushes, 1);
    }

    #[test]
    fn a_reply_too_large_is_read_through_and_refused() {
        let mut link = Loop::default();
        link.to_read.extend(reply_frame(1, None, &[7u8; 100]));
        link.to_read.extend(reply_frame(0xFF, None, b"ok"));
        let mut t = LinkTransport::new(&mut link);
        let (mut rx, mut hmac) = ([0u8; 16], [0u8; 4]);
        assert_eq!(
            t.exchange(&request(None), &mut rx, &mut hmac),
            Err(LinkError::ReplyTooLarge)
        );
        // The next exchange finds its frame.
        let reply = t.exchange(&request(None), &mut rx, &mut hmac).unwrap();
        assert_eq!((reply.len, reply.hmac_len, reply.encoding), (2, None, None));
        assert_eq!(link.written[..4], *b"VM\x01\x01");
        assert!(link.written.windows(2).any(|w| w == NO_HMAC.to_be_bytes()));
    }

    #[test]
    fn failures_and_garbage_are_errors() {
        let mut link = Loop::default();
        link.to_read.extend(*b"VM\xE1\x01\xF4");
        link.to_read.extend(*b"XX\x81");
        let mut t = LinkTransport::new(&mut link);
        let (mut rx, mut hmac) = ([0u8; 16], [0u8; 4]);
        assert_eq!(
            t.exchange(&request(None), &mut rx, &mut hmac),
            Err(LinkError::Remote(500))
        );
        assert_eq!(
            t.exchange(&request(None), &mut rx, &mut hmac),
            Err(LinkError::Framing)
        );
        assert_eq!(
            t.exchange(&request(None), &mut rx, &mut hmac),
            Err(LinkError::Link("closed"))
        );
        let long = std::string::String::from_utf8(std::vec![b'a'; 70_000]).unwrap();
        let too_long = Request {
            url: &long,
            ..request(None)
        };
        assert_eq!(
            t.exchange(&too_long, &mut rx, &mut hmac),
            Err(LinkError::RequestTooLarge)
        );
    }
}
