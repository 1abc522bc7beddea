//! Reading upstream values tolerantly: what the wire types of every style
//! share so that a value the API documents never fails an offer.
//!
//! - [`null_as_default`]: a field the API documents with a default reads
//!   `null` as that default, as it reads a missing field.
//! - [`opt_int`], [`uint`], [`uint32`]: counts arrive as JSON numbers of any
//!   size. Anything integral is read, saturating at the ends of `i64`/`u64`
//!   (a count above 2^53 or even 2^64 does not fail an offer); a fraction,
//!   a string or an object is still a decoding error.
//! - [`saturating_i32`]: the domain and GraphQL keep counts in `i32` (the
//!   GraphQL `Int`), saturating at `i32::MAX` rather than failing.
//!
//! Enum fields keep a catch-all variant of their own (`Unrecognized(String)`,
//! `#[serde(untagged)]`) in each style's `wire.rs`, so that an undocumented
//! value is read with its raw spelling.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

/// Reads `null` as the type's default, like a missing field.
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// An integral JSON number of any size, saturated into `i128` (wide
/// enough for every `i64` and `u64`).
struct WideInt(i128);

impl WideInt {
    fn saturating_i64(&self) -> i64 {
        i64::try_from(self.0).unwrap_or(if self.0 < 0 { i64::MIN } else { i64::MAX })
    }

    fn saturating_u64(&self) -> u64 {
        u64::try_from(self.0).unwrap_or(if self.0 < 0 { 0 } else { u64::MAX })
    }
}

impl<'de> Deserialize<'de> for WideInt {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Integral;

        impl Visitor<'_> for Integral {
            type Value = WideInt;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer")
            }

            fn visit_i64<E: de::Error>(self, value: i64) -> Result<WideInt, E> {
                Ok(WideInt(i128::from(value)))
            }

            fn visit_u64<E: de::Error>(self, value: u64) -> Result<WideInt, E> {
                Ok(WideInt(i128::from(value)))
            }

            fn visit_f64<E: de::Error>(self, value: f64) -> Result<WideInt, E> {
                // JSON integers beyond 64 bits arrive as floats; `as`
                // saturates at the ends of i128.
                if value.is_finite() && value.fract() == 0.0 {
                    Ok(WideInt(value as i128))
                } else {
                    Err(E::invalid_value(de::Unexpected::Float(value), &self))
                }
            }
        }

        deserializer.deserialize_any(Integral)
    }
}

/// Reads an integral JSON number of any size, saturated into `i64`; `null`
/// (or a missing field, with `#[serde(default)]`) is `None`.
pub(crate) fn opt_int<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    Ok(Option::<WideInt>::deserialize(deserializer)?.map(|wide| wide.saturating_i64()))
}

/// Reads a non-negative count of any size, saturated into `u64`; `null`
/// and negative numbers read as 0.
pub(crate) fn uint<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    Ok(Option::<WideInt>::deserialize(deserializer)?.map_or(0, |wide| wide.saturating_u64()))
}

/// Like [`uint`], saturated into `u32` (page sizes and numbers).
pub(crate) fn uint32<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    Ok(u32::try_from(uint(deserializer)?).unwrap_or(u32::MAX))
}

/// A wire count in the domain's `i32` (the GraphQL `Int`), saturated at
/// `i32::MIN`/`i32::MAX`.
pub(crate) fn saturating_i32(value: i64) -> i32 {
    i32::try_from(value).unwrap_or(if value < 0 { i32::MIN } else { i32::MAX })
}

/// A listing's count in the GraphQL `Int`, saturated at `i32::MAX`.
pub(crate) fn saturating_count(value: u64) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Deserialize, Debug, PartialEq)]
    struct Counts {
        #[serde(default, deserialize_with = "opt_int")]
        maybe: Option<i64>,
        #[serde(default, deserialize_with = "uint")]
        total: u64,
        #[serde(default, deserialize_with = "null_as_default")]
        flag: bool,
    }

    fn read(json: &str) -> Result<Counts, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn wide_numbers_saturate_and_nulls_take_defaults() {
        let c = read(r#"{"maybe": 9007199254740993, "total": 18446744073709551616, "flag": null}"#)
            .unwrap();
        assert_eq!(c.maybe, Some(9_007_199_254_740_993));
        assert_eq!(c.total, u64::MAX);
        assert!(!c.flag);
        let c = read(r#"{"maybe": 1e30, "total": -5}"#).unwrap();
        assert_eq!((c.maybe, c.total), (Some(i64::MAX), 0));
        let c = read(r#"{"maybe": -1e30, "total": 3.0}"#).unwrap();
        assert_eq!((c.maybe, c.total), (Some(i64::MIN), 3));
        let c = read(r#"{"maybe": null, "total": null}"#).unwrap();
        assert_eq!((c.maybe, c.total), (None, 0));
        assert_eq!(read("{}").unwrap().maybe, None);
    }

    #[test]
    fn fractions_strings_and_objects_are_not_counts() {
        for bad in [
            r#"{"maybe": 2.5}"#,
            r#"{"maybe": "3"}"#,
            r#"{"maybe": {"n": 3}}"#,
            r#"{"total": [1]}"#,
        ] {
            assert!(read(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn counts_saturate_into_graphql_ints() {
        assert_eq!(saturating_i32(3_000_000_000), i32::MAX);
        assert_eq!(saturating_i32(-3_000_000_000), i32::MIN);
        assert_eq!(saturating_i32(42), 42);
        assert_eq!(saturating_count(u64::MAX), i32::MAX);
        assert_eq!(saturating_count(7), 7);
    }
}

/// A timestamp as the upstreams write them: RFC 3339 (`2024-10-23T21:52:56Z`,
/// with or without fractions), or with a `+HHMM` offset as Violet writes it
/// (`2024-10-23T21:52:56+0000`). `None` for anything else: a timestamp that
/// cannot be read only makes a change feed read further.
pub(crate) fn timestamp(text: &str) -> Option<std::time::SystemTime> {
    let text = text.trim();
    let (base, offset_secs) = match text.strip_suffix('Z').or_else(|| text.strip_suffix('z')) {
        Some(base) => (base, 0i64),
        None => {
            // The offset's sign is the last '+' or '-' after the time.
            let at = text.rfind(['+', '-']).filter(|&i| i > 10)?;
            let (base, offset) = text.split_at(at);
            let sign = if offset.starts_with('-') { -1 } else { 1 };
            let digits: String = offset[1..].chars().filter(char::is_ascii_digit).collect();
            if digits.len() != 4 {
                return None;
            }
            let hours: i64 = digits[..2].parse().ok()?;
            let minutes: i64 = digits[2..].parse().ok()?;
            (base, sign * (hours * 3600 + minutes * 60))
        }
    };
    let local = humantime::parse_rfc3339_weak(base).ok()?;
    let shift = std::time::Duration::from_secs(offset_secs.unsigned_abs());
    // `base` is local time at the offset: UTC is base - offset.
    if offset_secs >= 0 {
        local.checked_sub(shift)
    } else {
        local.checked_add(shift)
    }
}

#[cfg(test)]
mod timestamp_tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::timestamp;

    #[test]
    fn upstream_timestamps_read_as_the_same_instant() {
        let want = UNIX_EPOCH + Duration::from_secs(1_729_720_376);
        assert_eq!(timestamp("2024-10-23T21:52:56Z"), Some(want));
        assert_eq!(timestamp("2024-10-23T21:52:56.000Z"), Some(want));
        assert_eq!(timestamp("2024-10-23T21:52:56+0000"), Some(want));
        assert_eq!(timestamp("2024-10-23T23:52:56+02:00"), Some(want));
        assert_eq!(timestamp("2024-10-23T20:52:56-0100"), Some(want));
        for bad in ["", "yesterday", "2024-10-23", "2024-10-23T21:52:56+1"] {
            assert_eq!(timestamp(bad), None, "{bad}");
        }
    }
}
