//! Medusa ids: `<prefix>_<ULID>`, the ULID in Crockford base32.
//!
//! Clients may type the ULID part in any letter case; the canonical form is
//! upper case, as Medusa generates it.

/// The prefix of offer ids.
pub(crate) const OFFER_PREFIX: &str = "offer_";

/// Crockford base32 digits, in value order.
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Checks that `raw` is `<prefix><ULID>` and returns it with the ULID in
/// upper case. The error says what is expected.
pub(crate) fn canonical(prefix: &str, raw: &str) -> Result<String, String> {
    let expected = format!("expected `{prefix}` followed by a 26-character ULID");
    let Some(ulid) = raw.strip_prefix(prefix) else {
        return Err(format!(
            "{expected}, got an id without the `{prefix}` prefix"
        ));
    };
    let length = ulid.chars().count();
    if length != 26 {
        return Err(format!(
            "{expected}, got {length} characters after the prefix"
        ));
    }
    if let Some(bad) = ulid
        .chars()
        .find(|c| !c.is_ascii() || !CROCKFORD.contains(&(*c as u8).to_ascii_uppercase()))
    {
        return Err(format!(
            "{expected}, got the character {bad:?}, which is not Crockford base32"
        ));
    }
    let upper = ulid.to_ascii_uppercase();
    // 26 base32 digits hold 130 bits; a ULID is 128, so the first digit is 0-7.
    if upper.as_bytes()[0] > b'7' {
        return Err(format!("{expected}, got a ULID larger than 128 bits"));
    }
    Ok(format!("{prefix}{upper}"))
}

/// Checks an offer id (`offer_<ULID>`); see [`canonical`].
pub(crate) fn canonical_offer_id(raw: &str) -> Result<String, String> {
    canonical(OFFER_PREFIX, raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offer_ids_are_canonicalized_to_upper_case() {
        assert_eq!(
            canonical_offer_id("offer_01hxyz8q2m4n6p8r0t2v4w6x8y").as_deref(),
            Ok("offer_01HXYZ8Q2M4N6P8R0T2V4W6X8Y")
        );
        assert_eq!(
            canonical_offer_id("offer_01HXYZ8Q2M4N6P8R0T2V4W6X8Y").as_deref(),
            Ok("offer_01HXYZ8Q2M4N6P8R0T2V4W6X8Y")
        );
        assert_eq!(
            canonical_offer_id("offer_7ZZZZZZZZZZZZZZZZZZZZZZZZZ").as_deref(),
            Ok("offer_7ZZZZZZZZZZZZZZZZZZZZZZZZZ")
        );
    }

    #[test]
    fn malformed_offer_ids_explain_the_expected_form() {
        for raw in [
            "",
            "01HXYZ8Q2M4N6P8R0T2V4W6X8Y",
            "sel_01HXYZ8Q2M4N6P8R0T2V4W6X8Y",
            "OFFER_01HXYZ8Q2M4N6P8R0T2V4W6X8Y",
            "offer_01HXYZ",
            "offer_01HXYZ8Q2M4N6P8R0T2V4W6X8YZ",
            "offer_01HXYZ8Q2M4N6P8R0T2V4W6X8U",
            "offer_01HXYZ8Q2M4N6P8R0T2V4W6X8-",
            "offer_8ZZZZZZZZZZZZZZZZZZZZZZZZZ",
            " offer_01HXYZ8Q2M4N6P8R0T2V4W6X8Y",
            "offer_01HXYZ8Q2M4N6P8R0T2V4W6X8é",
        ] {
            let err = canonical_offer_id(raw).expect_err(raw);
            assert!(
                err.contains("expected `offer_` followed by a 26-character ULID"),
                "{err}"
            );
        }
    }
}
