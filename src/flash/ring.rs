//! The ring of fixed-size record slots that the installer's state and the FUMO object's
//! record are kept in: where the newest record is after a restart, and where the next one
//! goes. It owns the positions and the erase-ahead; the records' format, sequence numbers
//! and checks belong to its users.

use embedded_storage::nor_flash::NorFlash;

/// A slot as the ring's user found it.
pub(crate) enum Slot<T> {
    /// Every byte erased: never written since its sector was erased.
    Free,
    /// Written, but not a valid record (a torn write, or garbage).
    Invalid,
    /// A valid record and its sequence number.
    Valid(u32, T),
}

/// Slots of `stride` bytes packed into each erase sector of a region of at least two
/// sectors; records go in order, a sector at a time, and the sector after the current one
/// is erased when the current one is full. Only the position is kept: the geometry comes
/// from the flash and the stride its user passes, which are fixed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ring {
    sector: u32,
    slot: u32,
}

/// The geometry of a ring on `flash`: sector size, sectors, slots per sector.
fn geometry<S: NorFlash>(flash: &S, stride: usize) -> Option<(u32, u32, u32)> {
    let sector_size = S::ERASE_SIZE;
    let sectors = flash.capacity() / sector_size.max(1);
    if stride == 0 || sector_size < stride || sectors < 2 {
        return None;
    }
    Some((
        u32::try_from(sector_size).ok()?,
        u32::try_from(sectors).ok()?,
        u32::try_from(sector_size / stride).ok()?,
    ))
}

impl Ring {
    /// The position of a ring not opened yet, for a user that opens it in place; a user
    /// must not write before [`Ring::open`] has given the real one.
    pub(crate) const START: Ring = Ring { sector: 0, slot: 0 };

    /// Visits every slot of `flash` with `read` (which reads the slot at the given offset)
    /// and returns the ring positioned after the newest valid record, and that record; or,
    /// when there is none, positioned so that the first record erases sector 0.
    ///
    /// `layout` is the error when the region cannot hold the ring: less than two sectors,
    /// or a stride of zero or larger than a sector.
    pub(crate) fn open<S: NorFlash, T, E>(
        flash: &mut S,
        stride: usize,
        layout: E,
        mut read: impl FnMut(&mut S, u32) -> Result<Slot<T>, E>,
    ) -> Result<(Self, Option<(u32, T)>), E> {
        let Some((sector_size, sectors, per)) = geometry(flash, stride) else {
            return Err(layout);
        };
        // At most a sector, which fits a u32 (geometry).
        let stride = stride as u32;
        let mut ring = Self { sector: 0, slot: 0 };
        let mut best: Option<(u32, T)> = None;
        for sector in 0..sectors {
            let mut last_used = None;
            let mut best_here = false;
            for slot in 0..per {
                match read(flash, sector * sector_size + slot * stride)? {
                    Slot::Free => continue,
                    Slot::Invalid => {}
                    Slot::Valid(seq, rec) => {
                        if best.as_ref().is_none_or(|(s, _)| seq > *s) {
                            best = Some((seq, rec));
                            best_here = true;
                        }
                    }
                }
                last_used = Some(slot);
            }
            if best_here {
                ring.sector = sector;
                ring.slot = last_used.map_or(0, |s| s + 1);
            }
        }
        if best.is_none() {
            // Nothing valid: the first record erases sector 0.
            ring.sector = sectors - 1;
            ring.slot = per;
        }
        Ok((ring, best))
    }

    /// The offset of the slot the next record goes to, erasing its sector first when the
    /// current one is full. The slot counts as spent from here, whether or not the write
    /// that follows succeeds: a failed or torn write may have left bits programmed.
    /// `stride` is the one the ring was opened with.
    pub(crate) fn next_slot<S: NorFlash>(
        &mut self,
        flash: &mut S,
        stride: usize,
    ) -> Result<u32, S::Error> {
        // The geometry was checked when the ring was opened on this flash.
        let (sector_size, sectors, per) = geometry(flash, stride).unwrap_or((0, 1, 0));
        if self.slot >= per {
            let next = (self.sector + 1) % sectors;
            let from = next * sector_size;
            // The slot stays "full" until the erase succeeds, so a failed erase is tried
            // again on the next record rather than written over.
            flash.erase(from, from + sector_size)?;
            self.sector = next;
            self.slot = 0;
        }
        let at = self.sector * sector_size + self.slot * stride as u32;
        self.slot += 1;
        Ok(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flash::MemFlash;
    use embedded_storage::nor_flash::ReadNorFlash;

    type Mem = MemFlash<[u8; 512], 128, 4>;

    /// Slots hold a 4-byte sequence number; 0 stands for a torn record.
    fn read(flash: &mut Mem, at: u32) -> Result<Slot<u32>, ()> {
        let mut b = [0u8; 4];
        flash.read(at, &mut b).map_err(drop)?;
        Ok(match u32::from_le_bytes(b) {
            u32::MAX => Slot::Free,
            0 => Slot::Invalid,
            seq => Slot::Valid(seq, seq),
        })
    }

    fn append(ring: &mut Ring, flash: &mut Mem, seq: u32) {
        let at = ring.next_slot(flash, 32).unwrap();
        flash.write(at, &seq.to_le_bytes()).unwrap();
    }

    #[test]
    fn a_blank_region_starts_by_erasing_sector_0() {
        let mut f = Mem::new([0u8; 512]);
        let (mut ring, best) = Ring::open(&mut f, 32, (), read).unwrap();
        assert!(best.is_none());
        append(&mut ring, &mut f, 1);
        assert_eq!(f.as_bytes().get(..4), Some(&1u32.to_le_bytes()[..]));
        assert!(f.as_bytes().get(4..128).unwrap().iter().all(|&b| b == 0xFF));
    }

    #[test]
    fn reopening_finds_the_newest_record_and_goes_on_after_it_round_the_ring() {
        let mut f = Mem::new([0u8; 512]);
        let (mut ring, _) = Ring::open(&mut f, 32, (), read).unwrap();
        // Four slots a sector, four sectors: 18 records wrap round once.
        for seq in 1..=18 {
            append(&mut ring, &mut f, seq);
        }
        let (mut again, best) = Ring::open(&mut f, 32, (), read).unwrap();
        assert_eq!(best, Some((18, 18)));
        // A torn record after it is skipped; the next goes in the slot after the torn one.
        let torn = again.next_slot(&mut f, 32).unwrap();
        f.write(torn, &0u32.to_le_bytes()).unwrap();
        let (mut again, best) = Ring::open(&mut f, 32, (), read).unwrap();
        assert_eq!(best, Some((18, 18)));
        assert_eq!(again.next_slot(&mut f, 32).unwrap(), torn + 32);
    }

    #[test]
    fn a_region_that_cannot_hold_the_ring_is_a_layout_error() {
        let mut one_sector = MemFlash::<[u8; 128], 128, 4>::new([0xFF; 128]);
        let r = Ring::open(&mut one_sector, 32, "layout", |_, _| Ok(Slot::<()>::Free));
        assert_eq!(r.err(), Some("layout"));
        let mut f = Mem::new([0xFF; 512]);
        assert_eq!(
            Ring::open(&mut f, 0, "layout", |_, _| Ok(Slot::<()>::Free)).err(),
            Some("layout")
        );
        assert_eq!(
            Ring::open(&mut f, 256, "layout", |_, _| Ok(Slot::<()>::Free)).err(),
            Some("layout")
        );
    }
}
