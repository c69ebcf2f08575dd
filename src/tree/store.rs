//! Power-safe persistence of the tree's run-time state on a NOR flash region.
//!
//! The region is split into two banks. The active bank starts with a header record holding
//! its generation, followed by data records appended in order. Every record is a run of
//! whole write units: `magic, kind, length, sequence, payload, CRC-32`, padded with `0xFF`.
//! A record torn by a power cut fails its CRC, and replay stops there.
//!
//! When the active bank is full (or its tail is torn), the state is written afresh into the
//! other bank, and that bank's header is written last: until it is, the old bank is the one
//! a restart finds. Records of an Atomic are bracketed by `Begin`/`Commit`; a transaction
//! without its `Commit` (rolled back, or cut by power loss) is skipped at replay.
//!
//! | offset in bank | record |
//! |---|---|
//! | 0 | header: format version, generation |
//! | then | data records: put an entry, remove an entry, begin/commit/abort a transaction |
//!
//! Payloads are `postcard`; this module only frames them. The framing depends on nothing
//! but the flash's write size: a record is as long as its payload, whatever the record
//! buffer it was written from. A record longer than the buffer that reads it back is
//! recognised (its checksum is taken piece by piece) and reported, never taken for a torn
//! tail, so a smaller buffer refuses the log and leaves it as it is. Each user of a store
//! names its payload format; a bank of an older format of the same user is read (and
//! reported, for the user to migrate), a newer one is refused and left alone.

use embedded_storage::nor_flash::{NorFlash, NorFlashError, NorFlashErrorKind};

const MAGIC: u8 = 0x1D;
const HEAD: usize = 8;
const CRC: usize = 4;

pub(crate) const KIND_HEADER: u8 = 1;
pub(crate) const KIND_PUT: u8 = 2;
pub(crate) const KIND_REMOVE: u8 = 3;
pub(crate) const KIND_BEGIN: u8 = 4;
pub(crate) const KIND_COMMIT: u8 = 5;
pub(crate) const KIND_ABORT: u8 = 6;
pub(crate) const KIND_RENAME: u8 = 7;

const CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

/// Why the store failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum StoreError {
    /// The flash driver reported an error.
    Flash(#[cfg_attr(feature = "defmt", defmt(Debug2Format))] NorFlashErrorKind),
    /// The region cannot hold the state (even after compaction), or a record is larger
    /// than the record buffer.
    Full,
    /// The region is too small or not aligned to the flash's erase size.
    Layout,
    /// A record is longer than the record buffer reading it: the log was written with a
    /// larger one. Nothing was changed.
    RecordTooLarge,
    /// The active bank was written in this payload format, newer than the one read.
    /// Nothing was changed.
    Format(u16),
}

impl<E: NorFlashError> From<E> for StoreError {
    fn from(e: E) -> Self {
        StoreError::Flash(e.kind())
    }
}

impl core::fmt::Display for StoreError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            StoreError::Flash(kind) => write!(f, "flash error: {kind:?}"),
            StoreError::Full => f.write_str("tree store full"),
            StoreError::Layout => f.write_str("tree store region too small or misaligned"),
            StoreError::RecordTooLarge => {
                f.write_str("a stored record is larger than the record buffer")
            }
            StoreError::Format(v) => write!(f, "store written in format {v}, newer than this one"),
        }
    }
}

impl core::error::Error for StoreError {}

/// One valid record read back.
pub(crate) struct Record<'b> {
    pub(crate) kind: u8,
    pub(crate) payload: &'b [u8],
}

/// What reading at a position found.
enum Read {
    /// A valid record and the position after it.
    Record { kind: u8, len: usize, next: u32 },
    /// A valid record longer than the buffer: its kind, and the position after it.
    TooLarge { next: u32 },
    /// Erased flash: the end of the log.
    End,
    /// Anything else: a torn or foreign record.
    Garbage,
}

/// A position in the active bank's log, for reading its records one by one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cursor {
    pos: u32,
    /// Inside an aborted or unfinished transaction: records before this are skipped.
    skip_until: Option<u32>,
}

pub(crate) struct Store<F> {
    flash: F,
    /// The payload format this store writes (its user's).
    format: u16,
    /// The payload format of the active bank: `format`, or an older one to migrate.
    stored_format: u16,
    bank_size: u32,
    active: u32,
    generation: u32,
    pos: u32,
    seq: u32,
}

fn align(len: usize, to: usize) -> usize {
    len.div_ceil(to).saturating_mul(to)
}

impl<F: NorFlash> Store<F> {
    /// The unit records are padded to.
    const UNIT: usize = if F::WRITE_SIZE > 4 { F::WRITE_SIZE } else { 4 };

    /// The store on `flash`, not yet opened, for payloads of `format` (1 or more):
    /// [`Store::open`] finds its active bank.
    pub(crate) const fn closed(flash: F, format: u16) -> Self {
        Store {
            flash,
            format,
            stored_format: format,
            bank_size: 0,
            active: 0,
            generation: 0,
            pos: 0,
            seq: 0,
        }
    }

    /// Opens the store in place, finding the active bank (formatting an empty region).
    pub(crate) fn open(&mut self, scratch: &mut [u8]) -> Result<(), StoreError> {
        let capacity = self.flash.capacity() as u32;
        let bank_size = capacity / 2;
        if F::ERASE_SIZE == 0
            || bank_size == 0
            || !(bank_size as usize).is_multiple_of(F::ERASE_SIZE)
            || F::READ_SIZE > HEAD
        {
            return Err(StoreError::Layout);
        }
        let mut best: Option<(u32, u32, u16)> = None;
        for bank in 0..2u32 {
            if let Some((format, generation)) =
                Self::header(&mut self.flash, bank * bank_size, scratch)?
            {
                if best.is_none_or(|(_, g, _)| generation > g) {
                    best = Some((bank, generation, format));
                }
            }
        }
        if let Some((_, _, format)) = best {
            if format > self.format || format == 0 {
                return Err(StoreError::Format(format));
            }
        }
        self.bank_size = bank_size;
        self.active = 0;
        self.generation = 0;
        self.pos = 0;
        self.seq = 0;
        self.stored_format = self.format;
        match best {
            Some((bank, generation, format)) => {
                self.active = bank;
                self.generation = generation;
                self.stored_format = format;
                self.pos = self.header_len() as u32;
            }
            None => self.format(scratch, 1)?,
        }
        Ok(())
    }

    /// The payload format of the active bank: older than the store's own when the log
    /// was written by an earlier layout, and then to be rewritten
    /// ([`compact`](Self::compact) writes the store's own).
    pub(crate) fn stored_format(&self) -> u16 {
        self.stored_format
    }

    fn header_len(&self) -> usize {
        align(HEAD + 6 + CRC, Self::UNIT)
    }

    /// The bank header at `base`: its payload format and generation.
    fn header(
        flash: &mut F,
        base: u32,
        scratch: &mut [u8],
    ) -> Result<Option<(u16, u32)>, StoreError> {
        match Self::read_at(flash, base, base, scratch)? {
            Read::Record {
                kind: KIND_HEADER,
                len: 6,
                ..
            } => Ok(le_u16(scratch, HEAD).zip(le_u32(scratch, HEAD + 2))),
            _ => Ok(None),
        }
    }

    /// Erases bank `self.active` and writes its header with `generation`.
    fn format(&mut self, scratch: &mut [u8], generation: u32) -> Result<(), StoreError> {
        let base = self.active * self.bank_size;
        self.flash.erase(base, base + self.bank_size)?;
        self.generation = generation;
        self.seq = 0;
        self.write_header(scratch)?;
        self.pos = self.header_len() as u32;
        Ok(())
    }

    fn write_header(&mut self, scratch: &mut [u8]) -> Result<(), StoreError> {
        let [f0, f1] = self.format.to_le_bytes();
        let [g0, g1, g2, g3] = self.generation.to_le_bytes();
        let payload = [f0, f1, g0, g1, g2, g3];
        let base = self.active * self.bank_size;
        let at = base;
        let len = Self::frame(scratch, KIND_HEADER, self.generation, &payload)?;
        self.flash
            .write(at, scratch.get(..len).ok_or(StoreError::Full)?)?;
        Ok(())
    }

    /// Lays a record out in `scratch` around a payload already there or given; returns the
    /// padded length.
    fn frame(scratch: &mut [u8], kind: u8, seq: u32, payload: &[u8]) -> Result<usize, StoreError> {
        let body = scratch
            .get_mut(HEAD..HEAD + payload.len())
            .ok_or(StoreError::Full)?;
        body.copy_from_slice(payload);
        Self::seal(scratch, kind, seq, payload.len())
    }

    /// Writes the header and CRC around the `len`-byte payload at `scratch[HEAD..]`.
    fn seal(scratch: &mut [u8], kind: u8, seq: u32, len: usize) -> Result<usize, StoreError> {
        let total = align(HEAD + len + CRC, Self::UNIT);
        let len16 = u16::try_from(len).map_err(|_| StoreError::Full)?;
        let rec = scratch.get_mut(..total).ok_or(StoreError::Full)?;
        let [l0, l1] = len16.to_le_bytes();
        let [s0, s1, s2, s3] = seq.to_le_bytes();
        put(rec, 0, &[MAGIC, kind, l0, l1, s0, s1, s2, s3])?;
        let crc = CRC32.checksum(rec.get(..HEAD + len).ok_or(StoreError::Full)?);
        put(rec, HEAD + len, &crc.to_le_bytes())?;
        rec.get_mut(HEAD + len + CRC..)
            .ok_or(StoreError::Full)?
            .fill(0xFF);
        Ok(total)
    }

    /// Reads the record at absolute `pos` (bank at `base`) into `scratch`.
    fn read_at(flash: &mut F, base: u32, pos: u32, scratch: &mut [u8]) -> Result<Read, StoreError> {
        let bank_end = base + flash.capacity() as u32 / 2;
        if pos + HEAD as u32 > bank_end {
            return Ok(Read::End);
        }
        let head = scratch.get_mut(..HEAD).ok_or(StoreError::Full)?;
        flash.read(pos, head)?;
        if head.iter().all(|&b| b == 0xFF) {
            return Ok(Read::End);
        }
        let (Some(&magic), Some(&kind), Some(len)) = (head.first(), head.get(1), le_u16(head, 2))
        else {
            return Ok(Read::Garbage);
        };
        if magic != MAGIC {
            return Ok(Read::Garbage);
        }
        let len = usize::from(len);
        let total = align(HEAD + len + CRC, Self::UNIT);
        let read_len = align(HEAD + len + CRC, F::READ_SIZE.max(1));
        if pos as usize + total > bank_end as usize {
            return Ok(Read::Garbage);
        }
        if read_len > scratch.len() {
            return Self::check_large(flash, pos, len, total, scratch);
        }
        let rest = scratch.get_mut(HEAD..read_len).ok_or(StoreError::Full)?;
        flash.read(pos + HEAD as u32, rest)?;
        let stored = le_u32(scratch, HEAD + len);
        let body = scratch.get(..HEAD + len).ok_or(StoreError::Full)?;
        if Some(CRC32.checksum(body)) != stored {
            return Ok(Read::Garbage);
        }
        Ok(Read::Record {
            kind,
            len,
            next: pos + total as u32,
        })
    }

    /// A valid record of `len` payload bytes at `pos` that does not fit `scratch`: its
    /// checksum is taken through `scratch` piece by piece, so that a long record is told
    /// from a torn one.
    fn check_large(
        flash: &mut F,
        pos: u32,
        len: usize,
        total: usize,
        scratch: &mut [u8],
    ) -> Result<Read, StoreError> {
        // Whole read units per piece.
        let unit = F::READ_SIZE.max(1);
        let piece = scratch.len() / unit * unit;
        if piece < unit.max(CRC) {
            return Ok(Read::Garbage);
        }
        let body = HEAD + len;
        let mut digest = CRC32.digest();
        let mut at = 0usize;
        let mut stored = [0u8; CRC];
        while at < body + CRC {
            let want = align((body + CRC - at).min(piece), unit).min(piece);
            let buf = scratch.get_mut(..want).ok_or(StoreError::Full)?;
            flash.read(pos + at as u32, buf)?;
            // The piece's bytes of the body go to the checksum, those of the stored CRC
            // are kept (a piece may hold part of both).
            let split = body.saturating_sub(at).min(want);
            let (covered, rest) = buf.split_at(split);
            digest.update(covered);
            let crc_at = (at + split).saturating_sub(body);
            for (slot, &b) in stored.iter_mut().skip(crc_at).zip(rest) {
                *slot = b;
            }
            at += want;
        }
        if digest.finalize() == u32::from_le_bytes(stored) {
            Ok(Read::TooLarge {
                next: pos + total as u32,
            })
        } else {
            Ok(Read::Garbage)
        }
    }

    /// A cursor at the first record of the active bank.
    pub(crate) fn cursor(&self) -> Cursor {
        Cursor {
            pos: self.active * self.bank_size + self.header_len() as u32,
            skip_until: None,
        }
    }

    /// The next data record at or after `cur` that a replay applies (of a committed
    /// transaction, or outside one), read into `scratch`; `None` at the end of the log
    /// (then `out` says whether the tail is torn). `out` also collects what the records
    /// read on the way say of transactions. A record longer than `scratch` is an error
    /// ([`StoreError::RecordTooLarge`]). Cursors are independent: another may read ahead
    /// and this one goes on where it was.
    pub(crate) fn next<'b>(
        &mut self,
        cur: &mut Cursor,
        scratch: &'b mut [u8],
        out: &mut Replayed,
    ) -> Result<Option<Record<'b>>, StoreError> {
        let base = self.active * self.bank_size;
        loop {
            let pos = cur.pos;
            match Self::read_at(&mut self.flash, base, pos, scratch)? {
                Read::End => {
                    self.pos = pos - base;
                    return Ok(None);
                }
                Read::Garbage => {
                    self.pos = pos - base;
                    out.damaged = true;
                    return Ok(None);
                }
                Read::TooLarge { .. } => return Err(StoreError::RecordTooLarge),
                Read::Record { kind, len, next } => {
                    self.seq = self.seq.max(read_seq(scratch).wrapping_add(1));
                    cur.pos = next;
                    if let Some(end) = cur.skip_until {
                        if pos < end {
                            continue;
                        }
                        cur.skip_until = None;
                    }
                    match kind {
                        KIND_BEGIN => {
                            let txn = read_txn(scratch, len);
                            out.max_txn = out.max_txn.max(txn);
                            match self.transaction_fate(scratch, base, next, txn)? {
                                Fate::Committed => {}
                                Fate::Aborted(end) => cur.skip_until = Some(end),
                                Fate::Open(end) => {
                                    cur.skip_until = Some(end);
                                    out.dangling = Some(txn);
                                }
                            }
                        }
                        KIND_COMMIT | KIND_ABORT | KIND_HEADER => {}
                        _ => {
                            let payload = scratch.get(HEAD..HEAD + len).ok_or(StoreError::Full)?;
                            return Ok(Some(Record { kind, payload }));
                        }
                    }
                }
            }
        }
    }

    /// Replays the active bank: `apply` gets every data record of committed transactions
    /// (and every record outside a transaction), in order. The tree reads its log through
    /// [`next`](Self::next); the CDMA lock's small log is read whole.
    #[cfg(any(test, feature = "cdma"))]
    pub(crate) fn replay(
        &mut self,
        scratch: &mut [u8],
        mut apply: impl FnMut(Record<'_>) -> Result<(), StoreError>,
    ) -> Result<Replayed, StoreError> {
        let mut cur = self.cursor();
        let mut out = Replayed::default();
        while let Some(rec) = self.next(&mut cur, scratch, &mut out)? {
            apply(rec)?;
        }
        Ok(out)
    }

    /// Looks ahead from `pos` for the end of transaction `txn`.
    fn transaction_fate(
        &mut self,
        scratch: &mut [u8],
        base: u32,
        mut pos: u32,
        txn: u32,
    ) -> Result<Fate, StoreError> {
        loop {
            match Self::read_at(&mut self.flash, base, pos, scratch)? {
                Read::Record { kind, len, next } => {
                    if matches!(kind, KIND_COMMIT | KIND_ABORT) && read_txn(scratch, len) == txn {
                        return Ok(if kind == KIND_COMMIT {
                            Fate::Committed
                        } else {
                            Fate::Aborted(next)
                        });
                    }
                    pos = next;
                }
                // A record too long to read cannot end the transaction: it is one of its.
                Read::TooLarge { next } => pos = next,
                Read::End | Read::Garbage => return Ok(Fate::Open(pos)),
            }
        }
    }

    /// Bytes in a bank.
    pub(crate) fn bank_size(&self) -> usize {
        self.bank_size as usize
    }

    /// Bytes left in the active bank.
    pub(crate) fn free(&self) -> usize {
        (self.bank_size - self.pos) as usize
    }

    /// The size a record with a `len`-byte payload takes.
    pub(crate) fn record_size(len: usize) -> usize {
        align(HEAD + len + CRC, Self::UNIT)
    }

    /// Appends a record whose `len`-byte payload is already at `scratch[payload_start()..]`.
    pub(crate) fn append(
        &mut self,
        scratch: &mut [u8],
        kind: u8,
        len: usize,
    ) -> Result<(), StoreError> {
        let total = Self::record_size(len);
        if total > self.free() {
            return Err(StoreError::Full);
        }
        Self::seal(scratch, kind, self.seq, len)?;
        let at = self.active * self.bank_size + self.pos;
        // Advance first: whatever happens to the write, these bytes are no longer erased.
        self.pos += total as u32;
        self.seq = self.seq.wrapping_add(1);
        self.flash
            .write(at, scratch.get(..total).ok_or(StoreError::Full)?)?;
        Ok(())
    }

    /// Appends a transaction marker.
    pub(crate) fn append_marker(
        &mut self,
        scratch: &mut [u8],
        kind: u8,
        txn: u32,
    ) -> Result<(), StoreError> {
        let body = scratch.get_mut(HEAD..HEAD + 4).ok_or(StoreError::Full)?;
        body.copy_from_slice(&txn.to_le_bytes());
        self.append(scratch, kind, 4)
    }

    /// Where a payload goes in the record buffer.
    pub(crate) const fn payload_start() -> usize {
        HEAD
    }

    /// Room for a payload in a record buffer of `len` bytes.
    pub(crate) fn payload_room(len: usize) -> usize {
        len.saturating_sub(HEAD + CRC + Self::UNIT)
    }

    /// Writes the whole state afresh into the other bank: `next` puts the next record's
    /// payload at `scratch[payload_start()..]` and returns its kind and length, or `None`.
    pub(crate) fn compact(
        &mut self,
        scratch: &mut [u8],
        mut next: impl FnMut(&mut [u8]) -> Result<Option<(u8, usize)>, StoreError>,
    ) -> Result<(), StoreError> {
        let (old, old_pos, old_seq, old_generation) =
            (self.active, self.pos, self.seq, self.generation);
        let target = 1 - old;
        let base = target * self.bank_size;
        self.flash.erase(base, base + self.bank_size)?;
        self.active = target;
        self.pos = self.header_len() as u32;
        self.seq = 0;
        let mut result = Ok(());
        loop {
            match next(scratch) {
                Ok(Some((kind, len))) => {
                    if let Err(e) = self.append(scratch, kind, len) {
                        result = Err(e);
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        if result.is_ok() {
            // The header last: until it is written, a restart finds the old bank.
            self.generation = old_generation.wrapping_add(1);
            result = self.write_header(scratch);
        }
        if result.is_err() {
            // The old bank is untouched and still the valid one.
            self.active = old;
            self.pos = old_pos;
            self.seq = old_seq;
            self.generation = old_generation;
        }
        result
    }

    /// Gives the flash back.
    pub(crate) fn into_flash(self) -> F {
        self.flash
    }
}

enum Fate {
    Committed,
    /// Aborted; skip everything before this position.
    Aborted(u32),
    /// Never ended (power was cut); everything up to the end of the log is its.
    Open(u32),
}

/// What a replay found besides the records.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Replayed {
    /// The log's tail is torn or foreign: compact before appending.
    pub(crate) damaged: bool,
    /// A transaction never ended: it must be closed (aborted) before anything follows it.
    pub(crate) dangling: Option<u32>,
    /// The highest transaction id in the log.
    pub(crate) max_txn: u32,
}

fn le_u16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at + 2)?;
    Some(u16::from_le_bytes(s.try_into().ok()?))
}

fn le_u32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 4)?;
    Some(u32::from_le_bytes(s.try_into().ok()?))
}

fn put(buf: &mut [u8], at: usize, bytes: &[u8]) -> Result<(), StoreError> {
    buf.get_mut(at..at + bytes.len())
        .ok_or(StoreError::Full)?
        .copy_from_slice(bytes);
    Ok(())
}

fn read_seq(scratch: &[u8]) -> u32 {
    le_u32(scratch, 4).unwrap_or(0)
}

fn read_txn(scratch: &[u8], len: usize) -> u32 {
    if len != 4 {
        return u32::MAX;
    }
    le_u32(scratch, HEAD).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flash::MemFlash;

    type Flash = MemFlash<std::vec::Vec<u8>, 1024, 8>;

    /// A store holding one record with a 300-byte payload, written through a 512-byte
    /// buffer.
    fn one_long_record() -> Flash {
        let mut flash = MemFlash::new(std::vec![0u8; 4096]);
        flash.erase_all();
        let mut store = Store::closed(&mut flash, 1);
        let mut scratch = [0u8; 512];
        store.open(&mut scratch).unwrap();
        for (i, b) in scratch[HEAD..HEAD + 300].iter_mut().enumerate() {
            *b = i as u8;
        }
        store.append(&mut scratch, KIND_PUT, 300).unwrap();
        flash
    }

    fn replay_with(flash: &mut Flash, scratch: &mut [u8]) -> Result<(usize, bool), StoreError> {
        let mut store = Store::closed(flash, 1);
        store.open(scratch)?;
        let mut n = 0;
        let out = store.replay(scratch, |_| {
            n += 1;
            Ok(())
        })?;
        Ok((n, out.damaged))
    }

    #[test]
    fn a_record_longer_than_the_buffer_is_reported_not_taken_for_a_torn_tail() {
        let mut flash = one_long_record();
        assert_eq!(replay_with(&mut flash, &mut [0u8; 512]), Ok((1, false)));
        // Read through a buffer shorter than the record (in pieces of several sizes).
        for len in [64, 100, 256, 311] {
            assert_eq!(
                replay_with(&mut flash, &mut std::vec![0u8; len]),
                Err(StoreError::RecordTooLarge),
                "buffer of {len}"
            );
        }
    }

    /// The room a record buffer leaves for a payload is the largest whose record still fits
    /// the buffer (to within one write unit, which alignment may take).
    #[test]
    fn payload_room_is_the_most_a_buffer_holds() {
        type S<'a> = Store<&'a mut Flash>;
        for len in [64usize, 100, 128, 311, 512] {
            let room = S::payload_room(len);
            assert!(S::record_size(room) <= len, "{len}");
            assert!(S::record_size(room + S::UNIT + 1) > len, "{len}");
        }
        // And a payload of exactly that room is appended through a buffer of that size.
        let mut flash: Flash = MemFlash::new(std::vec![0u8; 4096]);
        flash.erase_all();
        let mut store = Store::closed(&mut flash, 1);
        let mut scratch = [0u8; 128];
        store.open(&mut scratch).unwrap();
        assert_eq!(
            store.append(&mut scratch, KIND_PUT, S::payload_room(128)),
            Ok(())
        );
    }

    /// After a compaction both banks hold a valid header (the old bank is erased only when
    /// the next compaction reuses it): a restart must take the newer generation, in
    /// either bank, or it loses what was written since.
    #[test]
    fn a_restart_takes_the_newer_bank_after_each_compaction() {
        let mut flash = MemFlash::new(std::vec![0u8; 4096]);
        flash.erase_all();
        let mut scratch = [0u8; 128];
        let put =
            |store: &mut Store<&mut Flash>, scratch: &mut [u8]| store.append(scratch, KIND_PUT, 8);
        {
            let mut store = Store::closed(&mut flash, 1);
            store.open(&mut scratch).unwrap();
            put(&mut store, &mut scratch).unwrap();
        }
        for round in 0..2 {
            {
                let mut store = Store::closed(&mut flash, 1);
                store.open(&mut scratch).unwrap();
                // Into the other bank: one record, then one more appended after it.
                let mut left = 1;
                store
                    .compact(&mut scratch, |_| {
                        Ok((std::mem::take(&mut left) == 1).then_some((KIND_PUT, 8)))
                    })
                    .unwrap();
                put(&mut store, &mut scratch).unwrap();
            }
            assert_eq!(
                replay_with(&mut flash, &mut scratch),
                Ok((2, false)),
                "after compaction {round}"
            );
        }
    }

    #[test]
    fn a_long_record_that_fails_its_checksum_is_a_torn_tail() {
        let flash = one_long_record();
        // One bit of the payload flipped, as a cut write leaves it. The record follows the
        // bank header (24 bytes with 8-byte writes).
        let at = 24 + HEAD + 200;
        let mut bytes = flash.as_bytes().to_vec();
        bytes[at] ^= 0x01;
        let mut torn = MemFlash::<std::vec::Vec<u8>, 1024, 8>::new(bytes);
        assert_eq!(replay_with(&mut torn, &mut [0u8; 128]), Ok((0, true)));
        assert_eq!(replay_with(&mut torn, &mut [0u8; 512]), Ok((0, true)));
    }
}
