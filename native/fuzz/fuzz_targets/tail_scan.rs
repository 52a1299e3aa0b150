//! The tail scan on any bytes, n, budget and buffer: the range it returns is the last n lines,
//! as Python's split would find them, whatever the block boundaries and however many calls
//! the budget splits it into; and when the scan read into a caller's buffer (of a size from
//! none to twice the data), the bytes there are that range.
#![no_main]
use libfuzzer_sys::fuzz_target;
use skyutils::files::tail::{Progress, Scan, TailError};

fuzz_target!(|input: (u8, u16, Vec<u8>)| {
    let (selector, budget, data) = input;
    let n = u64::from(selector % 40);
    let read = |buf: &mut [u8], offset: u64| -> Result<(), TailError> {
        let start = offset as usize;
        buf.copy_from_slice(&data[start..start + buf.len()]);
        Ok(())
    };
    if data.is_empty() || n == 0 {
        return;
    }
    let mut out = vec![0u8; data.len() * usize::from(selector / 40) / 3];
    let mut scan = Scan::new(data.len() as u64, n);
    let budget = u64::from(budget).max(1);
    let mut progress = scan.run(read, &mut out, &mut Vec::new(), budget).unwrap();
    while progress == Progress::More {
        progress = scan.run(read, &mut [], &mut Vec::new(), budget).unwrap();
    }
    let Progress::Done { start, in_out } = progress else {
        unreachable!()
    };
    let end = scan.end;
    let body = data.strip_suffix(b"\n").unwrap_or(&data);
    assert_eq!(end as usize, body.len());
    let lines: Vec<&[u8]> = body.split(|&b| b == b'\n').collect();
    let want = &lines[lines.len().saturating_sub(n as usize)..];
    let got: Vec<&[u8]> = data[start as usize..end as usize]
        .split(|&b| b == b'\n')
        .collect();
    assert_eq!(got, want);
    if in_out {
        let offset = out.len() - (data.len() - start as usize);
        let len = (end - start) as usize;
        assert_eq!(
            &out[offset..offset + len],
            &data[start as usize..end as usize]
        );
    }
});
