//! RE2-to-Rust regex translation, and compiling what it returns (with the
//! size limit rules get), since a translation may not panic the compiler.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(re) = keysweep::gitleaks::re2::translate(text) {
        let _ = regex::bytes::RegexBuilder::new(&re)
            .size_limit(1 << 20)
            .build();
    }
});
