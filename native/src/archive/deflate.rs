//! Raw deflate of one block, as pigz makes them: a block after the first is primed with the
//! 32 KiB of input before it (so it compresses as if the stream had run on), and ends on a
//! byte boundary with a sync flush; the file's last block ends the stream. Concatenated in
//! order, the blocks are one deflate stream any inflater reads.

use flate2::{Compress, Compression, FlushCompress, Status};

/// The deflate window: what a block may refer back to.
pub(crate) const WINDOW: usize = 32 * 1024;

/// A compressor kept by one worker across blocks (zlib's state is ~300 KiB: made once).
pub struct Deflater {
    level: u32,
    inner: Compress,
}

impl Deflater {
    pub fn new(level: u32) -> Deflater {
        Deflater {
            level,
            inner: Compress::new(Compression::new(level), false),
        }
    }

    pub fn level(&self) -> u32 {
        self.level
    }

    /// `input` compressed after `dictionary` (the input just before it; empty for a file's
    /// first block), appended to `out`; `last` ends the stream.
    pub fn block(&mut self, dictionary: &[u8], input: &[u8], last: bool, out: &mut Vec<u8>) {
        self.inner.reset();
        if !dictionary.is_empty() {
            // Raw deflate with a fresh stream accepts any dictionary: the call cannot fail.
            let _ = self.inner.set_dictionary(dictionary);
        }
        let flush = if last {
            FlushCompress::Finish
        } else {
            FlushCompress::Sync
        };
        let start_in = self.inner.total_in();
        // zlib's deflateBound for raw deflate, plus the sync flush's empty stored block.
        out.reserve(input.len() + (input.len() >> 12) + (input.len() >> 14) + 64);
        loop {
            let done = (self.inner.total_in() - start_in) as usize;
            let before_out = self.inner.total_out();
            let status = self.inner.compress_vec(&input[done..], out, flush);
            let consumed = (self.inner.total_in() - start_in) as usize;
            match status {
                Ok(Status::StreamEnd) => return,
                Ok(_) if !last && consumed == input.len() && out.len() < out.capacity() => {
                    return; // the sync flush is complete when output room is left over
                }
                Ok(_) if self.inner.total_out() == before_out && out.len() < out.capacity() => {
                    return; // nothing more to give (defensive: never loop forever)
                }
                Ok(_) => out.reserve(out.capacity().max(64 * 1024)),
                Err(_) => unreachable!("raw deflate of a fresh stream cannot fail"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Decompress, FlushDecompress};

    fn inflate(data: &[u8], size: usize) -> Vec<u8> {
        let mut d = Decompress::new(false);
        let mut out = Vec::with_capacity(size + 1);
        d.decompress_vec(data, &mut out, FlushDecompress::Finish)
            .unwrap();
        out
    }

    fn sample(len: usize) -> Vec<u8> {
        let mut state = 7u32;
        (0..len)
            .map(|i| {
                state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                if i % 3 == 0 {
                    (state >> 16) as u8
                } else {
                    b"the quick brown fox "[i % 20]
                }
            })
            .collect()
    }

    #[test]
    fn blocks_make_one_stream() {
        for (len, block) in [
            (0, 4096),
            (1, 4096),
            (100_000, 4096),
            (300_000, 65_536),
            (65_536, 65_536),
        ] {
            let data = sample(len);
            let mut d = Deflater::new(6);
            let mut out = Vec::new();
            let chunks: Vec<&[u8]> = if data.is_empty() {
                vec![&data[..]]
            } else {
                data.chunks(block).collect()
            };
            let mut at = 0usize;
            for (i, chunk) in chunks.iter().enumerate() {
                let dict = &data[at.saturating_sub(WINDOW)..at];
                d.block(dict, chunk, i + 1 == chunks.len(), &mut out);
                at += chunk.len();
            }
            assert_eq!(inflate(&out, len), data, "len {len} block {block}");
        }
    }

    #[test]
    fn dictionary_helps() {
        let data = sample(200_000);
        let (a, b) = data.split_at(100_000);
        let mut d = Deflater::new(6);
        let (mut with, mut without) = (Vec::new(), Vec::new());
        d.block(&a[a.len() - WINDOW..], b, true, &mut with);
        d.block(&[], b, true, &mut without);
        assert!(with.len() <= without.len());
    }
}
