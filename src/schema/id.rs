//! Global ids: opaque strings that encode the upstream instance, the offer
//! type and the upstream's own id.
//!
//! The encoding is base64url (no padding) of `<Type>:<instance>:<native id>`.
//! Clients must treat ids as opaque; the gateway decodes them to route a
//! lookup to the right upstream.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::model::OfferKind;

/// A decoded global id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GlobalId {
    /// The offer type.
    pub kind: OfferKind,
    /// The upstream instance name.
    pub upstream: String,
    /// The upstream's id, canonical form.
    pub native_id: String,
}

impl GlobalId {
    /// The opaque string form.
    pub fn encode(kind: OfferKind, upstream: &str, native_id: &str) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}:{upstream}:{native_id}", kind.type_name()))
    }

    /// Decodes an id; the error says why it is not a gateway id.
    pub fn decode(id: &str) -> Result<GlobalId, &'static str> {
        if id.len() > 1024 {
            return Err("too long to be an offer id");
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(id.trim_end_matches('='))
            .map_err(|_| "not an id issued by this gateway")?;
        let text = String::from_utf8(bytes).map_err(|_| "not an id issued by this gateway")?;
        let mut parts = text.splitn(3, ':');
        let (Some(type_name), Some(upstream), Some(native_id)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err("not an id issued by this gateway");
        };
        let kind =
            OfferKind::from_type_name(type_name).ok_or("not an id issued by this gateway")?;
        if upstream.is_empty() || native_id.is_empty() {
            return Err("not an id issued by this gateway");
        }
        Ok(GlobalId {
            kind,
            upstream: upstream.to_owned(),
            native_id: native_id.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        let id = GlobalId::encode(OfferKind::Marketplace, "mercur-eu", "offer_01HXYZ:odd");
        assert_eq!(
            GlobalId::decode(&id),
            Ok(GlobalId {
                kind: OfferKind::Marketplace,
                upstream: "mercur-eu".into(),
                native_id: "offer_01HXYZ:odd".into()
            })
        );
        assert!(!id.contains("mercur"), "ids are opaque");
    }

    #[test]
    fn garbage_is_rejected() {
        for bad in [
            "",
            "!!!",
            "abc",
            &URL_SAFE_NO_PAD.encode("Nope:x:y"),
            &URL_SAFE_NO_PAD.encode("OnlineOffer::y"),
            &"A".repeat(5000),
        ] {
            assert!(GlobalId::decode(bad).is_err(), "{bad}");
        }
    }
}
