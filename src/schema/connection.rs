//! Relay connections over upstream listings: `pageInfo`, `edges` with
//! opaque cursors, `nodes`, and `totalCount` as the upstream counts it.
//!
//! One offer the gateway cannot read never fails its page: its edge keeps
//! its cursor, and its `node` (and its entry in `nodes`) is null with the
//! offer's `UPSTREAM_BAD_RESPONSE` error at that path.

use async_graphql::{Error, SimpleObject};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::schema::offer::{MarketplaceOffer, OnlineOffer};
use crate::upstream::tolerant::saturating_count;

/// Encodes the 0-based position of an item in a listing as an opaque cursor.
pub(crate) fn encode_cursor(position: u64) -> String {
    URL_SAFE_NO_PAD.encode(format!("offset:{position}"))
}

/// The last position a cursor may hold: upstreams take offsets as 32-bit
/// integers, and no listing is longer.
pub(crate) const MAX_CURSOR_POSITION: u64 = i32::MAX as u64 - 1;

/// Decodes a cursor made by [`encode_cursor`].
pub(crate) fn decode_cursor(cursor: &str) -> Result<u64, &'static str> {
    if cursor.len() > 64 {
        return Err("not a cursor issued by this gateway");
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| "not a cursor issued by this gateway")?;
    let text = String::from_utf8(bytes).map_err(|_| "not a cursor issued by this gateway")?;
    let position: u64 = text
        .strip_prefix("offset:")
        .and_then(|n| n.parse().ok())
        .ok_or("not a cursor issued by this gateway")?;
    if position > MAX_CURSOR_POSITION {
        return Err("cursor out of range");
    }
    Ok(position)
}

/// Where a page sits in its listing.
#[derive(SimpleObject, Clone, Debug, PartialEq, Eq)]
pub(crate) struct PageInfo {
    /// Whether offers come before this page.
    pub has_previous_page: bool,
    /// Whether offers come after this page.
    pub has_next_page: bool,
    /// Cursor of the first offer of the page; null when the page is empty.
    pub start_cursor: Option<String>,
    /// Cursor of the last offer of the page: pass it as `after` for the next page.
    pub end_cursor: Option<String>,
}

/// Defines a connection type and its edge type for one offer type.
macro_rules! connection {
    ($connection:ident, $edge:ident, $node:ty, $what:literal) => {
        #[doc = concat!("A page of ", $what, ".")]
        #[derive(SimpleObject)]
        pub(crate) struct $connection {
            /// The offers of the page with their cursors. An offer the upstream sent but the
            /// gateway cannot read keeps its edge and cursor; its `node` is null, with an
            /// `UPSTREAM_BAD_RESPONSE` error at that path, and the rest of the page still answers.
            pub(crate) edges: Vec<$edge>,
            /// The offers of the page, without cursors; null, with an `UPSTREAM_BAD_RESPONSE`
            /// error at its index, for an offer the upstream sent but the gateway cannot read.
            pub(crate) nodes: Vec<Option<Result<$node, Error>>>,
            /// Where the page sits in the listing.
            pub(crate) page_info: PageInfo,
            /// Total number of offers in the listing, as the upstream counts them (saturates at
            /// 2147483647, the largest GraphQL Int).
            pub(crate) total_count: i32,
        }

        #[doc = concat!("An entry in a page of ", $what, ": one offer and its cursor.")]
        #[derive(SimpleObject)]
        pub(crate) struct $edge {
            /// Opaque cursor of this offer: pass it as `after` to continue from here.
            pub(crate) cursor: String,
            /// The offer; null, with an `UPSTREAM_BAD_RESPONSE` error at this path, when the
            /// upstream sent an offer here that the gateway cannot read.
            pub(crate) node: Option<Result<$node, Error>>,
        }

        impl $connection {
            /// Builds the page of the listing window that starts at
            /// `offset` and holds `count` items, in a listing of
            /// `total_count`. `nodes` carry their positions in the listing
            /// (they may be shown in another order, e.g. by price), each an
            /// offer or the error of an offer that cannot be read; the
            /// page's cursors span the whole window, so `endCursor`
            /// continues after it whatever the order.
            pub(crate) fn new(
                offset: u64,
                count: u64,
                total_count: u64,
                nodes: Vec<(u64, Result<$node, Error>)>,
            ) -> Self {
                let edges: Vec<$edge> = nodes
                    .iter()
                    .map(|(position, node)| $edge {
                        cursor: encode_cursor(*position),
                        node: Some(node.clone()),
                    })
                    .collect();
                let has_items = count > 0;
                let end = offset.saturating_add(count);
                $connection {
                    page_info: PageInfo {
                        has_previous_page: offset > 0,
                        has_next_page: end < total_count,
                        start_cursor: has_items.then(|| encode_cursor(offset)),
                        end_cursor: has_items.then(|| encode_cursor(end - 1)),
                    },
                    edges,
                    nodes: nodes.into_iter().map(|(_, node)| Some(node)).collect(),
                    total_count: saturating_count(total_count),
                }
            }
        }
    };
}

connection!(
    OnlineOfferConnection,
    OnlineOfferEdge,
    OnlineOffer,
    "online offers"
);
connection!(
    MarketplaceOfferConnection,
    MarketplaceOfferEdge,
    MarketplaceOffer,
    "marketplace offers"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_rejected() {
        assert_eq!(decode_cursor(&encode_cursor(41)), Ok(41));
        assert!(decode_cursor("nope").is_err());
        assert!(decode_cursor(&URL_SAFE_NO_PAD.encode("offset:-1")).is_err());
    }
}
