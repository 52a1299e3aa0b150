//! The tail scan on any bytes and n: the range it returns is the last n lines, as Python's
//! split would find them, whatever the block boundaries.
#![no_main]
use libfuzzer_sys::fuzz_target;
use skyutils::files::{tail_range, TailError};

fuzz_target!(|input: (u8, Vec<u8>)| {
    let (n, data) = input;
    let n = u64::from(n % 40);
    let read = |buf: &mut [u8], offset: u64| -> Result<(), TailError> {
        let start = offset as usize;
        buf.copy_from_slice(&data[start..start + buf.len()]);
        Ok(())
    };
    if data.is_empty() || n == 0 {
        return;
    }
    let (start, end) = tail_range(read, data.len() as u64, n).unwrap();
    let body = data.strip_suffix(b"\n").unwrap_or(&data);
    assert_eq!(end as usize, body.len());
    let lines: Vec<&[u8]> = body.split(|&b| b == b'\n').collect();
    let want = &lines[lines.len().saturating_sub(n as usize)..];
    let got: Vec<&[u8]> = data[start as usize..end as usize].split(|&b| b == b'\n').collect();
    assert_eq!(got, want);
});
