//! The matcher with all bundled rules on arbitrary bytes, as a plain file.
#![no_main]

use std::sync::{Arc, OnceLock};

use keysweep::blob::Origin;
use keysweep::diag::Messages;
use keysweep::matcher::Scratch;
use keysweep::rules::{Confidence, RuleSet};
use keysweep::scan::Scanner;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    static SCANNER: OnceLock<Scanner> = OnceLock::new();
    let scanner =
        SCANNER.get_or_init(|| Scanner::new(Arc::new(RuleSet::builtin()), Confidence::Low));
    let origin = Origin::File("plain.txt".into());
    let mut scratch = Scratch::default();
    let _ = scanner.scan_bytes_with(data, &origin, &mut scratch, &Messages::new(true));
});
