//! Sizes and durations as users write them (`25MiB`, `500ms`), for flags and
//! `keysweep.toml` alike.

/// The default `--max-file-size` and `max_file_size`: larger files are skipped
/// and counted.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 25 << 20;

/// A size or duration that does not parse; the message says what to write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UnitError(String);

/// Parses a size such as `1024`, `500K`, `25MiB` or `1.5G` (binary units).
///
/// ```
/// use keysweep::config::units::parse_size;
/// assert_eq!(parse_size("25MiB"), Ok(25 << 20));
/// assert_eq!(parse_size("500k"), Ok(500 << 10));
/// assert_eq!(parse_size("1024"), Ok(1024));
/// assert!(parse_size("lots").is_err());
/// ```
pub fn parse_size(s: &str) -> Result<u64, UnitError> {
    let (n, unit) = number_and_unit(s, "a size (try 500K, 25MiB or 1G)")?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => {
            return Err(UnitError(format!(
                "unknown size unit {other:?} (use K, M or G)"
            )))
        }
    };
    Ok((n * mult as f64) as u64)
}

/// Parses a duration: a number with `ms`, `s` or `m` (seconds if bare).
///
/// ```
/// use std::time::Duration;
/// use keysweep::config::units::parse_duration;
/// assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
/// assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
/// assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
/// assert!(parse_duration("0s").is_err());
/// assert!(parse_duration("soon").is_err());
/// ```
pub fn parse_duration(s: &str) -> Result<std::time::Duration, UnitError> {
    let (n, unit) = number_and_unit(s, "a duration (try 10s or 500ms)")?;
    let secs = match unit.trim() {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" => n * 60.0,
        other => {
            return Err(UnitError(format!(
                "unknown duration unit {other:?} (use ms, s or m)"
            )))
        }
    };
    if !(secs > 0.0 && secs <= 3600.0) {
        return Err(UnitError(format!(
            "{s:?} must be more than 0 and at most an hour"
        )));
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

/// Parses an age or a wait: a number with `s`, `m`, `h` or `d` (seconds if
/// bare), from 0 up to a year — `--revalidate-after 7d`,
/// `--rate-limit-wait 0`.
///
/// ```
/// use std::time::Duration;
/// use keysweep::config::units::parse_age;
/// assert_eq!(parse_age("12h"), Ok(Duration::from_secs(12 * 3600)));
/// assert_eq!(parse_age("7d"), Ok(Duration::from_secs(7 * 86400)));
/// assert_eq!(parse_age("0"), Ok(Duration::ZERO));
/// assert!(parse_age("2y").is_err());
/// assert!(parse_age("400d").is_err());
/// ```
pub fn parse_age(s: &str) -> Result<std::time::Duration, UnitError> {
    let (n, unit) = number_and_unit(s, "an age (try 30m, 12h or 7d)")?;
    let secs = match unit.trim() {
        "" | "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        "d" => n * 86400.0,
        other => {
            return Err(UnitError(format!(
                "unknown unit {other:?} (use s, m, h or d)"
            )))
        }
    };
    if !(0.0..=365.0 * 86400.0).contains(&secs) {
        return Err(UnitError(format!("{s:?} must be at most 365d")));
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

/// Splits `s` into its leading number and the unit after it; `what` names
/// the kind of value for the error.
fn number_and_unit<'a>(s: &'a str, what: &str) -> Result<(f64, &'a str), UnitError> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n = num
        .parse()
        .map_err(|_| UnitError(format!("{s:?} is not {what}")))?;
    Ok((n, unit))
}
