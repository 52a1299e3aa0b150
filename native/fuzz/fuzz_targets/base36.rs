//! base36 of any bytes: what parses is plain ASCII hex, and its base36 digits name the same
//! number (checked exactly where it fits in u128).
#![no_main]
use libfuzzer_sys::fuzz_target;
use skyutils::text::{base36_capacity, base36_from_hex_digits, parse_hex};

fuzz_target!(|data: &[u8]| {
    let Some(digits) = parse_hex(data) else {
        return;
    };
    assert!(data.is_ascii());
    let encoded = base36_from_hex_digits(&digits);
    assert!(encoded.len() <= base36_capacity(data.len()));
    assert!(encoded
        .iter()
        .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase()));
    let significant: Vec<u8> = digits.iter().copied().skip_while(|&d| d == 0).collect();
    if significant.len() <= 32 {
        let value = significant
            .iter()
            .fold(0u128, |acc, &d| (acc << 4) | u128::from(d));
        let text = std::str::from_utf8(&encoded).unwrap();
        assert_eq!(u128::from_str_radix(text, 36).unwrap(), value);
    }
});
