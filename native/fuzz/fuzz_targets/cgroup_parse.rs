//! The cgroup parsers on any bytes: never a panic, and a decided CPU quota is positive and
//! finite, a decided memory limit positive.
#![no_main]
use libfuzzer_sys::fuzz_target;
use skyutils::cgroup::{parse_cfs, parse_cpu_max, parse_memory_limit, Parse};

fuzz_target!(|input: (Vec<u8>, Vec<u8>)| {
    let (first, second) = input;
    for quota in [parse_cpu_max(&first), parse_cfs(&first, &second)] {
        if let Parse::Value(Some(cores)) = quota {
            assert!(cores.is_finite(), "{cores}");
        }
    }
    if let Parse::Value(Some(limit)) = parse_memory_limit(&first) {
        assert!(limit > 0);
    }
});
