//! MCUboot images in the installer (feature `mcuboot`): taking one as a download, written
//! to the update slot as it arrives from offset 0, MCUboot's own layout; its checks when the
//! header is in, when its length becomes known and when the download ends; resuming it
//! after a reboot; and reading one back for [`Installer::verify_slot`].

use embedded_storage::nor_flash::NorFlash;

use super::super::mcuboot::{
    self, check_security_counter, check_version, flags, ImageHeader, ImageKey, ImageVersion,
    McubootError, VerifyError, HEADER_LEN, IMAGE_MAGIC, MAX_IMAGE_KEYS, TLV_HEADER_LEN,
    TLV_INFO_MAGIC,
};
use super::super::package::{PackageVerifier, MAX_HEADER_LEN};
use super::super::writer::SlotWriter;
use super::super::{Error, ImageInfo, Phase, Slot, IMAGE_OFFSET};
use super::Installer;

/// Whether `prefix`, the first bytes of a download or a slot (up to four of them), agree
/// with the MCUboot image magic.
pub(super) fn is_image_prefix(prefix: &[u8]) -> bool {
    let magic = IMAGE_MAGIC.to_le_bytes();
    let n = prefix.len().min(magic.len());
    n > 0 && prefix.get(..n) == magic.get(..n)
}

/// Header flags of images that cannot run where they lie in the slot.
const NOT_IN_PLACE: u32 = flags::ENCRYPTED_AES128
    | flags::ENCRYPTED_AES256
    | flags::COMPRESSED_LZMA1
    | flags::COMPRESSED_LZMA2;

fn refused(e: McubootError) -> Error {
    Error::Image(e)
}

/// A reader of a slot, as the `mcuboot` functions take one. Every call passes this one
/// type, so that each of those functions is in the firmware once.
type SlotRead<'r> = dyn FnMut(u32, &mut [u8]) -> Result<(), Error> + 'r;

/// Reads `slot`, which is `a` or `b`.
fn slot_reader<'f, A: NorFlash, B: NorFlash>(
    a: &'f mut A,
    b: &'f mut B,
    slot: Slot,
) -> impl FnMut(u32, &mut [u8]) -> Result<(), Error> + 'f {
    move |at, buf| match slot {
        Slot::A => a.read(at, buf).map_err(Error::from),
        Slot::B => b.read(at, buf).map_err(Error::from),
    }
}

/// A read failure of the installer's flash, or the image's refusal.
fn from_verify(e: VerifyError<Error>) -> Error {
    match e {
        VerifyError::Read(e) => e,
        VerifyError::Image(e) => Error::Image(e),
    }
}

impl<A, B, STATE, V> Installer<A, B, STATE, V>
where
    A: NorFlash,
    B: NorFlash,
    STATE: NorFlash,
    V: PackageVerifier,
{
    /// The header of the MCUboot image being downloaded (or just verified), once its 32
    /// bytes have arrived and passed their checks; after a reboot, once the download has
    /// been resumed. `None` for an update package ([`staged_header`](Self::staged_header)
    /// has its header).
    pub fn staged_image(&self) -> Option<ImageHeader> {
        let s = &self.stream;
        if !s.is_image() || s.header_fill < HEADER_LEN || s.total == 0 {
            return None;
        }
        ImageHeader::parse(s.header.get(..HEADER_LEN)?).ok()
    }

    /// The checks an image's header alone allows, in the order of the package checks: a
    /// key to check it with (404), a header size and flags the device runs in place (405),
    /// and room in the update slot for the header, image, protected TLVs and the
    /// unprotected area's info header (501).
    fn check_image_header(&self, header: &ImageHeader) -> Result<(), McubootError> {
        let mut keys = 0usize;
        self.verifier.image_keys(&mut |_| keys += 1);
        if keys == 0 {
            return Err(McubootError::UnknownKey);
        }
        if u32::from(header.header_size()) != IMAGE_OFFSET {
            return Err(McubootError::HeaderSize(header.header_size()));
        }
        if header.flags() & NOT_IN_PLACE != 0 {
            return Err(McubootError::Unsupported);
        }
        let least = u64::from(header.hashed_len()) + TLV_HEADER_LEN as u64;
        if least > u64::from(self.capacity(self.update_slot())) {
            return Err(McubootError::TooLarge);
        }
        Ok(())
    }

    /// The image's 32-byte header is in: checked, then written at slot offset 0, the rest
    /// of the image to follow right after it. Its length is known only up to the
    /// unprotected TLV area's info header for now.
    pub(super) fn image_header_complete(&mut self) -> Result<(), Error> {
        let header = ImageHeader::parse(self.stream.header.get(..HEADER_LEN).unwrap_or_default())
            .map_err(refused)?;
        self.check_image_header(&header).map_err(refused)?;
        // Below 4 GiB: `ImageHeader::parse` checks the sizes up to the info header.
        let info_end = header.hashed_len().saturating_add(TLV_HEADER_LEN as u32);
        info!("installer: MCUboot image accepted, {} bytes", info_end);
        let head = self.stream.header;
        self.emit(head.get(..HEADER_LEN).unwrap_or_default())?;
        self.pad_to_word()?;
        let s = &mut self.stream;
        s.writer.seek(HEADER_LEN as u32)?;
        s.payload_at = HEADER_LEN as u32;
        s.total = info_end;
        s.info_end = info_end;
        Ok(())
    }

    /// Splits `chunk` where the image's length becomes known: the bytes up to the end of
    /// the unprotected TLV area's info header, then the rest. The info header's bytes are
    /// kept after the image header in the header buffer, and once all four are in the
    /// length is set, before any of them is written.
    pub(super) fn split_at_tlv_info<'c>(
        &mut self,
        chunk: &'c [u8],
    ) -> Result<(&'c [u8], &'c [u8]), Error> {
        let s = &mut self.stream;
        if s.info_end == 0 {
            return Ok((chunk, &[]));
        }
        let until = s.info_end.saturating_sub(s.received) as usize;
        let (piece, rest) = chunk.split_at(until.min(chunk.len()));
        let info_start = s.info_end.saturating_sub(TLV_HEADER_LEN as u32);
        for (i, &b) in piece.iter().enumerate() {
            let at = s.received as usize + i;
            if let Some(k) = at.checked_sub(info_start as usize) {
                if let Some(dst) = s.header.get_mut(HEADER_LEN + k) {
                    *dst = b;
                }
            }
        }
        if piece.len() == until {
            self.tlv_info_complete()?;
        }
        Ok((piece, rest))
    }

    /// The unprotected TLV area's info header is in the header buffer: its magic and
    /// length checked, the image's length set from it.
    fn tlv_info_complete(&mut self) -> Result<(), Error> {
        let s = &self.stream;
        let mut info = [0u8; TLV_HEADER_LEN];
        info.copy_from_slice(
            s.header
                .get(HEADER_LEN..HEADER_LEN + TLV_HEADER_LEN)
                .unwrap_or(&[0; TLV_HEADER_LEN]),
        );
        let [m0, m1, l0, l1] = info;
        let area = u32::from(u16::from_le_bytes([l0, l1]));
        if u16::from_le_bytes([m0, m1]) != TLV_INFO_MAGIC || area < TLV_HEADER_LEN as u32 {
            return Err(refused(McubootError::BadTlvArea));
        }
        let start = s.info_end.saturating_sub(TLV_HEADER_LEN as u32);
        let total = u64::from(start) + u64::from(area);
        if total > u64::from(self.capacity(self.update_slot())) {
            return Err(refused(McubootError::TooLarge));
        }
        let s = &mut self.stream;
        s.total = start + area;
        s.info_end = 0;
        Ok(())
    }

    /// [`resume`](Self::resume) for an image: its header, read back from slot offset 0
    /// into `buf`, checked again, and its length taken from the info header in flash when
    /// the download had got past it.
    pub(super) fn reload_image(
        &mut self,
        progress: u32,
        buf: &[u8; MAX_HEADER_LEN],
    ) -> Result<(), Error> {
        let header = ImageHeader::parse(buf).map_err(refused)?;
        self.check_image_header(&header).map_err(refused)?;
        if progress < HEADER_LEN as u32 {
            return Err(refused(McubootError::Truncated));
        }
        let info_start = header.hashed_len();
        let info_end = info_start.saturating_add(TLV_HEADER_LEN as u32);
        let s = &mut self.stream;
        s.header = [0; MAX_HEADER_LEN];
        if let (Some(dst), Some(src)) = (s.header.get_mut(..HEADER_LEN), buf.get(..HEADER_LEN)) {
            dst.copy_from_slice(src);
        }
        s.header_fill = HEADER_LEN;
        s.header_len = HEADER_LEN;
        s.payload_at = HEADER_LEN as u32;
        s.total = info_end;
        s.info_end = info_end;
        s.received = progress;
        if progress > info_start {
            // The part of the info header already in flash: a sector may end inside it.
            let have = progress.min(info_end) - info_start;
            let slot = self.update_slot();
            let mut info = [0u8; TLV_HEADER_LEN];
            let part = info.get_mut(..have as usize).unwrap_or_default();
            with_slot!(self, slot, |f| f.read(info_start, part))?;
            if let Some(dst) = self
                .stream
                .header
                .get_mut(HEADER_LEN..HEADER_LEN + TLV_HEADER_LEN)
            {
                dst.copy_from_slice(&info);
            }
            if progress >= info_end {
                self.tlv_info_complete()?;
            }
        }
        // The image lies in the slot from offset 0: its stream offset is its slot offset.
        if !super::resumes_at::<A>(progress, self.stream.total, progress) {
            return Err(refused(McubootError::Truncated));
        }
        self.stream.writer = SlotWriter::new(progress, progress);
        Ok(())
    }

    /// [`finish`](Self::finish) for an image: the whole image read back from flash and
    /// verified with the verifier's keys (hash, key, signature), then its version and
    /// security counter checked against the running image's.
    pub(super) fn finish_image(&mut self) -> Result<u32, Error> {
        let s = &self.stream;
        if s.header_fill < HEADER_LEN || s.info_end != 0 || s.received < s.total {
            return self.refuse(refused(McubootError::Truncated));
        }
        let announced = ImageHeader::parse(s.header.get(..HEADER_LEN).unwrap_or_default());
        let total = s.total;
        let verified = match self.verify_update(total) {
            Ok(v) => v,
            Err(e) if e.refusal().is_some() => return self.refuse(e),
            Err(e) => return Err(e),
        };
        // The image in flash must also be the one whose header was checked.
        if announced != Ok(*verified.header()) {
            return self.refuse(refused(McubootError::HashMismatch));
        }
        let version = verified.version();
        match self.running_image()? {
            Some((running, counter)) => {
                let checked = check_version(running, version).and_then(|()| {
                    check_security_counter(counter.unwrap_or(0), verified.security_counter())
                });
                if let Err(e) = checked {
                    return self.refuse(refused(e));
                }
            }
            None if version.code32() <= self.device.version() => {
                return self.refuse(refused(McubootError::Downgrade));
            }
            None => {}
        }
        let code = version.code32();
        let mut next = self.state;
        next.phase = Phase::Ready;
        next.progress = 0;
        next.target_version = code;
        self.persist(next)?;
        self.stream.open = false;
        info!("installer: MCUboot image {} verified", code);
        Ok(code)
    }

    /// The `len` bytes of the image in the update slot, verified with the verifier's keys.
    /// Out of line: the keys and the verifier's buffers are on the stack only here.
    #[inline(never)]
    fn verify_update(&mut self, len: u32) -> Result<mcuboot::VerifiedImage, Error> {
        let slot = self.update_slot();
        let Self { a, b, verifier, .. } = self;
        let mut keys: heapless::Vec<&dyn ImageKey, MAX_IMAGE_KEYS> = heapless::Vec::new();
        verifier.image_keys(&mut |k| {
            // Keys past the first MAX_IMAGE_KEYS are not used (documented on the trait).
            let _ = keys.push(k);
        });
        let mut read = slot_reader(a, b, slot);
        mcuboot::verify_image(&mut read as &mut SlotRead<'_>, len, &keys).map_err(from_verify)
    }

    /// The version and security counter of the image in the active slot, when it is an
    /// MCUboot image; `None` when it is not (an update package's image, say).
    fn running_image(&mut self) -> Result<Option<(ImageVersion, Option<u32>)>, Error> {
        let slot = self.state.active;
        let len = self.capacity(slot);
        let Self { a, b, .. } = self;
        let mut read = slot_reader(a, b, slot);
        match mcuboot::read_image_info(&mut read as &mut SlotRead<'_>, len) {
            Ok((header, counter)) => Ok(Some((header.version(), counter))),
            Err(VerifyError::Image(_)) => Ok(None),
            Err(VerifyError::Read(e)) => Err(e),
        }
    }

    /// [`verify_slot`](Self::verify_slot) for a slot holding an MCUboot image, whose first
    /// bytes are already in `info`: its structure and hash checked, its version code, image
    /// size and version text (after the header in `info`'s buffer) noted.
    pub(super) fn verify_image_slot(
        &mut self,
        slot: Slot,
        info: &mut ImageInfo,
    ) -> Result<(), Error> {
        let len = self.capacity(slot);
        let Self { a, b, .. } = self;
        let mut read = slot_reader(a, b, slot);
        let header =
            mcuboot::check_image(&mut read as &mut SlotRead<'_>, len).map_err(from_verify)?;
        let version = header.version();
        let text = version.text();
        info.header_len = HEADER_LEN;
        info.name_len = text.len();
        if let Some(dst) = info.header.get_mut(HEADER_LEN..HEADER_LEN + text.len()) {
            dst.copy_from_slice(text.as_bytes());
        }
        info.version_code = version.code32();
        info.payload_len = header.image_size();
        Ok(())
    }
}
