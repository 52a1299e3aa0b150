//! base36_encode: hex text to base36, for any length.
//!
//! Only plain ASCII hex is decided here; every other spelling Python's `int(s, 16)`
//! knows (Unicode digits and spaces, signs) is deferred to Python, so the two
//! backends cannot disagree on what is valid.

use std::ffi::{c_char, c_int};

use crate::ffi::{self, bytes_arg};

const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
/// 36^6 is the largest power of 36 below 2^32: six base36 digits per long division.
const CHUNK_DIVISOR: u64 = 36u64.pow(6);
const CHUNK_DIGITS: usize = 6;

/// The ASCII bytes int() strips: C's isspace(). Not str.isspace(), which also counts
/// 0x1c-0x1f; int('\x1c4', 16) is a ValueError (found by ci/fuzz-native).
fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// The hex digit values of `text` as int(text, 16) reads them, or None when the text is
/// not plain non-negative ASCII hex (Python then decides: a value or ValueError).
pub fn parse_hex(text: &[u8]) -> Option<Vec<u8>> {
    let start = text.iter().position(|&b| !is_space(b))?;
    let end = text.iter().rposition(|&b| !is_space(b))? + 1;
    let mut body = &text[start..end];
    if let Some(rest) = body.strip_prefix(b"+") {
        body = rest;
    }
    let mut after_prefix = false;
    if body.len() >= 2 && body[0] == b'0' && (body[1] == b'x' || body[1] == b'X') {
        body = &body[2..];
        after_prefix = true;
    }
    let mut values = Vec::with_capacity(body.len());
    // int() allows one '_' between digits, and one right after the 0x prefix.
    let mut underscore_ok = after_prefix;
    for &byte in body {
        if byte == b'_' {
            if !underscore_ok {
                return None;
            }
            underscore_ok = false;
            continue;
        }
        let value = (byte as char).to_digit(16)? as u8;
        values.push(value);
        underscore_ok = true;
    }
    if values.is_empty() || body.last() == Some(&b'_') {
        return None;
    }
    Some(values)
}

/// Base36 digits (ASCII) of the number whose hex digit values are given, most significant first.
pub fn base36_from_hex_digits(hex_digits: &[u8]) -> Vec<u8> {
    let significant = hex_digits.iter().position(|&d| d != 0);
    let Some(first) = significant else {
        return b"0".to_vec();
    };
    let hex_digits = &hex_digits[first..];
    if hex_digits.len() <= 32 {
        let value = hex_digits
            .iter()
            .fold(0u128, |acc, &d| (acc << 4) | d as u128);
        return base36_u128(value);
    }
    base36_big(hex_digits)
}

fn base36_u128(mut value: u128) -> Vec<u8> {
    let mut out = Vec::with_capacity(25);
    while value != 0 {
        out.push(DIGITS[(value % 36) as usize]);
        value /= 36;
    }
    out.reverse();
    out
}

/// Long division of a little-endian base-2^32 number by 36^6, repeated until zero.
fn base36_big(hex_digits: &[u8]) -> Vec<u8> {
    let mut limbs: Vec<u32> = hex_digits
        .rchunks(8)
        .map(|chunk| chunk.iter().fold(0u32, |acc, &d| (acc << 4) | d as u32))
        .collect();
    let mut out = Vec::with_capacity(hex_digits.len() * 4 / 5 + CHUNK_DIGITS);
    while !limbs.is_empty() {
        let mut remainder: u64 = 0;
        for limb in limbs.iter_mut().rev() {
            let current = (remainder << 32) | *limb as u64;
            *limb = (current / CHUNK_DIVISOR) as u32;
            remainder = current % CHUNK_DIVISOR;
        }
        while limbs.last() == Some(&0) {
            limbs.pop();
        }
        for _ in 0..CHUNK_DIGITS {
            out.push(DIGITS[(remainder % 36) as usize]);
            remainder /= 36;
            if limbs.is_empty() && remainder == 0 {
                break;
            }
        }
    }
    out.reverse();
    out
}

/// The most base36 digits `hex_len` hex characters can produce (log 16 / log 36 < 0.774).
pub fn base36_capacity(hex_len: usize) -> usize {
    hex_len - hex_len / 5 + 2
}

/// Writes base36 of the hex text, NUL-terminated, into the caller's `out` and returns `out`;
/// NULL when Python must decide (not plain ASCII hex, a negative value, a bad pointer or
/// length, an `out` shorter than `base36_capacity(hex_len) + 1`, a panic). The library keeps
/// nothing: the result is the caller's, so no other call (another thread's, or a nested one
/// from a signal handler) can overwrite it.
///
/// Pointers and C ints only, and the result as a C string: ctypes converts all of them itself
/// with no argtypes and restype `c_char_p`, the cheapest call it has. At 32 digits the call is
/// most of the cost: each argtypes conversion adds about 0.2 us.
///
/// # Safety
/// `hex` must point to `hex_len` readable bytes and `out` to `out_cap` writable bytes that
/// nothing else touches during the call.
#[no_mangle]
pub unsafe extern "C" fn skyutils_base36_encode(
    hex: *const u8,
    hex_len: c_int,
    out: *mut c_char,
    out_cap: c_int,
) -> *const c_char {
    ffi::guard_or(std::ptr::null(), || {
        let (Some(len), Some(cap)) = (ffi::int_len(hex_len), ffi::int_len(out_cap)) else {
            return std::ptr::null();
        };
        if out.is_null() || cap <= base36_capacity(len) {
            return std::ptr::null();
        }
        // SAFETY: the caller passes a buffer of hex_len bytes.
        let Some(text) = (unsafe { bytes_arg(hex, len) }) else {
            return std::ptr::null();
        };
        let Some(digits) = parse_hex(text) else {
            return std::ptr::null();
        };
        let encoded = base36_from_hex_digits(&digits);
        // SAFETY: out is non-null with cap writable bytes, and cap > base36_capacity(len) >=
        // encoded.len() (capacity_is_enough), so the digits and the NUL fit.
        let out_bytes = unsafe { std::slice::from_raw_parts_mut(out.cast::<u8>(), cap) };
        out_bytes[..encoded.len()].copy_from_slice(&encoded);
        out_bytes[encoded.len()] = 0;
        out.cast_const()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(text: &str) -> Option<String> {
        parse_hex(text.as_bytes()).map(|d| String::from_utf8(base36_from_hex_digits(&d)).unwrap())
    }

    #[test]
    fn spec_examples() {
        for text in [
            "ff", "FF", "0xff", " ff ", "f_f", "+ff", "00ff", "0x_ff", "0Xff",
        ] {
            assert_eq!(encode(text).as_deref(), Some("73"), "{text}");
        }
        assert_eq!(encode("0x10").as_deref(), Some("g"));
        assert_eq!(encode("100").as_deref(), Some("74"));
        assert_eq!(encode("0").as_deref(), Some("0"));
        assert_eq!(encode("000_0").as_deref(), Some("0"));
        assert_eq!(
            encode("d41d8cd98f00b204e9800998ecf8427e").as_deref(),
            Some("ck2u8j60r58fu0sgyxrigm3cu")
        );
        assert_eq!(
            encode(&"f".repeat(40)).as_deref(),
            Some("twj4yidkw7a8pn4g709kzmfoaol3x8f")
        );
    }

    #[test]
    fn deferred_spellings() {
        for text in [
            "", " ", "g", "0x", "_ff", "ff_", "f__f", "-1", "- 1", "0x__f", "+", "1 2", "é",
            "\x1cff", "ff\x1f",
        ] {
            assert_eq!(encode(text), None, "{text:?}");
        }
    }

    #[test]
    fn big_path_matches_u128_path() {
        // 33+ digits take the limb path; compare with a value also reachable by u128.
        let small = "0".repeat(10) + &"f".repeat(32);
        assert_eq!(encode(&small), encode(&"f".repeat(32)));
        let limbs = base36_big(&parse_hex("f".repeat(32).as_bytes()).unwrap());
        assert_eq!(limbs, base36_u128(u128::MAX));
        for width in [1usize, 7, 8, 9, 31, 32] {
            let digits = parse_hex("9".repeat(width).as_bytes()).unwrap();
            let value = digits.iter().fold(0u128, |a, &d| a * 16 + d as u128);
            assert_eq!(base36_big(&digits), base36_u128(value), "{width}");
        }
    }

    #[test]
    fn capacity_is_enough() {
        for len in 1..400 {
            let digits = vec![15u8; len];
            assert!(
                base36_from_hex_digits(&digits).len() <= base36_capacity(len),
                "{len}"
            );
        }
    }
}
