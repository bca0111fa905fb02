//! Standard input as one blob.

use std::io::Read;

use crate::blob::{Blob, Bytes, Origin};

/// Reads all of standard input.
///
/// # Errors
///
/// Fails when standard input cannot be read.
pub fn read_stdin() -> std::io::Result<Blob> {
    let mut buf = Vec::new();
    std::io::stdin().lock().read_to_end(&mut buf)?;
    Ok(Blob::new(Bytes::Owned(buf), Origin::Stdin))
}
