//! Backup of user data (the persisted tree and other regions) before an update, and its
//! restore after a rollback.
//!
//! The backup region holds each source region at a sector boundary, in order, and after
//! them one sector with a footer: magic, region count, byte count, SHA-256 of the data and
//! a check over the footer. The footer sector is erased first and written last, and the
//! installer records the backup as valid only after that, so an interrupted backup is
//! never mistaken for a complete one. A restore verifies the digest before it erases
//! anything, and can be run again from the start at any time.

use embedded_storage::nor_flash::NorFlash;
use sha2::{Digest, Sha256};

use super::Error;

const MAGIC: [u8; 4] = *b"IBKP";
const FOOTER_LEN: usize = 48;
const CHUNK: usize = 256;

fn round_up(x: u32, to: u32) -> Option<u32> {
    x.checked_next_multiple_of(to)
}

/// Where each region goes and where the footer goes.
fn footer_offset<K: NorFlash, R: NorFlash>(backup: &K, regions: &[R]) -> Result<u32, Error> {
    if !CHUNK.is_multiple_of(K::WRITE_SIZE)
        || !CHUNK.is_multiple_of(R::WRITE_SIZE)
        || FOOTER_LEN.next_multiple_of(K::WRITE_SIZE) > K::ERASE_SIZE
    {
        return Err(Error::Layout);
    }
    let erase = K::ERASE_SIZE as u32;
    let mut off = 0u32;
    for r in regions {
        let cap = u32::try_from(r.capacity()).map_err(|_| Error::BackupTooSmall)?;
        off = round_up(off, erase)
            .and_then(|o| o.checked_add(cap))
            .ok_or(Error::BackupTooSmall)?;
    }
    let footer = round_up(off, erase).ok_or(Error::BackupTooSmall)?;
    if u64::from(footer) + u64::from(erase) > backup.capacity() as u64 {
        return Err(Error::BackupTooSmall);
    }
    Ok(footer)
}

/// Erases the sectors of `flash` from `*erased_to` up to the one holding `end - 1`.
fn erase_ahead<F: NorFlash>(flash: &mut F, erased_to: &mut u32, end: u32) -> Result<(), Error> {
    let erase = F::ERASE_SIZE as u32;
    if end > *erased_to {
        let to = round_up(end, erase).ok_or(Error::Layout)?;
        flash.erase(*erased_to, to)?;
        *erased_to = to;
    }
    Ok(())
}

fn footer(count: u32, total: u32, digest: &[u8]) -> [u8; FOOTER_LEN] {
    let mut f = [0u8; FOOTER_LEN];
    let parts: [&[u8]; 4] = [&MAGIC, &count.to_le_bytes(), &total.to_le_bytes(), digest];
    let mut at = 0;
    for p in parts {
        for (d, s) in f.iter_mut().skip(at).zip(p.iter()) {
            *d = *s;
        }
        at += p.len();
    }
    let check = Sha256::digest(f.get(..44).unwrap_or_default());
    for (d, s) in f.iter_mut().skip(44).zip(check.iter()) {
        *d = *s;
    }
    f
}

/// Copies `regions` into `backup` and writes the footer last.
pub(crate) fn save<K: NorFlash, R: NorFlash>(
    backup: &mut K,
    regions: &mut [R],
) -> Result<(), Error> {
    let footer_at = footer_offset(backup, regions)?;
    let erase = K::ERASE_SIZE as u32;
    // Whatever footer is there belongs to an older backup: wipe it first.
    backup.erase(footer_at, footer_at + erase)?;
    let mut hasher = Sha256::new();
    let mut buf = [0xFFu8; CHUNK];
    let mut base = 0u32;
    let mut total = 0u32;
    let mut erased_to = 0u32;
    for region in regions.iter_mut() {
        base = round_up(base, erase).ok_or(Error::BackupTooSmall)?;
        erased_to = erased_to.max(base);
        let cap = region.capacity() as u32;
        let mut pos = 0u32;
        while pos < cap {
            let n = (cap - pos).min(CHUNK as u32) as usize;
            let padded = n.next_multiple_of(K::WRITE_SIZE);
            buf.fill(0xFF);
            region.read(pos, buf.get_mut(..n).unwrap_or_default())?;
            hasher.update(buf.get(..n).unwrap_or_default());
            let at = base + pos;
            erase_ahead(backup, &mut erased_to, at + padded as u32)?;
            backup.write(at, buf.get(..padded).unwrap_or_default())?;
            pos += n as u32;
        }
        base += cap;
        total += cap;
    }
    let f = footer(regions.len() as u32, total, &hasher.finalize());
    let mut padded = [0xFFu8; FOOTER_LEN + 32];
    for (d, s) in padded.iter_mut().zip(f.iter()) {
        *d = *s;
    }
    let len = FOOTER_LEN.next_multiple_of(K::WRITE_SIZE);
    backup.write(footer_at, padded.get(..len).unwrap_or_default())?;
    Ok(())
}

/// Checks the backup against its footer, then copies it back over `regions`.
pub(crate) fn restore<K: NorFlash, R: NorFlash>(
    backup: &mut K,
    regions: &mut [R],
) -> Result<(), Error> {
    let footer_at = footer_offset(backup, regions)?;
    let erase = K::ERASE_SIZE as u32;
    let mut stored = [0u8; FOOTER_LEN];
    backup.read(footer_at, &mut stored)?;
    let total: u32 = regions.iter().map(|r| r.capacity() as u32).sum();
    // Verify everything before the first erase: a bad backup must not wipe good data.
    let mut hasher = Sha256::new();
    let mut buf = [0u8; CHUNK];
    let mut base = 0u32;
    for region in regions.iter() {
        base = round_up(base, erase).ok_or(Error::BackupTooSmall)?;
        let cap = region.capacity() as u32;
        let mut pos = 0u32;
        while pos < cap {
            let n = (cap - pos).min(CHUNK as u32) as usize;
            let chunk = buf.get_mut(..n).unwrap_or_default();
            backup.read(base + pos, chunk)?;
            hasher.update(&*chunk);
            pos += n as u32;
        }
        base += cap;
    }
    if footer(regions.len() as u32, total, &hasher.finalize()) != stored {
        return Err(Error::BackupCorrupt);
    }
    let mut base = 0u32;
    for region in regions.iter_mut() {
        base = round_up(base, erase).ok_or(Error::BackupTooSmall)?;
        let cap = region.capacity() as u32;
        let mut erased_to = 0u32;
        let mut pos = 0u32;
        while pos < cap {
            let n = (cap - pos).min(CHUNK as u32) as usize;
            let padded = n.next_multiple_of(R::WRITE_SIZE);
            buf.fill(0xFF);
            backup.read(base + pos, buf.get_mut(..n).unwrap_or_default())?;
            erase_ahead(region, &mut erased_to, pos + padded as u32)?;
            region.write(pos, buf.get(..padded).unwrap_or_default())?;
            pos += n as u32;
        }
        base += cap;
    }
    Ok(())
}
