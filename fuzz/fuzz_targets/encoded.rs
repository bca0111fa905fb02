//! Encoded-value detection and decoding (base64, hex, percent-encoding).
#![no_main]

use keysweep::format::encoded;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    encoded::decode_runs(data, |r, _, decoded| {
        assert!(r.end <= data.len() && r.start <= r.end);
        std::hint::black_box(decoded);
    });
    encoded::percent_runs(data, |r, decoded| {
        assert!(r.end <= data.len() && r.start <= r.end);
        std::hint::black_box(decoded);
    });
});
