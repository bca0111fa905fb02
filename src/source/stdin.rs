//! Standard input as one blob.

use std::io::Read;

use crate::blob::{Blob, Bytes, Origin};

/// Reads standard input, up to `max_size` bytes: an endless stream (`yes |
/// keysweep scan -`) must not exhaust memory.
///
/// # Errors
///
/// Fails when standard input cannot be read, or holds more than `max_size`
/// bytes ([`std::io::ErrorKind::FileTooLarge`]; nothing is scanned then).
pub fn read_stdin(max_size: u64) -> std::io::Result<Blob> {
    read_bounded(std::io::stdin().lock(), max_size)
}

fn read_bounded(input: impl Read, max_size: u64) -> std::io::Result<Blob> {
    let mut buf = Vec::new();
    input
        .take(max_size.saturating_add(1))
        .read_to_end(&mut buf)?;
    if buf.len() as u64 > max_size {
        return Err(std::io::Error::new(
            std::io::ErrorKind::FileTooLarge,
            format!("larger than --max-file-size ({max_size} bytes); not scanned"),
        ));
    }
    Ok(Blob::new(Bytes::Owned(buf), Origin::Stdin))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_up_to_the_limit_and_refuses_more() {
        let b = read_bounded(&b"0123456789"[..], 10).unwrap();
        assert_eq!(&*b.bytes, b"0123456789");
        let Err(e) = read_bounded(std::io::repeat(b'x'), 1 << 20) else {
            panic!("an endless input was read whole");
        };
        assert_eq!(e.kind(), std::io::ErrorKind::FileTooLarge);
        assert!(e.to_string().contains("1048576 bytes"), "{e}");
    }
}
