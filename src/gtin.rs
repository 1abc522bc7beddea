//! GTIN: the GS1 trade item number a barcode prints, and the one key the
//! gateway matches products on.
//!
//! A GTIN comes in four lengths: GTIN-8 (EAN-8), GTIN-12 (UPC-A), GTIN-13
//! (EAN-13) and GTIN-14. All are the same number right-aligned in 14 digits
//! with a GS1 check digit last, so every form is normalized to GTIN-14 by
//! left-padding with zeros (as Closient stores them): `196569222998`
//! (UPC-A), `0196569222998` (EAN-13) and `00196569222998` (GTIN-14) are one
//! product. Every code read from an upstream (Medusa `ean`/`upc`, Violet
//! SKU `gtin`/`upc`/`ean`, Closient product GTINs) goes through
//! [`Gtin::from_upstream`] before it is compared; every code a client
//! writes goes through [`Gtin::parse`], whose error names what is wrong.

use std::fmt;

/// A valid GTIN, normalized to GTIN-14: exactly 14 ASCII digits whose last
/// digit is the GS1 check digit of the first 13. Held by value (it is
/// `Copy`), printed as its 14 digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Gtin([u8; 14]);

/// Why a string is not a GTIN.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GtinError {
    /// Nothing but separators.
    #[error("a GTIN has 8, 12, 13 or 14 digits; this one is empty")]
    Empty,
    /// A character other than a digit, a space or a hyphen.
    #[error("a GTIN has only digits (spaces and hyphens between them are ignored); found {0:?}")]
    NotADigit(char),
    /// A digit count other than 8, 12, 13 or 14.
    #[error("a GTIN has 8, 12, 13 or 14 digits; this one has {0}")]
    Length(usize),
    /// The last digit is not the check digit of the others.
    #[error("the check digit is wrong: the last digit should be {expected}")]
    CheckDigit {
        /// The check digit the other digits call for.
        expected: u8,
    },
}

impl Gtin {
    /// Parses a GTIN-8, -12, -13 or -14 as a person or a scanner writes
    /// it: digits, with spaces or hyphens between groups allowed, and a
    /// valid check digit.
    pub fn parse(raw: &str) -> Result<Gtin, GtinError> {
        let mut digits = Vec::with_capacity(14);
        for c in raw.trim().chars() {
            match c {
                '0'..='9' => digits.push(c as u8 - b'0'),
                ' ' | '-' => {}
                other => return Err(GtinError::NotADigit(other)),
            }
        }
        match digits.len() {
            0 => return Err(GtinError::Empty),
            8 | 12 | 13 | 14 => {}
            n => return Err(GtinError::Length(n)),
        }
        let mut padded = [0u8; 14];
        padded[14 - digits.len()..].copy_from_slice(&digits);
        let expected = check_digit(&padded[..13]);
        if padded[13] != expected {
            return Err(GtinError::CheckDigit { expected });
        }
        Ok(Gtin(padded.map(|d| b'0' + d)))
    }

    /// Reads a code an upstream sent (an EAN, a UPC, a GTIN field),
    /// tolerantly: `None` for an empty, malformed or check-digit-failing
    /// code, which then identifies no product (a product is never guessed).
    pub fn from_upstream(raw: &str) -> Option<Gtin> {
        Gtin::parse(raw).ok()
    }

    /// The 14 digits.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("a GTIN is ASCII digits by construction")
    }

    /// The UPC-A form (12 digits), when the GTIN is one (two leading zeros).
    pub fn upc_a(&self) -> Option<&str> {
        self.as_str().strip_prefix("00")
    }

    /// The EAN-13 form (13 digits), when the GTIN is one (a leading zero).
    pub fn ean_13(&self) -> Option<&str> {
        self.as_str().strip_prefix('0')
    }
}

/// A GTIN is kept as its 14 digits (the shared tier's encoding).
impl serde::Serialize for Gtin {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Read back through [`Gtin::parse`], so that a stored value is checked as
/// an upstream's would be.
impl<'de> serde::Deserialize<'de> for Gtin {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let digits = String::deserialize(deserializer)?;
        Gtin::parse(&digits).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Gtin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Gtin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Gtin({})", self.as_str())
    }
}

impl std::str::FromStr for Gtin {
    type Err = GtinError;

    fn from_str(s: &str) -> Result<Gtin, GtinError> {
        Gtin::parse(s)
    }
}

/// `body` (ASCII digits) followed by its GS1 check digit; `None` when
/// `body` is not all digits. For generating codes (the simulators, tests).
#[cfg(any(test, feature = "sim"))]
pub(crate) fn with_check_digit(body: &str) -> Option<String> {
    let digits: Vec<u8> = body
        .bytes()
        .map(|b| b.is_ascii_digit().then(|| b - b'0'))
        .collect::<Option<_>>()?;
    Some(format!("{body}{}", check_digit(&digits)))
}

/// The GS1 check digit of `body` (digit values, most significant first):
/// from the right, weights 3, 1, 3, 1, ...; the digit that rounds the sum
/// up to a multiple of ten.
fn check_digit(body: &[u8]) -> u8 {
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| u32::from(d) * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    // `sum % 10` is below 10, so the result fits a digit.
    ((10 - sum % 10) % 10) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_length_normalizes_to_the_same_gtin_14() {
        let upc = Gtin::parse("196569222998").expect("UPC-A");
        assert_eq!(upc.as_str(), "00196569222998");
        assert_eq!(Gtin::parse("0196569222998"), Ok(upc));
        assert_eq!(Gtin::parse("00196569222998"), Ok(upc));
        assert_eq!(upc.upc_a(), Some("196569222998"));
        assert_eq!(upc.ean_13(), Some("0196569222998"));
        // EAN-8 (GS1 example 96385074) and an EAN-13 that is no UPC-A.
        assert_eq!(
            Gtin::parse("96385074").expect("EAN-8").as_str(),
            "00000096385074"
        );
        let ean = Gtin::parse("4006381333931").expect("EAN-13");
        assert_eq!(ean.as_str(), "04006381333931");
        assert_eq!(ean.upc_a(), None);
        assert_eq!(ean.to_string(), "04006381333931");
    }

    #[test]
    fn separators_are_ignored_and_anything_else_is_refused() {
        assert_eq!(
            Gtin::parse(" 4006381-333931 ").map(|g| g.to_string()),
            Ok("04006381333931".to_owned())
        );
        assert_eq!(
            Gtin::parse("4006381 33393l"),
            Err(GtinError::NotADigit('l'))
        );
        assert_eq!(Gtin::parse(" - "), Err(GtinError::Empty));
        assert_eq!(Gtin::parse("40063813339"), Err(GtinError::Length(11)));
        assert_eq!(Gtin::parse("400638133393100"), Err(GtinError::Length(15)));
        assert_eq!(
            Gtin::parse("4006381333932"),
            Err(GtinError::CheckDigit { expected: 1 })
        );
        // Non-ASCII digits are not digits.
        assert!(matches!(
            Gtin::parse("４006381333931"),
            Err(GtinError::NotADigit(_))
        ));
    }

    #[test]
    fn upstream_codes_that_are_not_gtins_identify_nothing() {
        assert_eq!(Gtin::from_upstream(""), None);
        assert_eq!(Gtin::from_upstream("N/A"), None);
        assert_eq!(Gtin::from_upstream("4006381333932"), None);
        assert!(Gtin::from_upstream("0196569222998").is_some());
    }

    #[test]
    fn every_check_digit_is_found_by_brute_force() {
        // For a body, exactly one last digit makes a valid GTIN.
        for body in [
            "000000000000",
            "123456789012",
            "999999999999",
            "400638133393",
        ] {
            let valid: Vec<u32> = (0..10)
                .filter(|d| Gtin::parse(&format!("{body}{d}")).is_ok())
                .collect();
            assert_eq!(valid.len(), 1, "{body}");
        }
    }
}
