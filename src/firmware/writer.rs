//! Programming a slot front to back: the one place that turns a byte stream into whole
//! flash words and erases each sector just before its first write. The download of a
//! package and the application of a delta patch both write through it.

use embedded_storage::nor_flash::NorFlash;

use super::{Error, MAX_WRITE_SIZE};

/// A write position in a slot and the word being filled there.
#[derive(Debug)]
pub(super) struct SlotWriter {
    /// Next slot offset to program; always a multiple of the write size.
    pub(super) pos: u32,
    /// Sectors below this slot offset have been erased by this writer.
    pub(super) erased_to: u32,
    /// Bytes waiting to complete a write word at `pos`.
    word: [u8; MAX_WRITE_SIZE],
    word_len: usize,
}

impl SlotWriter {
    /// A writer at `pos` that takes the sectors below `erased_to` as already erased.
    pub(super) const fn new(pos: u32, erased_to: u32) -> Self {
        Self {
            pos,
            erased_to,
            word: [0xFF; MAX_WRITE_SIZE],
            word_len: 0,
        }
    }

    /// Moves to `pos` (a multiple of the write size), leaving the words skipped erased.
    /// Nothing may be pending.
    pub(super) fn seek(&mut self, pos: u32) -> Result<(), Error> {
        if self.word_len != 0 {
            return Err(Error::BadState);
        }
        self.pos = pos;
        Ok(())
    }

    /// Writes `data` at the position: completes the pending word, programs whole words
    /// straight from `data`, and keeps the tail. `sector_done` is told the end offset of
    /// each sector as it is completed.
    pub(super) fn emit<F: NorFlash>(
        &mut self,
        flash: &mut F,
        mut data: &[u8],
        sector_done: &mut dyn FnMut(u32) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let w = F::WRITE_SIZE;
        if self.word_len > 0 {
            let n = w.saturating_sub(self.word_len).min(data.len());
            let (head, rest) = data.split_at(n);
            self.word
                .get_mut(self.word_len..self.word_len + n)
                .ok_or(Error::BadState)?
                .copy_from_slice(head);
            self.word_len += n;
            data = rest;
            if self.word_len < w {
                return Ok(());
            }
            let word = self.word;
            self.program(flash, word.get(..w).unwrap_or_default(), sector_done)?;
            self.word_len = 0;
        }
        let whole = data.len() - data.len() % w;
        let (body, tail) = data.split_at(whole);
        if !body.is_empty() {
            self.program(flash, body, sector_done)?;
        }
        self.word
            .get_mut(..tail.len())
            .ok_or(Error::BadState)?
            .copy_from_slice(tail);
        self.word_len = tail.len();
        Ok(())
    }

    /// Programs a pending part word, filled up with erased bytes.
    pub(super) fn pad<F: NorFlash>(
        &mut self,
        flash: &mut F,
        sector_done: &mut dyn FnMut(u32) -> Result<(), Error>,
    ) -> Result<(), Error> {
        if self.word_len == 0 {
            return Ok(());
        }
        let w = F::WRITE_SIZE;
        self.word
            .get_mut(self.word_len..w)
            .ok_or(Error::BadState)?
            .fill(0xFF);
        let word = self.word;
        self.program(flash, word.get(..w).unwrap_or_default(), sector_done)?;
        self.word_len = 0;
        Ok(())
    }

    /// Programs whole words at `pos`, erasing each sector just before its first write.
    fn program<F: NorFlash>(
        &mut self,
        flash: &mut F,
        mut data: &[u8],
        sector_done: &mut dyn FnMut(u32) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let erase = F::ERASE_SIZE as u32;
        while !data.is_empty() {
            let pos = self.pos;
            let sector = pos - pos % erase;
            let end = sector.checked_add(erase).ok_or(Error::Layout)?;
            let n = data.len().min((end - pos) as usize);
            let (piece, rest) = data.split_at(n);
            if sector >= self.erased_to {
                flash.erase(sector, end)?;
                self.erased_to = end;
            }
            flash.write(pos, piece)?;
            self.pos = pos + n as u32;
            data = rest;
            if self.pos == end {
                sector_done(end)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flash::MemFlash;

    #[test]
    fn writes_words_and_erases_each_sector_once() {
        let mut f: MemFlash<std::vec::Vec<u8>, 256, 4> = MemFlash::new(std::vec![0u8; 1024]);
        let mut w = SlotWriter::new(0, 0);
        let mut ends = std::vec::Vec::new();
        let data: std::vec::Vec<u8> = (0..600u32).map(|i| i as u8).collect();
        for piece in data.chunks(7) {
            w.emit(&mut f, piece, &mut |end| {
                ends.push(end);
                Ok(())
            })
            .unwrap();
        }
        w.pad(&mut f, &mut |_| Ok(())).unwrap();
        assert_eq!(ends, [256, 512]);
        let mem = f.into_inner();
        assert_eq!(&mem[..600], &data[..]);
        // The rest of the last sector written is erased, not the stale zeros.
        assert!(mem[600..768].iter().all(|&b| b == 0xFF));
        assert!(mem[768..].iter().all(|&b| b == 0));
        // A pending part word refuses a seek, so no byte is dropped.
        let mut w = SlotWriter::new(0, 0);
        let mut f: MemFlash<std::vec::Vec<u8>, 256, 4> = MemFlash::new(std::vec![0xFF; 1024]);
        w.emit(&mut f, &[1, 2], &mut |_| Ok(())).unwrap();
        assert_eq!(w.seek(512), Err(Error::BadState));
    }
}
