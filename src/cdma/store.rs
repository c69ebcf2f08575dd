//! Where roaming lists are kept: the [`PrlStore`] trait a vendor implements over the
//! baseband's own storage, and [`FlashPrlStore`], a power-safe implementation on a NOR
//! flash region.
//!
//! A list can be tens of kilobytes, more than the tree keeps in RAM, so it streams
//! straight to its store as it arrives and is read back from there. A store keeps the list
//! in force until a new one is complete and committed: [`Cdma`](super::Cdma) commits only
//! a list that passed its size and CRC checks, and aborts any other.

use core::fmt;

use embedded_storage::nor_flash::{NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash};

use super::prl::{PrlKind, MAX_PRL_LEN};
use crate::codes::StatusCode;

/// Which list: the NAM (by its instance name in the tree) and the kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PrlList<'a> {
    /// The NAM's node name, e.g. `0` for `./CDMA/NAM/0`.
    pub nam: &'a str,
    /// PRL or extended PRL.
    pub kind: PrlKind,
}

/// Why a list store failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum PrlStoreError {
    /// The store has no place for this NAM's lists.
    UnknownList,
    /// The list does not fit.
    Full,
    /// A write out of order: no list being written, or a chunk not at the end.
    BadState,
    /// The region is too small or does not suit the flash's geometry.
    Layout,
    /// The flash driver failed.
    Flash(#[cfg_attr(feature = "defmt", defmt(Debug2Format))] NorFlashErrorKind),
}

impl PrlStoreError {
    /// The DM status of the command that failed.
    pub fn status(self) -> StatusCode {
        match self {
            PrlStoreError::UnknownList => StatusCode::NotFound,
            PrlStoreError::Full => StatusCode::DeviceFull,
            PrlStoreError::BadState => StatusCode::CommandFailed,
            PrlStoreError::Layout | PrlStoreError::Flash(_) => StatusCode::DataStoreFailure,
        }
    }
}

impl<E: NorFlashError> From<E> for PrlStoreError {
    fn from(e: E) -> Self {
        PrlStoreError::Flash(e.kind())
    }
}

impl fmt::Display for PrlStoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PrlStoreError::UnknownList => f.write_str("no place for this NAM's roaming lists"),
            PrlStoreError::Full => f.write_str("roaming list does not fit"),
            PrlStoreError::BadState => f.write_str("roaming list write out of order"),
            PrlStoreError::Layout => f.write_str("roaming list region does not suit the flash"),
            PrlStoreError::Flash(kind) => write!(f, "flash error: {kind:?}"),
        }
    }
}

impl core::error::Error for PrlStoreError {}

/// Storage for roaming lists. One list is written at a time: `begin`, `write` in order,
/// then `commit` (the new list replaces the old, all at once, also across a power cut) or
/// `abort` (the old list stays).
pub trait PrlStore {
    /// Starts writing a new `list` of `total` bytes, if known.
    fn begin(&mut self, list: PrlList<'_>, total: Option<u32>) -> Result<(), PrlStoreError>;

    /// Writes the bytes at `offset` (the end of what was written so far).
    fn write(&mut self, offset: u32, chunk: &[u8]) -> Result<(), PrlStoreError>;

    /// Puts the list written since `begin` in force.
    fn commit(&mut self) -> Result<(), PrlStoreError>;

    /// Drops the list written since `begin`, if any.
    fn abort(&mut self);

    /// Reads `list` from `offset` into `out`: bytes read, and the list's whole length (0
    /// when there is none).
    fn read(
        &mut self,
        list: PrlList<'_>,
        offset: usize,
        out: &mut [u8],
    ) -> Result<(usize, usize), PrlStoreError>;
}

impl<T: PrlStore + ?Sized> PrlStore for &mut T {
    fn begin(&mut self, list: PrlList<'_>, total: Option<u32>) -> Result<(), PrlStoreError> {
        (**self).begin(list, total)
    }

    fn write(&mut self, offset: u32, chunk: &[u8]) -> Result<(), PrlStoreError> {
        (**self).write(offset, chunk)
    }

    fn commit(&mut self) -> Result<(), PrlStoreError> {
        (**self).commit()
    }

    fn abort(&mut self) {
        (**self).abort();
    }

    fn read(
        &mut self,
        list: PrlList<'_>,
        offset: usize,
        out: &mut [u8],
    ) -> Result<(usize, usize), PrlStoreError> {
        (**self).read(list, offset, out)
    }
}

/// Bytes buffered before a flash write, and the unit reads go through.
const BUF: usize = 256;
/// The slot header: magic, generation, length, CRC-32 of the first twelve bytes.
const HEADER: usize = 16;
const MAGIC: [u8; 4] = *b"PRL1";
const CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

/// A list being written.
struct Open {
    base: u32,
    generation: u32,
    written: u32,
    flushed: u32,
    buf: [u8; BUF],
    buf_len: usize,
}

/// Roaming lists on a NOR flash region: for each NAM named `0` to `nams - 1`, a PRL and an
/// extended PRL, each in two slots of equal size. A new list goes into the slot not in
/// force, erased first; its header (generation, length, CRC) is written last, so until
/// then the old slot is the one found. The slots of a list each hold up to
/// [`FlashPrlStore::capacity`] bytes.
pub struct FlashPrlStore<F> {
    flash: F,
    nams: u8,
    slot: u32,
    body: u32,
    open: Option<Open>,
}

impl<F> fmt::Debug for FlashPrlStore<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlashPrlStore")
            .field("nams", &self.nams)
            .field("slot", &self.slot)
            .field("writing", &self.open.is_some())
            .finish_non_exhaustive()
    }
}

fn align_up(n: usize, to: usize) -> usize {
    n.div_ceil(to.max(1)).saturating_mul(to.max(1))
}

impl<F: NorFlash> FlashPrlStore<F> {
    /// A store for the lists of `nams` NAMs on the whole of `flash`, which is split in
    /// `4 × nams` slots of whole erase sectors.
    pub fn new(flash: F, nams: u8) -> Result<Self, PrlStoreError> {
        let slots = u32::from(nams).saturating_mul(4);
        let erase = u32::try_from(F::ERASE_SIZE).map_err(|_| PrlStoreError::Layout)?;
        let unit_ok = |n: usize| (1..=BUF).contains(&n) && BUF.is_multiple_of(n);
        if slots == 0 || erase == 0 || !unit_ok(F::WRITE_SIZE) || !unit_ok(F::READ_SIZE) {
            return Err(PrlStoreError::Layout);
        }
        let capacity = u32::try_from(flash.capacity()).map_err(|_| PrlStoreError::Layout)?;
        let slot = capacity / slots / erase * erase;
        let body = u32::try_from(align_up(HEADER, F::WRITE_SIZE.max(F::READ_SIZE)))
            .map_err(|_| PrlStoreError::Layout)?;
        if slot <= body {
            return Err(PrlStoreError::Layout);
        }
        Ok(FlashPrlStore {
            flash,
            nams,
            slot,
            body,
            open: None,
        })
    }

    /// The longest list a slot holds (at most [`MAX_PRL_LEN`] counts).
    pub fn capacity(&self) -> usize {
        (self.slot - self.body) as usize
    }

    /// Gives the flash back.
    pub fn into_inner(self) -> F {
        self.flash
    }

    /// The two slots of `list`.
    fn slots(&self, list: PrlList<'_>) -> Result<[u32; 2], PrlStoreError> {
        // Canonical decimal names only, so that one NAM has one place.
        let canonical = list.nam.bytes().all(|b| b.is_ascii_digit())
            && !(list.nam.len() > 1 && list.nam.starts_with('0'));
        let nam: u8 = list.nam.parse().map_err(|_| PrlStoreError::UnknownList)?;
        if !canonical || nam >= self.nams {
            return Err(PrlStoreError::UnknownList);
        }
        let kind = match list.kind {
            PrlKind::Prl => 0,
            PrlKind::Extended => 1,
        };
        let first = (u32::from(nam) * 2 + kind) * 2;
        Ok([first * self.slot, (first + 1) * self.slot])
    }

    /// The valid header at `base`: generation and length.
    fn header(&mut self, base: u32) -> Result<Option<(u32, u32)>, PrlStoreError> {
        let mut h = [0u8; HEADER];
        read_bytes(&mut self.flash, base, &mut h)?;
        let [m0, m1, m2, m3, g0, g1, g2, g3, l0, l1, l2, l3, c0, c1, c2, c3] = h;
        let crc = CRC32.checksum(h.get(..12).unwrap_or(&[]));
        if [m0, m1, m2, m3] != MAGIC || crc != u32::from_le_bytes([c0, c1, c2, c3]) {
            return Ok(None);
        }
        let len = u32::from_le_bytes([l0, l1, l2, l3]);
        if len as usize > self.capacity() {
            return Ok(None);
        }
        Ok(Some((u32::from_le_bytes([g0, g1, g2, g3]), len)))
    }

    /// The slot in force for `list`: base, generation, length.
    fn current(&mut self, list: PrlList<'_>) -> Result<Option<(u32, u32, u32)>, PrlStoreError> {
        let [a, b] = self.slots(list)?;
        let found = match (self.header(a)?, self.header(b)?) {
            (Some((ga, _)), Some((gb, lb))) if gb > ga => Some((b, gb, lb)),
            (Some((ga, la)), _) => Some((a, ga, la)),
            (None, Some((gb, lb))) => Some((b, gb, lb)),
            (None, None) => None,
        };
        Ok(found)
    }

    fn flush(&mut self, pad: bool) -> Result<(), PrlStoreError> {
        let body = self.body;
        let Some(open) = self.open.as_mut() else {
            return Err(PrlStoreError::BadState);
        };
        let len = if pad {
            align_up(open.buf_len, F::WRITE_SIZE)
        } else {
            open.buf_len
        };
        if len == 0 {
            return Ok(());
        }
        if let Some(tail) = open.buf.get_mut(open.buf_len..len) {
            tail.fill(0xFF);
        }
        let at = open.base + body + open.flushed;
        let data = open.buf.get(..len).ok_or(PrlStoreError::BadState)?;
        self.flash.write(at, data)?;
        // `len` is at most BUF.
        open.flushed += len as u32;
        open.buf_len = 0;
        Ok(())
    }
}

impl<F: NorFlash> PrlStore for FlashPrlStore<F> {
    fn begin(&mut self, list: PrlList<'_>, total: Option<u32>) -> Result<(), PrlStoreError> {
        self.open = None;
        let [a, b] = self.slots(list)?;
        if total.is_some_and(|t| t as usize > self.capacity().min(MAX_PRL_LEN)) {
            return Err(PrlStoreError::Full);
        }
        let (base, generation) = match self.current(list)? {
            Some((cur, generation, _)) => {
                (if cur == a { b } else { a }, generation.saturating_add(1))
            }
            None => (a, 1),
        };
        self.flash.erase(base, base + self.slot)?;
        self.open = Some(Open {
            base,
            generation,
            written: 0,
            flushed: 0,
            buf: [0xFF; BUF],
            buf_len: 0,
        });
        Ok(())
    }

    fn write(&mut self, offset: u32, mut chunk: &[u8]) -> Result<(), PrlStoreError> {
        let capacity = self.capacity();
        let open = self.open.as_mut().ok_or(PrlStoreError::BadState)?;
        if offset != open.written {
            return Err(PrlStoreError::BadState);
        }
        let end = (open.written as usize)
            .checked_add(chunk.len())
            .filter(|&e| e <= capacity)
            .ok_or(PrlStoreError::Full)?;
        while !chunk.is_empty() {
            let open = self.open.as_mut().ok_or(PrlStoreError::BadState)?;
            let room = BUF - open.buf_len;
            let n = room.min(chunk.len());
            let (now, rest) = chunk.split_at(n);
            if let Some(dst) = open.buf.get_mut(open.buf_len..open.buf_len + n) {
                dst.copy_from_slice(now);
            }
            open.buf_len += n;
            chunk = rest;
            if open.buf_len == BUF {
                self.flush(false)?;
            }
        }
        if let Some(open) = self.open.as_mut() {
            // At most the capacity, a u32.
            open.written = end as u32;
        }
        Ok(())
    }

    fn commit(&mut self) -> Result<(), PrlStoreError> {
        self.flush(true)?;
        let open = self.open.take().ok_or(PrlStoreError::BadState)?;
        let mut h = [0xFFu8; BUF];
        h.get_mut(..HEADER)
            .ok_or(PrlStoreError::Layout)?
            .copy_from_slice(&header_bytes(open.generation, open.written));
        let len = align_up(HEADER, F::WRITE_SIZE);
        self.flash
            .write(open.base, h.get(..len).ok_or(PrlStoreError::Layout)?)?;
        Ok(())
    }

    fn abort(&mut self) {
        self.open = None;
    }

    fn read(
        &mut self,
        list: PrlList<'_>,
        offset: usize,
        out: &mut [u8],
    ) -> Result<(usize, usize), PrlStoreError> {
        let Some((base, _, len)) = self.current(list)? else {
            return Ok((0, 0));
        };
        let len = len as usize;
        let n = len.saturating_sub(offset).min(out.len());
        if n > 0 {
            // `offset` is below `len`, a u32.
            let at = base + self.body + offset as u32;
            read_bytes(
                &mut self.flash,
                at,
                out.get_mut(..n).ok_or(PrlStoreError::BadState)?,
            )?;
        }
        Ok((n, len))
    }
}

/// A slot header: magic, generation, length, and the CRC-32 of those twelve bytes.
fn header_bytes(generation: u32, len: u32) -> [u8; HEADER] {
    let [m0, m1, m2, m3] = MAGIC;
    let [g0, g1, g2, g3] = generation.to_le_bytes();
    let [l0, l1, l2, l3] = len.to_le_bytes();
    let first = [m0, m1, m2, m3, g0, g1, g2, g3, l0, l1, l2, l3];
    let [c0, c1, c2, c3] = CRC32.checksum(&first).to_le_bytes();
    [
        m0, m1, m2, m3, g0, g1, g2, g3, l0, l1, l2, l3, c0, c1, c2, c3,
    ]
}

/// Reads `out.len()` bytes at `addr`, whatever the flash's read unit.
fn read_bytes<F: ReadNorFlash>(
    flash: &mut F,
    mut addr: u32,
    mut out: &mut [u8],
) -> Result<(), PrlStoreError> {
    let unit = F::READ_SIZE.max(1);
    if unit == 1 {
        flash.read(addr, out)?;
        return Ok(());
    }
    let mut tmp = [0u8; BUF];
    while !out.is_empty() {
        let skip = addr as usize % unit;
        let want = align_up((skip + out.len()).min(BUF), unit).min(BUF);
        let block = tmp.get_mut(..want).ok_or(PrlStoreError::Layout)?;
        flash.read(addr - skip as u32, block)?;
        let n = (want - skip).min(out.len());
        let (dst, rest) = core::mem::take(&mut out).split_at_mut(n);
        dst.copy_from_slice(block.get(skip..skip + n).ok_or(PrlStoreError::Layout)?);
        out = rest;
        addr += n as u32;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flash::MemFlash;
    use embedded_storage::nor_flash::ErrorType;

    type Mem = MemFlash<std::vec::Vec<u8>, 256, 4>;

    fn blank(size: usize) -> Mem {
        let mut m = MemFlash::new(std::vec![0u8; size]);
        m.erase_all();
        m
    }

    /// A flash that reads in words of 8 bytes and writes in words of 16, like some
    /// on-chip parts: every access the store makes must be aligned to them.
    struct Wide(Mem);

    impl ErrorType for Wide {
        type Error = <Mem as ErrorType>::Error;
    }

    impl ReadNorFlash for Wide {
        const READ_SIZE: usize = 8;
        fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
            assert_eq!(offset % 8, 0, "unaligned read at {offset}");
            assert_eq!(bytes.len() % 8, 0, "unaligned read of {}", bytes.len());
            self.0.read(offset, bytes)
        }
        fn capacity(&self) -> usize {
            self.0.capacity()
        }
    }

    impl NorFlash for Wide {
        const WRITE_SIZE: usize = 16;
        const ERASE_SIZE: usize = 256;
        fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
            self.0.erase(from, to)
        }
        fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
            assert_eq!(offset % 16, 0, "unaligned write at {offset}");
            assert_eq!(bytes.len() % 16, 0, "unaligned write of {}", bytes.len());
            self.0.write(offset, bytes)
        }
    }

    const PRL0: PrlList<'static> = PrlList {
        nam: "0",
        kind: PrlKind::Prl,
    };

    fn put<S: PrlStore>(s: &mut S, list: PrlList<'_>, data: &[u8], chunk: usize) {
        s.begin(list, Some(data.len() as u32)).unwrap();
        let mut at = 0;
        for c in data.chunks(chunk) {
            s.write(at, c).unwrap();
            at += c.len() as u32;
        }
        s.commit().unwrap();
    }

    fn read_all<S: PrlStore>(s: &mut S, list: PrlList<'_>) -> std::vec::Vec<u8> {
        let mut out = std::vec![0u8; 4096];
        let (n, total) = s.read(list, 0, &mut out).unwrap();
        assert_eq!(n, total);
        out.truncate(n);
        out
    }

    #[test]
    fn lists_alternate_slots_and_the_newest_wins_after_a_remount() {
        let mut s = FlashPrlStore::new(blank(8 * 1024), 2).unwrap();
        assert_eq!(s.capacity(), 1024 - HEADER);
        for round in 0..5u8 {
            let data: std::vec::Vec<u8> = (0..300 + usize::from(round))
                .map(|i| i as u8 ^ round)
                .collect();
            put(&mut s, PRL0, &data, 77);
            assert_eq!(read_all(&mut s, PRL0), data);
            let flash = s.into_inner();
            s = FlashPrlStore::new(flash, 2).unwrap();
            assert_eq!(read_all(&mut s, PRL0), data, "round {round}");
        }
        // Other lists are untouched and separate.
        let ext = PrlList {
            nam: "1",
            kind: PrlKind::Extended,
        };
        assert_eq!(read_all(&mut s, ext), [0u8; 0]);
        put(&mut s, ext, b"extended", 3);
        assert_eq!(read_all(&mut s, ext), b"extended");
        assert_eq!(read_all(&mut s, PRL0).len(), 304);
    }

    #[test]
    fn wide_read_and_write_units_are_respected() {
        let mut s = FlashPrlStore::new(Wide(blank(4 * 1024)), 1).unwrap();
        let data: std::vec::Vec<u8> = (0..777u32).map(|i| (i * 7) as u8).collect();
        put(&mut s, PRL0, &data, 33);
        assert_eq!(read_all(&mut s, PRL0), data);
        // Reads from odd offsets, of odd lengths.
        let mut out = [0u8; 100];
        let (n, total) = s.read(PRL0, 301, &mut out[..37]).unwrap();
        assert_eq!((n, total), (37, 777));
        assert_eq!(&out[..37], &data[301..338]);
        let (n, _) = s.read(PRL0, 770, &mut out).unwrap();
        assert_eq!(&out[..n], &data[770..]);
        assert_eq!(s.read(PRL0, 5000, &mut out).unwrap(), (0, 777));
    }

    #[test]
    fn refusals() {
        // Four slots must each be at least a whole erase sector.
        assert_eq!(
            FlashPrlStore::new(blank(768), 1).err(),
            Some(PrlStoreError::Layout)
        );
        assert!(FlashPrlStore::new(blank(1024), 1).is_ok());
        assert_eq!(
            FlashPrlStore::new(blank(4096), 0).err(),
            Some(PrlStoreError::Layout)
        );
        let mut s = FlashPrlStore::new(blank(4096), 2).unwrap();
        for nam in ["2", "00", "+1", "x", ""] {
            let list = PrlList {
                nam,
                kind: PrlKind::Prl,
            };
            assert_eq!(
                s.begin(list, None),
                Err(PrlStoreError::UnknownList),
                "{nam:?}"
            );
        }
        assert_eq!(s.write(0, b"x"), Err(PrlStoreError::BadState));
        assert_eq!(s.commit(), Err(PrlStoreError::BadState));
        assert_eq!(
            s.begin(PRL0, Some(s.capacity() as u32 + 1)),
            Err(PrlStoreError::Full)
        );
        s.begin(PRL0, None).unwrap();
        assert_eq!(s.write(1, b"x"), Err(PrlStoreError::BadState));
        s.write(0, &[1; 200]).unwrap();
        assert_eq!(s.write(200, &[1; 400]), Err(PrlStoreError::Full));
        s.abort();
        assert_eq!(s.commit(), Err(PrlStoreError::BadState));
        assert_eq!(read_all(&mut s, PRL0), [0u8; 0]);
        assert_eq!(PrlStoreError::Full.status(), StatusCode::DeviceFull);
    }
}
