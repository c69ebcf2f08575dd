//! The patcher's two edges: the old image, read at offsets, and the new one, written in
//! order.

/// The image the patch applies to, read at offsets.
pub trait DeltaSource {
    /// What a read can fail with.
    type Error;
    /// The image's size in bytes.
    fn len(&self) -> u32;
    /// True when the image is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Fills `buf` with the image's bytes from `offset` on. The patcher asks only for bytes
    /// inside the image, at most 64 at a time.
    fn read_at(&mut self, offset: u32, buf: &mut [u8]) -> Result<(), Self::Error>;
}

/// Where the new image goes, in order.
pub trait DeltaSink {
    /// What a write can fail with.
    type Error;
    /// Appends `data` to the new image.
    fn write(&mut self, data: &[u8]) -> Result<(), Self::Error>;
}
