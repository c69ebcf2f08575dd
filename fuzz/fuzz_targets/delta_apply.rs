//! Any bytes as a detools patch: applied or refused, never a panic, never a read outside the
//! old image, never a write past the size the header announced. The first input byte picks
//! the old image's length, the workspace and the piece size the patch is fed in.
#![no_main]

use iotadm::firmware::delta::{DeltaSink, DeltaSource, Patcher, MAX_WORKSPACE_LEN};
use libfuzzer_sys::fuzz_target;

struct Old(Vec<u8>);

impl DeltaSource for Old {
    type Error = ();
    fn len(&self) -> u32 {
        self.0.len() as u32
    }
    fn read_at(&mut self, offset: u32, buf: &mut [u8]) -> Result<(), ()> {
        let at = offset as usize;
        let src = self.0.get(at..at + buf.len()).expect("read outside the old image");
        buf.copy_from_slice(src);
        Ok(())
    }
}

struct New {
    len: u64,
    limit: u64,
}

impl DeltaSink for New {
    type Error = ();
    fn write(&mut self, data: &[u8]) -> Result<(), ()> {
        self.len += data.len() as u64;
        assert!(self.len <= self.limit, "write past the announced size");
        Ok(())
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, patch)) = data.split_first() else {
        return;
    };
    let old: Vec<u8> = (0..u32::from(pick & 0x0f) * 61).map(|i| (i * 31 + i / 7) as u8).collect();
    let mut workspace = [0u8; MAX_WORKSPACE_LEN];
    let ws_len = if pick & 0x10 != 0 { 256 } else { MAX_WORKSPACE_LEN };
    let chunk = [1, 3, 64, usize::MAX][usize::from(pick >> 6)];
    let mut p = Patcher::new(&mut workspace[..ws_len]);
    let mut old = Old(old);
    let mut new = New { len: 0, limit: u64::MAX };
    for piece in patch.chunks(chunk.min(patch.len()).max(1)) {
        let r = p.feed(piece, &mut old, &mut new);
        if let Some(size) = p.to_size() {
            new.limit = u64::from(size);
            assert!(new.len <= new.limit);
        }
        assert_eq!(u64::from(p.produced()), new.len);
        if r.is_err() {
            assert!(p.finish().is_err());
            return;
        }
    }
    if let Ok(n) = p.finish() {
        assert_eq!(u64::from(n), new.len);
        assert_eq!(p.to_size(), Some(n));
    }
});
