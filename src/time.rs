//! Dates without a date crate: keysweep only ever formats Unix times.

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (Howard Hinnant's civil-from-days algorithm).
///
/// ```
/// assert_eq!(keysweep::time::civil_from_days(0), (1970, 1, 1));
/// assert_eq!(keysweep::time::civil_from_days(19_782), (2024, 2, 29));
/// assert_eq!(keysweep::time::civil_from_days(-1), (1969, 12, 31));
/// ```
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Formats a Unix time and UTC offset as RFC 3339.
///
/// ```
/// assert_eq!(keysweep::time::rfc3339(0, 0), "1970-01-01T00:00:00+00:00");
/// assert_eq!(keysweep::time::rfc3339(1700000000, 60), "2023-11-14T23:13:20+01:00");
/// assert_eq!(keysweep::time::rfc3339(1700000000, -90), "2023-11-14T20:43:20-01:30");
/// ```
pub fn rfc3339(secs: i64, offset_minutes: i32) -> String {
    let local = secs + offset_minutes as i64 * 60;
    let (y, m, d) = civil_from_days(local.div_euclid(86_400));
    let rem = local.rem_euclid(86_400);
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let off = offset_minutes.abs();
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        off / 60,
        off % 60
    )
}

/// Serializes a duration as seconds rounded to milliseconds, as reports
/// write elapsed times (`#[serde(serialize_with = "…")]`).
pub fn serialize_secs<S: serde::Serializer>(
    d: &std::time::Duration,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1000.0).round() / 1000.0)
}

/// Seconds since the Unix epoch now (0 if the clock is before it).
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The current time, RFC 3339 in UTC (`+00:00`).
pub fn now_rfc3339() -> String {
    rfc3339(unix_now(), 0)
}
