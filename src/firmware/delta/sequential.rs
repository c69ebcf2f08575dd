//! The sequential patch's command stream, after decompression: the data-format patch size
//! (zero here), then `diff size, diff bytes, extra size, extra bytes, adjustment` until the
//! new image is complete. Sizes are detools' signed variable-length integers.

use super::{ApplyError, DeltaSink, DeltaSource, PatchError};

/// Bytes of the "from" image read at a time for the diff step; the same buffer carries the
/// sum to the sink, and the expanded bytes of a repeated run of extra data.
pub(crate) const FROM_CHUNK: usize = 64;

/// Longest size field accepted: 6 bits, then 7 a byte, up to 62 bits (9 bytes).
const SIZE_MAX_SHIFT: u8 = 55;

/// Decompressed patch bytes as a decoder hands them on: a slice, or a byte repeated (CRLE's
/// runs, which may be long and are never expanded in RAM).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Input<'a> {
    /// These bytes, in order.
    Bytes(&'a [u8]),
    /// `byte`, `count` times.
    Repeat { byte: u8, count: u32 },
}

impl Input<'_> {
    fn len(&self) -> usize {
        match self {
            Self::Bytes(b) => b.len(),
            Self::Repeat { count, .. } => to_usize(*count),
        }
    }

    fn first(&self) -> Option<u8> {
        match self {
            Self::Bytes(b) => b.first().copied(),
            Self::Repeat { byte, count } => (*count > 0).then_some(*byte),
        }
    }

    /// Drops the first `n` bytes (`n` at most `len`).
    fn advance(&mut self, n: usize) {
        match self {
            Self::Bytes(b) => *b = b.get(n..).unwrap_or_default(),
            Self::Repeat { count, .. } => {
                *count = count.saturating_sub(u32::try_from(n).unwrap_or(u32::MAX));
            }
        }
    }
}

/// A 32-bit count as an index (usize has 32 bits or more on every target the crate runs).
fn to_usize(n: u32) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// Where a decoder hands its decompressed bytes.
pub(crate) trait Output {
    /// What handing them on can fail with.
    type Error: From<PatchError>;
    /// Takes decompressed bytes, all of them.
    fn push(&mut self, input: Input<'_>) -> Result<(), Self::Error>;
    /// True once no more bytes are wanted: the patch is complete.
    fn complete(&self) -> bool;
}

/// The command stream, with the images it reads and writes: what the decoders feed.
pub(crate) struct Apply<'a, S, K> {
    pub(crate) seq: &'a mut Sequential,
    pub(crate) from: &'a mut S,
    pub(crate) to: &'a mut K,
}

impl<S: DeltaSource, K: DeltaSink> Output for Apply<'_, S, K> {
    type Error = ApplyError<S::Error, K::Error>;
    fn push(&mut self, input: Input<'_>) -> Result<(), Self::Error> {
        self.seq.push(input, self.from, self.to)
    }
    fn complete(&self) -> bool {
        self.seq.is_done()
    }
}

/// Collects decompressed bytes, for the decoders' tests.
#[cfg(test)]
#[derive(Default)]
pub(crate) struct Collect {
    pub(crate) bytes: std::vec::Vec<u8>,
    /// Fails every push with this.
    pub(crate) fail: Option<PatchError>,
    /// Says the patch is complete once this many bytes arrived.
    pub(crate) complete_at: Option<usize>,
}

#[cfg(test)]
impl Output for Collect {
    type Error = PatchError;
    fn push(&mut self, input: Input<'_>) -> Result<(), PatchError> {
        if let Some(e) = self.fail {
            return Err(e);
        }
        match input {
            Input::Bytes(b) => self.bytes.extend_from_slice(b),
            Input::Repeat { byte, count } => {
                self.bytes.extend(std::iter::repeat_n(byte, count as usize))
            }
        }
        Ok(())
    }
    fn complete(&self) -> bool {
        self.complete_at.is_some_and(|n| self.bytes.len() >= n)
    }
}

/// detools' signed size: the first byte has a continuation bit (7), a sign bit (6) and six
/// value bits; each further byte a continuation bit and seven value bits, least
/// significant first.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SizeField {
    value: u64,
    shift: u8,
    negative: bool,
    started: bool,
}

impl SizeField {
    /// Takes one byte; the value once it is complete.
    pub(crate) fn push(&mut self, byte: u8) -> Result<Option<i64>, PatchError> {
        if self.started {
            if self.shift > SIZE_MAX_SHIFT {
                return Err(PatchError::Corrupt);
            }
            self.value |= u64::from(byte & 0x7f) << self.shift;
            self.shift += 7;
        } else {
            self.started = true;
            self.negative = byte & 0x40 != 0;
            self.value = u64::from(byte & 0x3f);
            self.shift = 6;
        }
        if byte & 0x80 != 0 {
            return Ok(None);
        }
        self.started = false;
        // At most 62 bits: it fits. detools never writes a negative zero.
        let v = i64::try_from(self.value).map_err(|_| PatchError::Corrupt)?;
        match (self.negative, v) {
            (false, v) => Ok(Some(v)),
            (true, 0) => Err(PatchError::Corrupt),
            (true, v) => Ok(Some(-v)),
        }
    }

    /// True between the first and the last byte of a value.
    pub(crate) fn in_progress(&self) -> bool {
        self.started
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    DataFormat,
    DiffSize,
    DiffData { left: u32 },
    ExtraSize,
    ExtraData { left: u32 },
    Adjustment,
    Done,
}

/// The command stream's state: where in it the patch is, how much of the new image is
/// written, and where in the old one the next diff reads.
#[derive(Debug, Clone)]
pub(crate) struct Sequential {
    state: State,
    size: SizeField,
    to_size: u32,
    produced: u32,
    from_pos: i64,
    buf: [u8; FROM_CHUNK],
}

impl Sequential {
    pub(crate) const fn new(to_size: u32) -> Self {
        Self {
            state: if to_size == 0 {
                State::Done
            } else {
                State::DataFormat
            },
            size: SizeField {
                value: 0,
                shift: 0,
                negative: false,
                started: false,
            },
            to_size,
            produced: 0,
            from_pos: 0,
            buf: [0; FROM_CHUNK],
        }
    }

    pub(crate) fn produced(&self) -> u32 {
        self.produced
    }

    pub(crate) fn to_size(&self) -> u32 {
        self.to_size
    }

    /// True once the last adjustment is read and every byte of the new image written.
    pub(crate) fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Checks a diff or extra size against what is left of the new image.
    fn data_size(&self, v: i64) -> Result<u32, PatchError> {
        let v = u64::try_from(v).map_err(|_| PatchError::Corrupt)?;
        let left = self.to_size.saturating_sub(self.produced);
        u32::try_from(v)
            .ok()
            .filter(|&v| v <= left)
            .ok_or(PatchError::TooLong)
    }

    fn size_done(&mut self, v: i64, from_len: u32) -> Result<(), PatchError> {
        self.state = match self.state {
            State::DataFormat => match v {
                0 => State::DiffSize,
                v if v > 0 => return Err(PatchError::UnsupportedDataFormat),
                _ => return Err(PatchError::Corrupt),
            },
            State::DiffSize => {
                let left = self.data_size(v)?;
                // The whole run must lie in the old image: checked before a byte is written.
                let end = self.from_pos.checked_add(i64::from(left));
                if left > 0 && (self.from_pos < 0 || end.is_none_or(|e| e > i64::from(from_len))) {
                    return Err(PatchError::FromOutOfRange);
                }
                if left == 0 {
                    State::ExtraSize
                } else {
                    State::DiffData { left }
                }
            }
            State::ExtraSize => match self.data_size(v)? {
                0 => State::Adjustment,
                left => State::ExtraData { left },
            },
            State::Adjustment => {
                self.from_pos = self.from_pos.checked_add(v).ok_or(PatchError::Corrupt)?;
                if self.produced == self.to_size {
                    State::Done
                } else {
                    State::DiffSize
                }
            }
            State::DiffData { .. } | State::ExtraData { .. } | State::Done => {
                return Err(PatchError::Corrupt)
            }
        };
        Ok(())
    }

    /// Takes decompressed patch bytes, all of them: reads the old image and writes the new
    /// one as the commands say.
    pub(crate) fn push<S: DeltaSource, K: DeltaSink>(
        &mut self,
        mut input: Input<'_>,
        from: &mut S,
        to: &mut K,
    ) -> Result<(), ApplyError<S::Error, K::Error>> {
        while input.len() > 0 {
            match self.state {
                State::Done => return Err(PatchError::TrailingData.into()),
                State::DiffData { left } => {
                    let n = input.len().min(to_usize(left)).min(FROM_CHUNK);
                    // n <= FROM_CHUNK, and `from_pos` was checked against the old image when
                    // the diff size was read.
                    let n32 = n as u32;
                    let at =
                        u32::try_from(self.from_pos).map_err(|_| PatchError::FromOutOfRange)?;
                    let buf = self.buf.get_mut(..n).unwrap_or_default();
                    from.read_at(at, buf).map_err(ApplyError::Source)?;
                    match input {
                        Input::Bytes(d) => {
                            for (o, &d) in buf.iter_mut().zip(d) {
                                *o = o.wrapping_add(d);
                            }
                        }
                        Input::Repeat { byte, .. } => {
                            for o in buf.iter_mut() {
                                *o = o.wrapping_add(byte);
                            }
                        }
                    }
                    to.write(buf).map_err(ApplyError::Sink)?;
                    input.advance(n);
                    self.produced += n32;
                    self.from_pos += i64::from(n32);
                    self.state = match left - n32 {
                        0 => State::ExtraSize,
                        left => State::DiffData { left },
                    };
                }
                State::ExtraData { left } => {
                    let n = match input {
                        Input::Bytes(d) => {
                            let n = d.len().min(to_usize(left));
                            to.write(d.get(..n).unwrap_or_default())
                                .map_err(ApplyError::Sink)?;
                            n
                        }
                        Input::Repeat { byte, count } => {
                            let n = to_usize(count.min(left)).min(FROM_CHUNK);
                            let buf = self.buf.get_mut(..n).unwrap_or_default();
                            buf.fill(byte);
                            to.write(buf).map_err(ApplyError::Sink)?;
                            n
                        }
                    };
                    input.advance(n);
                    // n <= left.
                    let n32 = n as u32;
                    self.produced += n32;
                    self.state = match left - n32 {
                        0 => State::Adjustment,
                        left => State::ExtraData { left },
                    };
                }
                State::DataFormat | State::DiffSize | State::ExtraSize | State::Adjustment => {
                    // A run of zero bytes at a command's start is a series of empty commands
                    // (diff 0, extra 0, adjustment 0) that change nothing: skip them whole,
                    // so that a long CRLE run cannot keep the loop busy.
                    if let (State::DiffSize, false, Input::Repeat { byte: 0, count }) =
                        (self.state, self.size.in_progress(), input)
                    {
                        let whole = count - count % 3;
                        if whole > 0 {
                            input.advance(to_usize(whole));
                            continue;
                        }
                    }
                    let Some(byte) = input.first() else { break };
                    input.advance(1);
                    if let Some(v) = self.size.push(byte)? {
                        self.size_done(v, from.len())?;
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    pub(crate) struct Mem<'a>(pub(crate) &'a [u8]);

    impl DeltaSource for Mem<'_> {
        type Error = ();
        fn len(&self) -> u32 {
            self.0.len() as u32
        }
        fn read_at(&mut self, offset: u32, buf: &mut [u8]) -> Result<(), ()> {
            let at = offset as usize;
            buf.copy_from_slice(self.0.get(at..at + buf.len()).ok_or(())?);
            Ok(())
        }
    }

    impl DeltaSink for Vec<u8> {
        type Error = ();
        fn write(&mut self, data: &[u8]) -> Result<(), ()> {
            self.extend_from_slice(data);
            Ok(())
        }
    }

    /// detools' `pack_size`.
    pub(crate) fn size(v: i64) -> Vec<u8> {
        let mut out = Vec::new();
        let mut m = v.unsigned_abs();
        let mut first = (m & 0x3f) as u8;
        if v < 0 {
            first |= 0x40;
        }
        m >>= 6;
        out.push(first);
        while m > 0 {
            *out.last_mut().unwrap() |= 0x80;
            out.push((m & 0x7f) as u8);
            m >>= 7;
        }
        out
    }

    fn run(to_size: u32, from: &[u8], stream: &[u8]) -> Result<(Vec<u8>, bool), PatchError> {
        let mut seq = Sequential::new(to_size);
        let mut out = Vec::new();
        for b in stream.chunks(1) {
            seq.push(Input::Bytes(b), &mut Mem(from), &mut out)
                .map_err(|e| match e {
                    ApplyError::Patch(p) => p,
                    _ => panic!("I/O error"),
                })?;
        }
        Ok((out, seq.is_done()))
    }

    fn cmd(diff: &[u8], extra: &[u8], adj: i64) -> Vec<u8> {
        let mut v = size(diff.len() as i64);
        v.extend_from_slice(diff);
        v.extend(size(extra.len() as i64));
        v.extend_from_slice(extra);
        v.extend(size(adj));
        v
    }

    #[test]
    fn size_fields_round_trip() {
        for v in [
            0i64,
            1,
            63,
            64,
            -1,
            -64,
            8191,
            1 << 20,
            -(1 << 40),
            (1 << 62) - 1,
        ] {
            let mut f = SizeField::default();
            let bytes = size(v);
            let mut got = None;
            for (i, &b) in bytes.iter().enumerate() {
                got = f.push(b).unwrap();
                assert_eq!(got.is_some(), i + 1 == bytes.len());
            }
            assert_eq!(got, Some(v));
        }
        // Ten bytes: more than 62 bits.
        let mut f = SizeField::default();
        let r: Result<Vec<_>, _> = [0x80u8; 10].iter().map(|&b| f.push(b)).collect();
        assert_eq!(r, Err(PatchError::Corrupt));
    }

    #[test]
    fn diff_extra_and_adjustment() {
        let from = b"abcdefghij";
        // Move to 2, copy "cde" + 1 each, insert "XY", back to 0, copy "ab" unchanged.
        let mut s = size(0);
        s.extend(size(0)); // diff 0
        s.extend(size(0)); // extra 0
        s.extend(size(2)); // adjust to 2
        s.extend(cmd(&[1, 1, 1], b"XY", -5));
        s.extend(cmd(&[0, 0], b"", 0));
        let (out, done) = run(7, from, &s).unwrap();
        assert_eq!(out, b"defXYab");
        assert!(done);
    }

    #[test]
    fn malformed_streams() {
        let from = b"0123456789";
        // Data-format patch present.
        assert_eq!(
            run(1, from, &size(3)),
            Err(PatchError::UnsupportedDataFormat)
        );
        assert_eq!(run(1, from, &size(-3)), Err(PatchError::Corrupt));
        // Diff longer than the new image.
        let mut s = size(0);
        s.extend(size(5));
        assert_eq!(run(4, from, &s), Err(PatchError::TooLong));
        // Extra longer than what is left.
        assert_eq!(run(4, from, &[0, 2, 0, 0, 3]), Err(PatchError::TooLong));
        // A negative zero.
        assert_eq!(run(4, from, &[0x40]), Err(PatchError::Corrupt));
        // Negative size.
        let mut s = size(0);
        s.extend(size(-1));
        assert_eq!(run(4, from, &s), Err(PatchError::Corrupt));
        // Diff reading past the old image's end, and before its start.
        let mut s = size(0);
        s.extend(size(0));
        s.extend(size(0));
        s.extend(size(8));
        s.extend(size(3));
        assert_eq!(run(4, from, &s), Err(PatchError::FromOutOfRange));
        let mut s = size(0);
        s.extend(size(0));
        s.extend(size(0));
        s.extend(size(-1));
        s.extend(size(1));
        assert_eq!(run(4, from, &s), Err(PatchError::FromOutOfRange));
        // Bytes after the end.
        let mut s = size(0);
        s.extend(cmd(&[0], b"", 0));
        assert_eq!(run(1, from, &s).unwrap().0, b"0");
        s.push(0);
        assert_eq!(run(1, from, &s), Err(PatchError::TrailingData));
        // An empty image takes no command at all.
        assert_eq!(run(0, from, &[0]), Err(PatchError::TrailingData));
        // Ended early: not done.
        let mut s = size(0);
        s.extend(cmd(&[0, 0], b"", 0));
        s.pop();
        let (out, done) = run(2, from, &s).unwrap();
        assert_eq!((out.as_slice(), done), (&b"01"[..], false));
    }

    #[test]
    fn repeated_runs() {
        let from = [10u8; 200];
        let mut seq = Sequential::new(150);
        let mut out = Vec::new();
        let mut push = |seq: &mut Sequential, i: Input<'_>| {
            seq.push(i, &mut Mem(&from), &mut out)
                .map_err(|_| ())
                .unwrap()
        };
        // Data format, then a billion empty commands (one run), then diff 100 of +1.
        push(&mut seq, Input::Bytes(&[0]));
        push(
            &mut seq,
            Input::Repeat {
                byte: 0,
                count: 3_000_000_000,
            },
        );
        push(&mut seq, Input::Bytes(&size(100)));
        push(
            &mut seq,
            Input::Repeat {
                byte: 1,
                count: 100,
            },
        );
        push(&mut seq, Input::Bytes(&size(50)));
        push(&mut seq, Input::Repeat { byte: 7, count: 50 });
        push(&mut seq, Input::Bytes(&[0]));
        assert!(seq.is_done());
        assert_eq!(&out[..100], &[11u8; 100][..]);
        assert_eq!(&out[100..], &[7u8; 50][..]);
        // A run longer than what is left of the image is trailing data.
        let mut seq = Sequential::new(2);
        let mut out = Vec::new();
        seq.push(Input::Bytes(&[0, 0, 2]), &mut Mem(&from), &mut out)
            .map_err(|_| ())
            .unwrap();
        let r = seq.push(
            Input::Repeat { byte: 9, count: 5 },
            &mut Mem(&from),
            &mut out,
        );
        assert!(matches!(
            r,
            Err(ApplyError::Patch(PatchError::TrailingData))
        ));
        assert_eq!(out, [9, 9]);
    }

    #[test]
    fn io_errors_pass_through() {
        struct Broken;
        impl DeltaSource for Broken {
            type Error = u8;
            fn len(&self) -> u32 {
                100
            }
            fn read_at(&mut self, _: u32, _: &mut [u8]) -> Result<(), u8> {
                Err(7)
            }
        }
        let mut seq = Sequential::new(5);
        let mut out = Vec::new();
        let r = seq.push(Input::Bytes(&[0, 5, 1]), &mut Broken, &mut out);
        assert_eq!(r, Err(ApplyError::Source(7)));
    }
}
