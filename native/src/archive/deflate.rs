//! Raw deflate of one block, as pigz makes them: a block after the first is primed with the
//! 32 KiB of input before it (so it compresses as if the stream had run on), and ends on a
//! byte boundary with a sync flush; the file's last block ends the stream. Concatenated in
//! order, the blocks are one deflate stream any inflater reads.

use flate2::{Compress, Compression, FlushCompress, Status};

/// The deflate window: what a block may refer back to.
pub(crate) const WINDOW: usize = 32 * 1024;

/// Input at least this long is first sampled for whether deflate can shrink it at all.
const SAMPLED: usize = 64 * 1024;
const SAMPLE: usize = 16 * 1024;
/// A sample that level 1 shrinks by less than 1/64 counts as incompressible.
const GAIN: usize = 64;
/// The most data one stored block holds.
const STORED_MAX: usize = 65_535;

/// A compressor kept by one worker across blocks (zlib's state is ~300 KiB: made once).
pub struct Deflater {
    level: u32,
    inner: Compress,
    probe: Compress, // level 1, for the samples
    sample_out: Vec<u8>,
}

impl Deflater {
    pub fn new(level: u32) -> Deflater {
        Deflater {
            level,
            inner: Compress::new(Compression::new(level), false),
            probe: Compress::new(Compression::new(1), false),
            sample_out: Vec::with_capacity(SAMPLE + 1024),
        }
    }

    /// Whether three samples of `input` (its start, middle and end) all fail to shrink at
    /// level 1: random or already compressed data (archives, images, checkpoints), which
    /// deflate at any level would leave as stored blocks, after searching it for matches.
    fn incompressible(&mut self, input: &[u8]) -> bool {
        if self.level == 0 || input.len() < SAMPLED {
            return false;
        }
        let starts = [0, input.len() / 2 - SAMPLE / 2, input.len() - SAMPLE];
        starts.iter().all(|&at| {
            let sample = &input[at..at + SAMPLE];
            self.probe.reset();
            self.sample_out.clear();
            let _ = self
                .probe
                .compress_vec(sample, &mut self.sample_out, FlushCompress::Finish);
            let ended = self.probe.total_in() as usize == sample.len();
            ended && self.sample_out.len() >= sample.len() - sample.len() / GAIN
        })
    }

    /// `input` compressed after `dictionary` (the input just before it; empty for a file's
    /// first block), appended to `out`; `last` ends the stream.
    pub fn block(&mut self, dictionary: &[u8], input: &[u8], last: bool, out: &mut Vec<u8>) {
        if self.incompressible(input) {
            stored(input, last, out);
            return;
        }
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

/// `input` as deflate's stored blocks (each block here starts on a byte boundary: a file's
/// first, or after a sync flush or stored blocks), the stream's last if `last`.
pub fn stored(input: &[u8], last: bool, out: &mut Vec<u8>) {
    let chunks: Vec<&[u8]> = if input.is_empty() {
        vec![input]
    } else {
        input.chunks(STORED_MAX).collect()
    };
    out.reserve(input.len() + 5 * chunks.len());
    for (i, chunk) in chunks.iter().enumerate() {
        let len = chunk.len() as u16; // at most STORED_MAX
        out.push(u8::from(last && i + 1 == chunks.len())); // BFINAL, BTYPE 00
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
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

    fn random(len: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    #[test]
    fn incompressible_blocks_are_stored_and_inflate() {
        // Random blocks between text blocks, in one stream: stored, then deflate again, primed.
        let mut data = sample(300_000);
        data.extend(random(200_000, 7));
        data.extend(sample(100_000));
        let mut d = Deflater::new(6);
        let mut out = Vec::new();
        let block = 100_000;
        let chunks: Vec<&[u8]> = data.chunks(block).collect();
        for (i, chunk) in chunks.iter().enumerate() {
            let at = i * block;
            d.block(
                &data[at.saturating_sub(WINDOW)..at],
                chunk,
                i + 1 == chunks.len(),
                &mut out,
            );
        }
        assert_eq!(inflate(&out, data.len()), data);
        assert!(d.incompressible(&random(SAMPLED, 3)));
        assert!(!d.incompressible(&sample(SAMPLED)));
        for (len, last) in [
            (0, true),
            (1, false),
            (65_535, true),
            (65_536, true),
            (200_000, false),
        ] {
            let input = random(len, 11);
            let mut out = Vec::new();
            stored(&input, last, &mut out);
            if !last {
                stored(&[], true, &mut out);
            }
            assert_eq!(inflate(&out, len), input);
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
