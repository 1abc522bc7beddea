//! The encoding of cache entries in the shared tier: compact (postcard, a
//! serde binary format) and versioned.
//!
//! A value starts with [`VERSION`] and the entry's freshness (when it was
//! fetched, as milliseconds since the Unix epoch), then the answer. A
//! replica reading a value of another version (a rolling deploy that
//! changed the model) treats it as absent and fetches again: the version
//! is part of what a reader checks, never a reason to fail. A test keeps
//! the encoding of a fixed sample offer: it fails when the model's
//! encoding changes without a new version.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::model::Offer;

/// The version of the encoding; bump it whenever the model's encoding
/// changes (the test `the_encoding_is_pinned_to_its_version` says when).
pub(crate) const VERSION: u8 = 1;

/// An answer as the shared tier keeps it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) enum SharedAnswer {
    /// The offer.
    Found(Offer),
    /// The upstream does not have it.
    NotFound,
    /// A listing window whose every item could be read.
    Page {
        /// The offers, in the upstream's order.
        offers: Vec<Offer>,
        /// Total number of offers in the listing, as the upstream counts them.
        total_count: u64,
    },
    /// Every promotion of one offer (empty when it has none).
    Promotions(Vec<crate::model::Promotion>),
}

/// Why a value cannot be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DecodeError {
    /// Written by another version of the gateway.
    #[error("encoding version {0}, this gateway reads {VERSION}")]
    Version(u8),
    /// Not a value this version wrote.
    #[error("unreadable: {0}")]
    Malformed(String),
}

/// The bytes of `answer`, fetched at `fetched_at`: the version, then the
/// milliseconds since the Unix epoch and the answer.
pub(crate) fn encode(answer: &SharedAnswer, fetched_at: SystemTime) -> Vec<u8> {
    let fetched_at_ms = fetched_at
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_millis();
    let fetched_at_ms = u64::try_from(fetched_at_ms).unwrap_or(u64::MAX);
    // Serializing the model into a vector cannot fail: every type derives
    // plain serde (no maps, no untagged enums); were it to, the value is
    // one no reader accepts (version 0), and the key is fetched again.
    postcard::to_extend(&(fetched_at_ms, answer), vec![VERSION]).unwrap_or_else(|_| vec![0])
}

/// The answer of `bytes` and when it was fetched.
pub(crate) fn decode(bytes: &[u8]) -> Result<(SharedAnswer, SystemTime), DecodeError> {
    let (&version, rest) = bytes
        .split_first()
        .ok_or_else(|| DecodeError::Malformed("empty".to_owned()))?;
    if version != VERSION {
        return Err(DecodeError::Version(version));
    }
    let (fetched_at_ms, answer): (u64, SharedAnswer) =
        postcard::from_bytes(rest).map_err(|err| DecodeError::Malformed(err.to_string()))?;
    let fetched_at = SystemTime::UNIX_EPOCH + Duration::from_millis(fetched_at_ms);
    Ok((answer, fetched_at))
}

#[cfg(all(test, feature = "sim"))]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::sim::catalog::Catalog;
    use crate::upstream::{closient, medusa, violet};

    /// Every offer of the demo catalog (and of its drifted form, with the
    /// unusual values the seeds allow), read as each style's reader reads
    /// an upstream's answer.
    fn every_offer() -> Vec<Offer> {
        let catalog = Catalog::demo();
        let up: Arc<str> = Arc::from("any");
        let json = |value: &dyn erased::Json| value.json();
        let mut offers = Vec::new();
        let drifted = |drift: bool| {
            move |data: closient::sim::SimData| if drift { data.with_drift() } else { data }
        };
        for drift in [false, true] {
            let c = drifted(drift)(closient::sim::SimData::generate(&catalog));
            for o in &c.online_offers {
                offers.extend(closient::map::read_online_offer(&up, &json(o)).ok());
            }
            for o in &c.in_store_offers {
                offers.extend(closient::map::read_in_store_offer(&up, &json(o)).ok());
            }
            let m = medusa::sim::SimData::generate(&catalog);
            let m = if drift { m.with_drift() } else { m };
            for o in &m.offers {
                offers.extend(medusa::map::read_offer(&up, &json(o)).1.ok());
            }
            let v = violet::sim::SimData::generate(&catalog);
            let v = if drift { v.with_drift() } else { v };
            for o in &v.offers {
                offers.extend(violet::map::read_offer(&up, &json(o)).1.ok());
            }
        }
        offers
    }

    mod erased {
        /// A wire value as its JSON text.
        pub(super) trait Json {
            fn json(&self) -> String;
        }

        impl<T: serde::Serialize> Json for T {
            fn json(&self) -> String {
                serde_json::to_string(self).expect("wire values serialize")
            }
        }
    }

    #[test]
    fn every_offer_of_the_demo_catalog_reads_back_as_it_was_written() {
        let offers = every_offer();
        assert!(offers.len() > 10_000, "{} offers", offers.len());
        let at = SystemTime::UNIX_EPOCH + Duration::from_millis(1_764_000_000_123);
        let mut bytes_total = 0;
        for offer in &offers {
            let answer = SharedAnswer::Found(offer.clone());
            let bytes = encode(&answer, at);
            bytes_total += bytes.len();
            let (back, when) = decode(&bytes).expect("reads back");
            assert_eq!(back, answer);
            assert_eq!(when, at);
        }
        let (back, _) = decode(&encode(&SharedAnswer::NotFound, at)).unwrap();
        assert_eq!(back, SharedAnswer::NotFound);
        let page = SharedAnswer::Page {
            offers: offers[..100].to_vec(),
            total_count: 12_345,
        };
        assert_eq!(decode(&encode(&page, at)).unwrap(), (page, at));
        let promotions = SharedAnswer::Promotions(vec![crate::model::Promotion {
            id: "Fh7ttrG4ckXhkZ2RVrwKdY".to_owned(),
            price: "0.10".parse().unwrap(),
            currency: crate::pricing::Currency::parse("EUR").ok(),
            starts_at: SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_000_000),
            ends_at: SystemTime::UNIX_EPOCH + Duration::from_nanos(1_764_086_400_123_456_789),
            is_active: true,
            kind: crate::model::PromotionKind::Clearance,
            upstream_kind: "clearance".to_owned(),
            description: "Last units".to_owned(),
        }]);
        assert_eq!(decode(&encode(&promotions, at)).unwrap(), (promotions, at));
        // Compact: a few hundred bytes to a few kilobytes an offer.
        let average = bytes_total / offers.len();
        eprintln!("{} offers, {average} bytes each on average", offers.len());
        assert!(average < 4_000, "{average} bytes per offer");
    }

    #[test]
    fn another_version_or_damage_is_not_read() {
        let offer = every_offer().swap_remove(0);
        let bytes = encode(&SharedAnswer::Found(offer), SystemTime::now());
        let mut other = bytes.clone();
        other[0] = VERSION + 1;
        assert!(matches!(decode(&other), Err(DecodeError::Version(v)) if v == VERSION + 1));
        assert!(matches!(decode(&[]), Err(DecodeError::Malformed(_))));
        assert!(matches!(
            decode(&bytes[..bytes.len() / 2]),
            Err(DecodeError::Malformed(_))
        ));
    }
}
