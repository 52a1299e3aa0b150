//! The tail scan on any bytes and n: the range it returns is the last n lines, as Python's
//! split would find them, whatever the block boundaries; and when the scan read into a
//! caller's buffer (of a size from none to twice the data), the bytes there are that range.
#![no_main]
use libfuzzer_sys::fuzz_target;
use skyutils::files::{tail_into, tail_range, TailError};

fuzz_target!(|input: (u8, Vec<u8>)| {
    let (selector, data) = input;
    let n = u64::from(selector % 40);
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
    let got: Vec<&[u8]> = data[start as usize..end as usize]
        .split(|&b| b == b'\n')
        .collect();
    assert_eq!(got, want);

    let mut out = vec![0u8; data.len() * usize::from(selector / 40) / 3];
    let (into_start, into_end, offset) = tail_into(read, data.len() as u64, n, &mut out).unwrap();
    assert_eq!((into_start, into_end), (start, end));
    if let Some(offset) = offset {
        let len = (end - start) as usize;
        assert_eq!(
            &out[offset..offset + len],
            &data[start as usize..end as usize]
        );
    }
});
