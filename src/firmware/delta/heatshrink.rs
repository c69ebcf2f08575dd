//! A heatshrink (LZSS) decoder that works in the caller's window and never buffers input.
//!
//! The stream is bits, most significant first. A `1` tag bit is followed by an 8-bit
//! literal; a `0` tag by a back-reference: `window_sz2` bits of index, then
//! `lookahead_sz2` bits of count, and the decoder copies `count + 1` bytes from
//! `index + 1` bytes back in its output (the copy may overlap what it writes). The window
//! starts zeroed. The encoder pads the last byte with zero bits, fewer than any symbol
//! needs.
//!
//! Decoded bytes go to the window ring first and are handed on as slices of it: when the
//! ring wraps and when the input piece ends, so no other buffer is needed.

use super::sequential::{Input, Output};
use super::PatchError;

/// Smallest and largest window (log2) heatshrink has.
pub(crate) const MIN_WINDOW_SZ2: u8 = 4;
pub(crate) const MAX_WINDOW_SZ2: u8 = 15;
/// Smallest lookahead (log2); it must also be below the window.
pub(crate) const MIN_LOOKAHEAD_SZ2: u8 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Tag,
    Literal,
    Index,
    Count { index: u16 },
}

/// The decoder's state; the window itself is lent on each call.
#[derive(Debug, Clone)]
pub(crate) struct Heatshrink {
    window_sz2: u8,
    lookahead_sz2: u8,
    state: State,
    /// Bits of the current field so far, and how many.
    acc: u16,
    got: u8,
    /// Where the next byte goes in the ring, and the first byte not yet handed on (the ring
    /// has at most 2^15 bytes).
    head: u16,
    flushed: u16,
    /// Bits read since the last whole symbol (up to 255), and whether any was set: the
    /// padding, once the stream ends.
    pad_bits: u8,
    pad_set: bool,
}

impl Heatshrink {
    /// A decoder for these parameters, or `None` when heatshrink has no such window.
    pub(crate) fn new(window_sz2: u8, lookahead_sz2: u8) -> Option<Self> {
        let ok = (MIN_WINDOW_SZ2..=MAX_WINDOW_SZ2).contains(&window_sz2)
            && (MIN_LOOKAHEAD_SZ2..window_sz2).contains(&lookahead_sz2);
        ok.then_some(Self {
            window_sz2,
            lookahead_sz2,
            state: State::Tag,
            acc: 0,
            got: 0,
            head: 0,
            flushed: 0,
            pad_bits: 0,
            pad_set: false,
        })
    }

    /// Bytes of window the decoder needs.
    pub(crate) fn window_len(&self) -> usize {
        1 << self.window_sz2
    }

    /// Whether the stream may end here: what follows the last symbol must be zero padding
    /// within its byte. A whole byte or more after it is trailing data.
    pub(crate) fn check_end(&self) -> Result<(), PatchError> {
        if self.pad_bits >= 8 {
            Err(PatchError::TrailingData)
        } else if self.pad_set {
            Err(PatchError::Corrupt)
        } else {
            Ok(())
        }
    }

    /// Decodes `input`, all of it, handing the decompressed bytes to `out`. `window` must
    /// be the same buffer on every call, of [`window_len`](Self::window_len) bytes or more
    /// (zeroed before the first call).
    pub(crate) fn decode<O: Output>(
        &mut self,
        window: &mut [u8],
        input: &[u8],
        out: &mut O,
    ) -> Result<(), O::Error> {
        let size = self.window_len();
        let window = window
            .get_mut(..size)
            .ok_or(PatchError::WindowTooLarge { needed: size })?;
        for &byte in input {
            let mut left = 8u8;
            while left > 0 {
                let field = match self.state {
                    State::Tag => 1,
                    State::Literal => 8,
                    State::Index => self.window_sz2,
                    State::Count { .. } => self.lookahead_sz2,
                };
                let take = (field - self.got).min(left);
                left -= take;
                let bits = (u16::from(byte) >> left) & ((1u16 << take) - 1);
                self.acc = (self.acc << take) | bits;
                self.got += take;
                self.pad_bits = self.pad_bits.saturating_add(take);
                self.pad_set |= bits != 0;
                if self.got < field {
                    continue;
                }
                let value = self.acc;
                self.acc = 0;
                self.got = 0;
                match self.state {
                    State::Tag if value == 1 => self.state = State::Literal,
                    State::Tag => self.state = State::Index,
                    State::Index => self.state = State::Count { index: value },
                    State::Literal => {
                        self.state = State::Tag;
                        self.symbol_done();
                        // value < 256: eight bits.
                        self.emit(window, value as u8, out)?;
                    }
                    State::Count { index } => {
                        self.state = State::Tag;
                        self.symbol_done();
                        let back = usize::from(index) + 1;
                        for _ in 0..=value {
                            // back <= size: the index has window_sz2 bits.
                            let from = (usize::from(self.head) + size - back) & (size - 1);
                            let b = window.get(from).copied().unwrap_or_default();
                            self.emit(window, b, out)?;
                        }
                    }
                }
            }
        }
        self.flush(window, out)
    }

    fn symbol_done(&mut self) {
        self.pad_bits = 0;
        self.pad_set = false;
    }

    fn emit<O: Output>(
        &mut self,
        window: &mut [u8],
        byte: u8,
        out: &mut O,
    ) -> Result<(), O::Error> {
        if let Some(slot) = window.get_mut(usize::from(self.head)) {
            *slot = byte;
        }
        self.head += 1;
        if usize::from(self.head) >= window.len() {
            self.flush(window, out)?;
            self.head = 0;
            self.flushed = 0;
        }
        Ok(())
    }

    fn flush<O: Output>(&mut self, window: &[u8], out: &mut O) -> Result<(), O::Error> {
        if self.head > self.flushed {
            let done = window
                .get(usize::from(self.flushed)..usize::from(self.head))
                .unwrap_or_default();
            self.flushed = self.head;
            out.push(Input::Bytes(done))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::sequential::Collect;
    use super::*;
    use std::vec;
    use std::vec::Vec;

    /// A bit writer for hand-made streams.
    #[derive(Default)]
    struct Bits {
        bytes: Vec<u8>,
        n: usize,
    }

    impl Bits {
        fn put(&mut self, v: u32, bits: u8) -> &mut Self {
            for i in (0..bits).rev() {
                if self.n.is_multiple_of(8) {
                    self.bytes.push(0);
                }
                if (v >> i) & 1 == 1 {
                    *self.bytes.last_mut().unwrap() |= 0x80 >> (self.n % 8);
                }
                self.n += 1;
            }
            self
        }
        fn literal(&mut self, b: u8) -> &mut Self {
            self.put(1, 1).put(u32::from(b), 8)
        }
        fn backref(&mut self, w: u8, l: u8, back: u32, count: u32) -> &mut Self {
            self.put(0, 1).put(back - 1, w).put(count - 1, l)
        }
    }

    fn decode(w: u8, l: u8, data: &[u8], chunk: usize) -> (Vec<u8>, bool) {
        let mut d = Heatshrink::new(w, l).unwrap();
        let mut window = vec![0u8; d.window_len()];
        let mut out = Collect::default();
        for c in data.chunks(chunk) {
            d.decode(&mut window, c, &mut out).unwrap();
        }
        (out.bytes, d.check_end().is_ok())
    }

    #[test]
    fn literals_and_overlapping_backrefs() {
        for (w, l) in [(8, 7), (4, 3), (11, 4), (15, 14), (9, 8)] {
            let mut b = Bits::default();
            b.literal(b'a')
                .literal(b'b')
                .backref(w, l, 2, 5)
                .literal(b'!');
            let want = b"abababa!".to_vec();
            for chunk in [1, 2, b.bytes.len()] {
                assert_eq!(
                    decode(w, l, &b.bytes, chunk),
                    (want.clone(), true),
                    "{w}/{l}"
                );
            }
        }
    }

    #[test]
    fn ring_wraps_and_long_copies() {
        // 4-bit window (16 bytes): 40 literals wrap the ring twice; then a backref of the
        // whole window, longer than the ring itself is not allowed (count < window), so
        // copy 7 from 16 back.
        let (w, l) = (4, 3);
        let mut b = Bits::default();
        let lits: Vec<u8> = (0..40u8).map(|i| i.wrapping_mul(37)).collect();
        for &x in &lits {
            b.literal(x);
        }
        b.backref(w, l, 16, 8).backref(w, l, 1, 8);
        let mut want = lits.clone();
        for _ in 0..8 {
            want.push(want[want.len() - 16]);
        }
        let last = *want.last().unwrap();
        want.extend([last; 8]);
        for chunk in [1, 3, 1000] {
            assert_eq!(decode(w, l, &b.bytes, chunk), (want.clone(), true));
        }
    }

    #[test]
    fn backref_into_the_zeroed_window() {
        let mut b = Bits::default();
        b.backref(8, 7, 200, 3).literal(5);
        assert_eq!(decode(8, 7, &b.bytes, 1).0, [0, 0, 0, 5]);
    }

    #[test]
    fn padding_must_be_short_and_zero() {
        let mut b = Bits::default();
        b.literal(1).literal(2); // 18 bits: 6 bits of padding
        assert!(decode(8, 7, &b.bytes, 1).1);
        let mut bytes = b.bytes.clone();
        *bytes.last_mut().unwrap() |= 1; // a set padding bit
        assert!(!decode(8, 7, &bytes, 1).1);
        let mut bytes = b.bytes.clone();
        bytes.push(0); // a whole byte more
        assert!(!decode(8, 7, &bytes, 1).1);
        // The empty stream ends cleanly.
        assert_eq!(decode(8, 7, &[], 1), (vec![], true));
    }

    #[test]
    fn parameters() {
        assert!(Heatshrink::new(3, 2).is_none());
        assert!(Heatshrink::new(16, 4).is_none());
        assert!(Heatshrink::new(8, 8).is_none());
        assert!(Heatshrink::new(8, 2).is_none());
        assert_eq!(Heatshrink::new(15, 14).unwrap().window_len(), 32768);
        // A window shorter than the parameters need is refused, not indexed past.
        let mut d = Heatshrink::new(8, 7).unwrap();
        let r = d.decode(&mut [0u8; 100], &[0xff], &mut Collect::default());
        assert_eq!(r, Err(PatchError::WindowTooLarge { needed: 256 }));
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut x = 0x1234_5678u32;
        for _ in 0..200 {
            let data: Vec<u8> = (0..64)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    x as u8
                })
                .collect();
            for (w, l) in [(4, 3), (8, 7), (15, 14)] {
                let _ = decode(w, l, &data, 5);
            }
        }
    }
}
