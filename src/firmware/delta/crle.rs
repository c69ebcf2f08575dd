//! detools' Conditional Run-Length Encoding: a series of segments, each a kind byte, an
//! unsigned size (LEB128: seven bits a byte, least significant first, bit 7 set on all but
//! the last byte), and then
//!
//! | kind | size is | then |
//! |---|---|---|
//! | 0, scattered | the number of bytes | that many bytes, as they are |
//! | 1, repeated | the number of repetitions | the one byte to repeat |
//!
//! detools' encoder makes a repeated segment of any run of six equal bytes or more.

use super::sequential::{Input, Output};
use super::PatchError;

/// Longest size field accepted: 5 bytes, and the value must fit in 32 bits.
const MAX_SHIFT: u8 = 28;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Kind,
    ScatteredSize,
    Scattered { left: u32 },
    Repetitions,
    RepeatedByte { count: u32 },
}

/// A CRLE decoder: takes compressed bytes in pieces of any size, hands on decompressed
/// bytes as they come (never buffering).
#[derive(Debug, Clone)]
pub(crate) struct Crle {
    state: State,
    value: u32,
    shift: u8,
}

impl Crle {
    pub(crate) const fn new() -> Self {
        Self {
            state: State::Kind,
            value: 0,
            shift: 0,
        }
    }

    /// True between segments: where a CRLE stream may end.
    pub(crate) fn at_boundary(&self) -> bool {
        self.state == State::Kind
    }

    fn size_byte(&mut self, byte: u8) -> Result<Option<u32>, PatchError> {
        if self.shift > MAX_SHIFT {
            return Err(PatchError::Corrupt);
        }
        let v = u64::from(self.value) | u64::from(byte & 0x7f) << self.shift;
        self.value = u32::try_from(v).map_err(|_| PatchError::Corrupt)?;
        self.shift += 7;
        if byte & 0x80 != 0 {
            return Ok(None);
        }
        let v = self.value;
        self.value = 0;
        self.shift = 0;
        Ok(Some(v))
    }

    /// Decodes `input`, all of it, handing the decompressed bytes to `out`.
    pub(crate) fn decode<O: Output>(
        &mut self,
        mut input: &[u8],
        out: &mut O,
    ) -> Result<(), O::Error> {
        while let Some((&byte, rest)) = input.split_first() {
            match self.state {
                // The segment that completes the patch is its last.
                State::Kind if out.complete() => return Err(PatchError::TrailingData.into()),
                State::Kind => {
                    self.state = match byte {
                        0 => State::ScatteredSize,
                        1 => State::Repetitions,
                        _ => return Err(PatchError::Corrupt.into()),
                    };
                    input = rest;
                }
                State::ScatteredSize => {
                    if let Some(left) = self.size_byte(byte)? {
                        self.state = if left == 0 {
                            State::Kind
                        } else {
                            State::Scattered { left }
                        };
                    }
                    input = rest;
                }
                State::Repetitions => {
                    if let Some(count) = self.size_byte(byte)? {
                        self.state = State::RepeatedByte { count };
                    }
                    input = rest;
                }
                State::RepeatedByte { count } => {
                    self.state = State::Kind;
                    input = rest;
                    if count > 0 {
                        out.push(Input::Repeat { byte, count })?;
                    }
                }
                State::Scattered { left } => {
                    let n = usize::try_from(left).unwrap_or(usize::MAX).min(input.len());
                    let (now, rest) = input.split_at(n);
                    // 1 <= n <= left: input is not empty, nor is `left`.
                    self.state = match left - n as u32 {
                        0 => State::Kind,
                        left => State::Scattered { left },
                    };
                    input = rest;
                    out.push(Input::Bytes(now))?;
                }
            }
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

    fn decode(data: &[u8], chunk: usize) -> Result<(Vec<u8>, bool), PatchError> {
        let mut d = Crle::new();
        let mut out = Collect::default();
        for c in data.chunks(chunk) {
            d.decode(c, &mut out)?;
        }
        Ok((out.bytes, d.at_boundary()))
    }

    #[test]
    fn segments_in_any_chunks() {
        // "ab", then 300 x 'z', then "c", then an empty scattered segment.
        let data = [0, 2, b'a', b'b', 1, 0xac, 0x02, b'z', 0, 1, b'c', 0, 0];
        let mut want = b"ab".to_vec();
        want.extend([b'z'; 300]);
        want.push(b'c');
        for chunk in [1, 2, 3, 5, data.len()] {
            assert_eq!(decode(&data, chunk).unwrap(), (want.clone(), true));
        }
    }

    #[test]
    fn long_scattered_segment() {
        let body: Vec<u8> = (0..1000u32).map(|i| (i * 7) as u8).collect();
        let mut data = vec![0, 0xe8, 0x07];
        data.extend_from_slice(&body);
        for chunk in [1, 64, 1003] {
            assert_eq!(decode(&data, chunk).unwrap(), (body.clone(), true));
        }
    }

    #[test]
    fn malformed() {
        assert_eq!(decode(&[2], 1), Err(PatchError::Corrupt));
        assert_eq!(decode(&[0, 1, b'x', 7], 1), Err(PatchError::Corrupt));
        // A size of ten bytes.
        let mut data = vec![0];
        data.extend([0xff; 10]);
        assert_eq!(decode(&data, 1), Err(PatchError::Corrupt));
        // Ended inside a segment: not at a boundary.
        assert_eq!(decode(&[0, 5, 1, 2], 1).unwrap(), (vec![1, 2], false));
        assert_eq!(decode(&[1, 5], 1).unwrap(), (vec![], false));
        assert_eq!(decode(&[1], 1).unwrap(), (vec![], false));
    }

    #[test]
    fn output_errors_stop_decoding() {
        let mut d = Crle::new();
        let mut out = Collect {
            fail: Some(PatchError::TooLong),
            ..Collect::default()
        };
        assert_eq!(
            d.decode(&[0, 3, 1, 2, 3], &mut out),
            Err(PatchError::TooLong)
        );
    }

    #[test]
    fn nothing_after_the_completing_segment() {
        // Complete after 2 bytes: an empty segment after them is still trailing data.
        let mut d = Crle::new();
        let mut out = Collect {
            complete_at: Some(2),
            ..Collect::default()
        };
        assert_eq!(
            d.decode(&[0, 2, 7, 7, 0, 0], &mut out),
            Err(PatchError::TrailingData)
        );
        assert_eq!(out.bytes, [7, 7]);
    }
}
