//! Closient ids: 22-character shortuuids, and the canonical UUIDs Closient
//! also accepts on input.
//!
//! A shortuuid is the UUID's 128-bit integer written in base 57, most
//! significant digit first, left-padded with `2` (the digit zero) to 22
//! characters, over the alphabet [`ALPHABET`]. 57^22 is larger than 2^128,
//! so some 22-character strings name no UUID; they are rejected.

use std::fmt::Write as _;

/// The 57 shortuuid symbols in digit order: `2` is zero, `z` is 56.
pub(crate) const ALPHABET: &[u8; 57] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
/// Length of every shortuuid.
pub(crate) const SHORTUUID_LEN: usize = 22;
/// Length of a canonical UUID (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`).
pub(crate) const UUID_LEN: usize = 36;

const BASE: u128 = ALPHABET.len() as u128;

/// Why a text is not a Closient id. The messages are written for API users.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum IdError {
    /// Neither 22 (shortuuid) nor 36 (UUID) characters long.
    #[error(
        "expected a 22-character shortuuid or a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx), \
         got {0} characters"
    )]
    Length(usize),
    /// A character outside the shortuuid alphabet.
    #[error(
        "character {character:?} at position {position} is not in the shortuuid alphabet \
         (digits 2-9 and letters without I, O and l)"
    )]
    Character {
        /// The offending character.
        character: char,
        /// Its 0-based position.
        position: usize,
    },
    /// 22 valid symbols whose value does not fit 128 bits.
    #[error("shortuuid is out of range: its value exceeds 128 bits")]
    Overflow,
    /// 36 characters that are not a canonical UUID.
    #[error(
        "malformed UUID: expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx with hexadecimal digits"
    )]
    MalformedUuid,
}

/// Encodes a UUID's 128-bit value as a shortuuid.
pub(crate) fn encode(value: u128) -> String {
    let mut digits = [ALPHABET[0]; SHORTUUID_LEN];
    let mut rest = value;
    for slot in digits.iter_mut().rev() {
        *slot = ALPHABET[(rest % BASE) as usize];
        rest /= BASE;
        if rest == 0 {
            break;
        }
    }
    digits.iter().map(|&b| char::from(b)).collect()
}

/// Decodes a shortuuid (exactly 22 alphabet symbols) into its 128-bit value.
pub(crate) fn decode(text: &str) -> Result<u128, IdError> {
    let length = text.chars().count();
    if length != SHORTUUID_LEN {
        return Err(IdError::Length(length));
    }
    let mut value: u128 = 0;
    for (position, character) in text.chars().enumerate() {
        let digit = digit_of(character).ok_or(IdError::Character {
            character,
            position,
        })?;
        value = value
            .checked_mul(BASE)
            .and_then(|v| v.checked_add(digit))
            .ok_or(IdError::Overflow)?;
    }
    Ok(value)
}

fn digit_of(character: char) -> Option<u128> {
    let byte = u8::try_from(character).ok()?;
    ALPHABET
        .iter()
        .position(|&symbol| symbol == byte)
        .map(|index| index as u128)
}

/// Parses a canonical UUID (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, hex
/// digits in either case).
pub(crate) fn parse_uuid(text: &str) -> Result<u128, IdError> {
    let bytes = text.as_bytes();
    if bytes.len() != UUID_LEN {
        return Err(IdError::MalformedUuid);
    }
    let mut value: u128 = 0;
    for (index, &byte) in bytes.iter().enumerate() {
        if matches!(index, 8 | 13 | 18 | 23) {
            if byte != b'-' {
                return Err(IdError::MalformedUuid);
            }
            continue;
        }
        let nibble = char::from(byte)
            .to_digit(16)
            .ok_or(IdError::MalformedUuid)?;
        value = (value << 4) | u128::from(nibble);
    }
    Ok(value)
}

/// Formats a 128-bit value as a lower-case canonical UUID (the form the
/// legacy listing's path parameter is documented in).
pub(crate) fn format_uuid(value: u128) -> String {
    let hex = format!("{value:032x}");
    let mut out = String::with_capacity(UUID_LEN);
    for (index, part) in [(0, 8), (8, 12), (12, 16), (16, 20), (20, 32)]
        .iter()
        .enumerate()
    {
        if index > 0 {
            out.push('-');
        }
        // Cannot fail: writing to a String.
        let _ = write!(out, "{}", &hex[part.0..part.1]);
    }
    out
}

/// Reads an id in either accepted form: a shortuuid or a canonical UUID.
pub(crate) fn parse_id(text: &str) -> Result<u128, IdError> {
    if text.len() == UUID_LEN && text.is_ascii() {
        parse_uuid(text)
    } else {
        decode(text)
    }
}

/// The canonical (shortuuid) form of an id given in either accepted form.
pub(crate) fn canonical(text: &str) -> Result<String, IdError> {
    parse_id(text).map(encode)
}

/// Whether `text` is already a canonical shortuuid.
#[cfg(test)]
pub(crate) fn is_shortuuid(text: &str) -> bool {
    decode(text).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const VECTORS: &[(&str, &str)] = &[
        (
            "3c90c3cc-0d44-4b50-8888-8dd25736052a",
            "CnEqURgZ3swzj528KMLvX5",
        ),
        (
            "00000000-0000-0000-0000-000000000000",
            "2222222222222222222222",
        ),
        (
            "00000000-0000-0000-0000-000000000001",
            "2222222222222222222223",
        ),
        (
            "ffffffff-ffff-ffff-ffff-ffffffffffff",
            "oZEq7ovRbLq6UnGMPwc8B5",
        ),
    ];

    #[test]
    fn encodes_the_documented_test_vectors() {
        for (uuid, short) in VECTORS {
            assert_eq!(encode(parse_uuid(uuid).unwrap()), *short, "{uuid}");
        }
    }

    #[test]
    fn decodes_the_documented_test_vectors_back_to_uuids() {
        for (uuid, short) in VECTORS {
            assert_eq!(format_uuid(decode(short).unwrap()), *uuid, "{short}");
        }
    }

    #[test]
    fn round_trips_arbitrary_values() {
        let mut rng = fastrand::Rng::with_seed(57);
        for _ in 0..1000 {
            let value = rng.u128(..);
            let short = encode(value);
            assert_eq!(short.len(), SHORTUUID_LEN);
            assert_eq!(decode(&short), Ok(value));
            assert_eq!(parse_uuid(&format_uuid(value)), Ok(value));
        }
    }

    #[test]
    fn canonical_accepts_both_forms_and_returns_the_shortuuid() {
        assert_eq!(
            canonical("3C90C3CC-0D44-4B50-8888-8DD25736052A").as_deref(),
            Ok("CnEqURgZ3swzj528KMLvX5")
        );
        assert_eq!(
            canonical("CnEqURgZ3swzj528KMLvX5").as_deref(),
            Ok("CnEqURgZ3swzj528KMLvX5")
        );
    }

    #[test]
    fn rejects_characters_outside_the_alphabet() {
        for bad in ['0', '1', 'I', 'O', 'l', '-', '_', 'é'] {
            let text: String = std::iter::repeat_n('2', 21).chain([bad]).collect();
            assert_eq!(
                decode(&text),
                Err(IdError::Character {
                    character: bad,
                    position: 21
                }),
                "{text}"
            );
        }
    }

    #[test]
    fn rejects_values_above_128_bits() {
        // One more than the largest UUID, and the largest 22-symbol string.
        assert_eq!(decode("oZEq7ovRbLq6UnGMPwc8B6"), Err(IdError::Overflow));
        assert_eq!(decode(&"z".repeat(22)), Err(IdError::Overflow));
    }

    #[test]
    fn rejects_wrong_lengths_and_malformed_uuids() {
        assert_eq!(decode(""), Err(IdError::Length(0)));
        assert_eq!(parse_id("CnEqURgZ3swzj528KMLvX"), Err(IdError::Length(21)));
        assert_eq!(
            parse_id("CnEqURgZ3swzj528KMLvX55"),
            Err(IdError::Length(23))
        );
        for bad in [
            "3c90c3cc0d444b5088888dd25736052a",
            "3c90c3cc-0d44-4b50-8888-8dd25736052g",
            "3c90c3cc_0d44-4b50-8888-8dd25736052a",
            "{3c90c3cc-0d44-4b50-8888-8dd2573605}",
            "+c90c3cc-0d44-4b50-8888-8dd25736052a",
        ] {
            assert!(parse_id(bad).is_err(), "{bad}");
        }
        assert!(!is_shortuuid("3c90c3cc-0d44-4b50-8888-8dd25736052a"));
        assert!(is_shortuuid("CnEqURgZ3swzj528KMLvX5"));
    }
}
