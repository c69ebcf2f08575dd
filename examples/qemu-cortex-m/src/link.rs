//! DM messages over the UART: a small framing, and [`UartLink`], the
//! [`Transport`](iotadm::transport::Transport) the session engine runs over.
//!
//! The host end (a bridge on 127.0.0.1, in `tests/common/qemu.rs`) relays each request to
//! the DM server over HTTP and sends the reply back. `docs/qemu.md` gives the format:
//!
//! ```text
//! frame    = "IQ" kind:u8 len:u32le payload[len] crc:u32le   (CRC-32/ISO-HDLC of kind..payload)
//! 0x01 exchange   url_len:u16le url encoding:u8 hmac_len:u16le hmac body   (device -> host)
//! 0x02 bootstrap  (empty)                                                  (device -> host)
//! 0x81 reply      encoding:u8 hmac_len:u16le hmac body                     (host -> device)
//! 0x82 document   the bootstrap message                                    (host -> device)
//! 0xE1 failure    status:u16le text                                        (host -> device)
//! ```
//!
//! `encoding` is 0 for XML and 1 for WBXML (0xFF in a reply: unknown); `hmac_len` 0xFFFF
//! means no `x-syncml-hmac` header. A reply is read straight into the session's buffers;
//! one that does not fit is read to its end (so the next frame is found) and refused.
//! This module never looks inside a DM message.

use iotadm::codec::Encoding;
use iotadm::transport::{Reply, Request, Transport};

use crate::uart::{Deadline, Uart};

const SYNC: [u8; 2] = *b"IQ";
const KIND_EXCHANGE: u8 = 0x01;
const KIND_BOOTSTRAP: u8 = 0x02;
const KIND_REPLY: u8 = 0x81;
const KIND_DOCUMENT: u8 = 0x82;
const KIND_FAILURE: u8 = 0xE1;
const NO_HMAC: u16 = 0xFFFF;

const CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

/// Why an exchange over the link failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LinkError {
    /// No complete answer came in time.
    Timeout,
    /// The bytes received are not a frame of the expected kind.
    Framing,
    /// A frame failed its CRC.
    Checksum,
    /// The request does not fit a frame (a URL or header over 65,534 bytes).
    RequestTooLarge,
    /// The reply or its header does not fit the buffer it goes to.
    ReplyTooLarge,
    /// The host could not deliver the request: the server's HTTP status, or 0 when it did
    /// not answer.
    Host(u16),
}

impl core::fmt::Display for LinkError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            LinkError::Timeout => f.write_str("no reply in time"),
            LinkError::Framing => f.write_str("malformed frame"),
            LinkError::Checksum => f.write_str("frame failed its CRC"),
            LinkError::RequestTooLarge => f.write_str("request does not fit a frame"),
            LinkError::ReplyTooLarge => f.write_str("reply larger than its buffer"),
            LinkError::Host(0) => f.write_str("the server did not answer"),
            LinkError::Host(s) => write!(f, "the server answered HTTP {s}"),
        }
    }
}

impl core::error::Error for LinkError {}

/// The DM link over UART0.
#[derive(Debug)]
pub struct UartLink {
    uart: Uart,
    timeout_ms: u32,
}

impl UartLink {
    /// A link over `uart` that waits at most `timeout_ms` for each reply.
    pub fn new(uart: Uart, timeout_ms: u32) -> Self {
        UartLink { uart, timeout_ms }
    }

    /// Asks the host for the bootstrap document (the factory provisioning of the DM
    /// account) and writes it into `out`: its length.
    pub fn bootstrap(&mut self, out: &mut [u8]) -> Result<usize, LinkError> {
        self.send(KIND_BOOTSTRAP, &[])?;
        let mut frame = self.receive()?;
        match frame.kind {
            KIND_DOCUMENT => {
                let n = frame.left as usize;
                match out.get_mut(..n) {
                    Some(dst) => {
                        frame.bytes(dst)?;
                        frame.finish()?;
                        Ok(n)
                    }
                    None => {
                        frame.skip_rest()?;
                        frame.finish()?;
                        Err(LinkError::ReplyTooLarge)
                    }
                }
            }
            _ => Err(frame.refuse()),
        }
    }

    fn send(&mut self, kind: u8, pieces: &[&[u8]]) -> Result<(), LinkError> {
        let len = pieces
            .iter()
            .try_fold(0u32, |n, p| n.checked_add(u32::try_from(p.len()).ok()?))
            .ok_or(LinkError::RequestTooLarge)?;
        let mut crc = CRC.digest();
        let head = [kind];
        let len = len.to_le_bytes();
        self.uart.write(&SYNC);
        for piece in [&head[..], &len[..]]
            .into_iter()
            .chain(pieces.iter().copied())
        {
            crc.update(piece);
            self.uart.write(piece);
        }
        self.uart.write(&crc.finalize().to_le_bytes());
        Ok(())
    }

    /// Waits for the next frame's header; the caller reads its payload.
    fn receive(&mut self) -> Result<Incoming<'_>, LinkError> {
        let mut deadline = self.uart.deadline(self.timeout_ms);
        // Find the sync bytes: anything before them is noise.
        let mut prev = None;
        loop {
            let b = self.uart.read(&mut deadline).ok_or(LinkError::Timeout)?;
            if prev == Some(SYNC[0]) && b == SYNC[1] {
                break;
            }
            prev = Some(b);
        }
        let mut frame = Incoming {
            uart: &mut self.uart,
            deadline,
            crc: CRC.digest(),
            left: 5,
            kind: 0,
        };
        frame.kind = frame.byte()?;
        let mut len = [0u8; 4];
        frame.bytes(&mut len)?;
        frame.left = u32::from_le_bytes(len);
        Ok(frame)
    }
}

/// A frame being received: the payload bytes not read yet, and the running CRC.
struct Incoming<'u> {
    uart: &'u mut Uart,
    deadline: Deadline,
    crc: crc::Digest<'static, u32>,
    left: u32,
    kind: u8,
}

impl Incoming<'_> {
    fn byte(&mut self) -> Result<u8, LinkError> {
        self.left = self.left.checked_sub(1).ok_or(LinkError::Framing)?;
        let b = self
            .uart
            .read(&mut self.deadline)
            .ok_or(LinkError::Timeout)?;
        self.crc.update(&[b]);
        Ok(b)
    }

    fn bytes(&mut self, out: &mut [u8]) -> Result<(), LinkError> {
        for b in out {
            *b = self.byte()?;
        }
        Ok(())
    }

    fn u16(&mut self) -> Result<u16, LinkError> {
        let mut b = [0u8; 2];
        self.bytes(&mut b)?;
        Ok(u16::from_le_bytes(b))
    }

    fn skip(&mut self, n: u32) -> Result<(), LinkError> {
        for _ in 0..n {
            self.byte()?;
        }
        Ok(())
    }

    fn skip_rest(&mut self) -> Result<(), LinkError> {
        self.skip(self.left)
    }

    /// Checks the CRC once the whole payload is read.
    fn finish(mut self) -> Result<(), LinkError> {
        if self.left != 0 {
            return Err(LinkError::Framing);
        }
        let want = self.crc.finalize();
        let mut got = [0u8; 4];
        for b in &mut got {
            *b = self
                .uart
                .read(&mut self.deadline)
                .ok_or(LinkError::Timeout)?;
        }
        if u32::from_le_bytes(got) == want {
            Ok(())
        } else {
            Err(LinkError::Checksum)
        }
    }

    /// Consumes a frame of an unexpected kind: a failure report becomes its error.
    fn refuse(mut self) -> LinkError {
        if self.kind != KIND_FAILURE {
            return LinkError::Framing;
        }
        let status = match self.u16() {
            Ok(s) => s,
            Err(e) => return e,
        };
        match self.skip_rest().and_then(|()| self.finish()) {
            Ok(()) => LinkError::Host(status),
            Err(e) => e,
        }
    }
}

fn encoding_code(e: Encoding) -> u8 {
    match e {
        Encoding::Xml => 0,
        Encoding::Wbxml => 1,
    }
}

/// The link outlives sessions: each session's [`Client`](iotadm::session::Client) borrows
/// it (`&mut UartLink` is a transport too).
impl Transport for UartLink {
    type Error = LinkError;

    fn exchange(
        &mut self,
        request: &Request<'_>,
        rx: &mut [u8],
        hmac: &mut [u8],
    ) -> Result<Reply, LinkError> {
        let url = request.url.as_bytes();
        let url_len = u16::try_from(url.len()).map_err(|_| LinkError::RequestTooLarge)?;
        let (mac, mac_len) = match request.hmac {
            Some(h) => {
                let n = u16::try_from(h.len())
                    .ok()
                    .filter(|&n| n != NO_HMAC)
                    .ok_or(LinkError::RequestTooLarge)?;
                (h.as_bytes(), n)
            }
            None => (&[][..], NO_HMAC),
        };
        self.send(
            KIND_EXCHANGE,
            &[
                &url_len.to_le_bytes(),
                url,
                &[encoding_code(request.encoding)],
                &mac_len.to_le_bytes(),
                mac,
                request.body,
            ],
        )?;
        let mut frame = self.receive()?;
        if frame.kind != KIND_REPLY {
            return Err(frame.refuse());
        }
        let encoding = match frame.byte()? {
            0 => Some(Encoding::Xml),
            1 => Some(Encoding::Wbxml),
            _ => None,
        };
        let mut too_large = false;
        let hmac_len = match frame.u16()? {
            NO_HMAC => None,
            n => match hmac.get_mut(..usize::from(n)) {
                Some(dst) => {
                    frame.bytes(dst)?;
                    Some(usize::from(n))
                }
                None => {
                    frame.skip(u32::from(n))?;
                    too_large = true;
                    None
                }
            },
        };
        let len = frame.left as usize;
        match rx.get_mut(..len) {
            Some(dst) if !too_large => frame.bytes(dst)?,
            _ => {
                frame.skip_rest()?;
                too_large = true;
            }
        }
        frame.finish()?;
        if too_large {
            return Err(LinkError::ReplyTooLarge);
        }
        Ok(Reply {
            len,
            hmac_len,
            encoding,
        })
    }
}
