//! Violet wire types to the domain model.
//!
//! One catalog offer becomes one [`MarketplaceOffer`] whose
//! [`VioletOfferDetails`] keep every field the API sent (ids as decimal
//! strings). Money rules:
//! - every price is an integer in minor units and goes through
//!   [`pricing::from_violet`];
//! - SKU prices are in the SKU's `currency` (the source of truth), falling
//!   back to the offer's `currency` when a SKU does not state one;
//! - the offer's `min_price`/`max_price` are in the *first* SKU's currency
//!   when the offer has SKUs (the offer-level `currency` is documented as
//!   "for reference only"), else in the offer's `currency`;
//! - `common.price` is `min_price`, the lowest unit price.
//!
//! Status: `AVAILABLE` is `Active` (but `Unavailable` when the offer is not
//! both available and visible), `UNAVAILABLE` is `OutOfStock`,
//! `DISABLED_*` is `Unavailable`, `FOR_DELETION` and `ARCHIVED` are
//! `Discontinued`; without a status the offer is `Active` when available,
//! else `OutOfStock`. An offer is buyable when it is `Active`, available
//! and visible.
//!
//! Tolerance: an enum value the documentation does not list maps to the
//! domain's `Unrecognized` (a status to `OfferStatus::Unrecognized`, never
//! buyable) with the raw spelling kept in the `upstream_*` fields; nested
//! ids and names may be missing; counts saturate at `i32::MAX`. A price
//! that cannot be read fails that one offer.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::wire::{self, spelling};
use crate::error::UpstreamError;
use crate::model::{
    DecimalNumber, JsonText, MarketplaceDetails, MarketplaceOffer, Offer, OfferCommon, OfferKey,
    OfferKind, OfferStatus, Seller, UpstreamKind, VioletAlbum, VioletCollection,
    VioletCollectionMedia, VioletDimensions, VioletMedia, VioletMetadata, VioletOfferDetails,
    VioletProductType, VioletPublishingStatus, VioletSku, VioletSkuVariantValue, VioletSource,
    VioletStatus, VioletSubscriptionStatus, VioletVariant, VioletVariantValue,
};
use crate::pricing::{self, JsonNumber, Money};
use crate::upstream::tolerant::saturating_i32;

/// Reads one offer from its JSON text (an item of a listing or a by-id
/// answer): the wire type, then [`offer`]. Also returns the offer's id when
/// it can be read, to say which offer the answer is for.
pub(crate) fn read_offer(
    upstream: &Arc<str>,
    json: &str,
) -> (Option<i64>, Result<Offer, UpstreamError>) {
    #[derive(serde::Deserialize)]
    struct Id {
        id: i64,
    }
    // Parsed once; only an offer that does not match the wire type is
    // read again, for its id alone.
    match serde_json::from_str::<wire::Offer>(json) {
        Ok(offer) => {
            let id = offer.id;
            let offer = self::offer(upstream, offer)
                // What is read is kept in caches: without the slack of the move.
                .map(|offer| offer.compacted());
            (Some(id), offer)
        }
        Err(err) => {
            let id = serde_json::from_str::<Id>(json).ok().map(|o| o.id);
            let err = UpstreamError::BadResponse(format!(
                "offer {} does not match the expected shape: {err}",
                id.map_or_else(|| "without an id".to_owned(), |id| id.to_string())
            ));
            (id, Err(err))
        }
    }
}

/// Maps one wire offer of the instance `upstream` into the domain. A bad
/// price, a missing currency or an unreadable number is an
/// [`UpstreamError::BadResponse`] naming the offer and the field.
pub(crate) fn offer(upstream: &Arc<str>, offer: wire::Offer) -> Result<Offer, UpstreamError> {
    let id = offer.id;
    let bad = |field: &str, problem: String| {
        UpstreamError::BadResponse(format!("offer {id}: {field}: {problem}"))
    };

    let offer_currency = offer
        .skus
        .first()
        .and_then(|sku| sku.currency.clone())
        .or_else(|| offer.currency.clone());
    let in_offer_currency = |field: &str, minor: i64| -> Result<Money, UpstreamError> {
        let currency = offer_currency
            .as_deref()
            .ok_or_else(|| bad(field, "no currency on the offer or its SKUs".to_owned()))?;
        pricing::from_violet(minor, currency).map_err(|err| bad(field, err.to_string()))
    };
    let min_price = in_offer_currency("min_price", offer.min_price)?;
    let max_price = offer
        .max_price
        .map(|minor| in_offer_currency("max_price", minor))
        .transpose()?;

    let skus = offer
        .skus
        .into_iter()
        .map(|sku| self::sku(sku, offer.currency.as_deref(), &bad))
        .collect::<Result<Vec<_>, _>>()?;

    let status = match &offer.status {
        Some(wire::Status::Available) if offer.available && offer.visible => OfferStatus::Active,
        Some(wire::Status::Available) => OfferStatus::Unavailable,
        Some(wire::Status::Unavailable) => OfferStatus::OutOfStock,
        Some(wire::Status::DisabledAvailable | wire::Status::DisabledUnavailable) => {
            OfferStatus::Unavailable
        }
        Some(wire::Status::ForDeletion | wire::Status::Archived) => OfferStatus::Discontinued,
        Some(wire::Status::Unrecognized(_)) => OfferStatus::Unrecognized,
        None if offer.available => OfferStatus::Active,
        None => OfferStatus::OutOfStock,
    };

    let metadata_entries = offer.metadata.unwrap_or_default();
    // Entries without a key stay in the details only.
    let metadata_object: Map<String, Value> = metadata_entries
        .iter()
        .filter_map(|entry| {
            let key = entry.key.clone()?;
            Some((key, entry.value.clone().unwrap_or(Value::Null)))
        })
        .collect();

    let commission_rate = offer
        .commission_rate
        .as_ref()
        .map(|n| decimal(n).map_err(|err| bad("commission_rate", err)))
        .transpose()?;

    let sku = match skus.as_slice() {
        [only] => only.external_id.clone(),
        _ => None,
    };

    let listed = pricing::compare::listed_violet_price(&skus, &min_price);
    let common = OfferCommon {
        upstream: upstream.clone(),
        upstream_kind: UpstreamKind::Violet,
        key: OfferKey::new(OfferKind::Marketplace, id.to_string()),
        product_id: offer.product_id.clone(),
        sku,
        price: Some(listed.clone()),
        currency: Some(listed.currency()),
        status,
        upstream_status: offer.status.as_ref().map(|s| s.as_str().to_owned()),
        metadata: JsonText::object(&metadata_object),
    };

    let details = VioletOfferDetails {
        id: id.to_string(),
        product_id: Some(offer.product_id),
        external_id: offer.external_id,
        external_url: offer.external_url,
        name: offer.name.clone(),
        description: offer.description,
        source: source(&offer.source),
        upstream_source: spelling(&offer.source),
        seller: offer.seller.clone(),
        vendor: offer.vendor,
        merchant_id: offer.merchant_id,
        available: offer.available,
        visible: offer.visible,
        min_price,
        max_price,
        currency: offer.currency,
        source_category_name: offer.source_category_name,
        metadata: metadata_entries.into_iter().map(metadata).collect(),
        variants: offer.variants.into_iter().map(variant).collect(),
        skus,
        albums: offer.albums.into_iter().map(album).collect(),
        three_d_enabled: offer.three_d_enabled,
        three_d_resource: offer.three_d_resource,
        product_type: offer.product_type.as_ref().map(product_type),
        upstream_type: offer.product_type.as_ref().map(spelling),
        status: offer.status.as_ref().map(violet_status),
        upstream_status: offer.status.as_ref().map(|s| s.as_str().to_owned()),
        publishing_status: offer.publishing_status.as_ref().map(|s| match s {
            wire::PublishingStatus::NotPublished => VioletPublishingStatus::NotPublished,
            wire::PublishingStatus::Published => VioletPublishingStatus::Published,
            wire::PublishingStatus::Unrecognized(_) => VioletPublishingStatus::Unrecognized,
        }),
        upstream_publishing_status: offer.publishing_status.as_ref().map(spelling),
        date_created: offer.date_created,
        date_last_modified: offer.date_last_modified,
        date_last_consolidated: offer.date_last_consolidated,
        commission_rate,
        currency_symbol: offer.currency_symbol,
        presented_currency: offer.presented_currency,
        default_image_url: offer.default_image_url,
        subscription_status: offer.subscription_status.as_ref().map(|s| match s {
            wire::SubscriptionStatus::NotSubscribed => VioletSubscriptionStatus::NotSubscribed,
            wire::SubscriptionStatus::Subscribed => VioletSubscriptionStatus::Subscribed,
            wire::SubscriptionStatus::Unrecognized(_) => VioletSubscriptionStatus::Unrecognized,
        }),
        upstream_subscription_status: offer.subscription_status.as_ref().map(spelling),
        external_data: offer.external_data.map(JsonText::from),
        collections: offer
            .collections
            .unwrap_or_default()
            .into_iter()
            .map(collection)
            .collect(),
        tags: offer.tags,
    };

    Ok(Offer::Marketplace(Arc::new(MarketplaceOffer {
        common,
        title: Some(offer.name),
        seller: Seller {
            id: offer.merchant_id.to_string(),
            name: offer.seller,
            handle: None,
        },
        details: MarketplaceDetails::Violet(details),
    })))
}

fn sku(
    sku: wire::Sku,
    offer_currency: Option<&str>,
    bad: &dyn Fn(&str, String) -> UpstreamError,
) -> Result<VioletSku, UpstreamError> {
    let sku_id = sku
        .id
        .map_or_else(|| "without an id".to_owned(), |id| id.to_string());
    let currency = sku.currency.as_deref().or(offer_currency);
    let price = |field: &str, minor: Option<i64>| -> Result<Option<Money>, UpstreamError> {
        let Some(minor) = minor else { return Ok(None) };
        let field = format!("sku {sku_id} {field}");
        let currency = currency
            .ok_or_else(|| bad(&field, "no currency on the SKU or the offer".to_owned()))?;
        pricing::from_violet(minor, currency)
            .map(Some)
            .map_err(|err| bad(&field, err.to_string()))
    };
    let sale_price = price("sale_price", sku.sale_price)?;
    let retail_price = price("retail_price", sku.retail_price)?;
    let dims = |field: &str, d: Option<wire::Dimensions>| {
        d.map(|d| dimensions(d).map_err(|err| bad(&format!("sku {sku_id} {field}"), err)))
            .transpose()
    };
    Ok(VioletSku {
        id: sku.id.map(|id| id.to_string()),
        offer_id: sku.offer_id.map(|id| id.to_string()),
        merchant_id: sku.merchant_id,
        external_id: sku.external_id,
        name: sku.name,
        asin: sku.asin,
        gtin: sku.gtin,
        upc: sku.upc,
        ean: sku.ean,
        isbn: sku.isbn,
        in_stock: sku.in_stock,
        quantity_available: sku.quantity_available.map(saturating_i32),
        inventory_tracked: sku.inventory_tracked,
        sale_price,
        retail_price,
        currency: sku.currency,
        presented_currency: sku.presented_currency,
        taxable: sku.taxable,
        tax_type: sku.tax_type,
        albums: sku.albums.into_iter().map(album).collect(),
        variant_values: sku
            .variant_values
            .into_iter()
            .map(|v| VioletSkuVariantValue {
                variant: v.variant,
                value: v.value,
            })
            .collect(),
        product_type: sku.product_type.as_ref().map(product_type),
        upstream_type: sku.product_type.as_ref().map(spelling),
        status: sku.status.as_ref().map(violet_status),
        upstream_status: sku.status.as_ref().map(|s| s.as_str().to_owned()),
        date_created: sku.date_created,
        date_last_modified: sku.date_last_modified,
        sku_dimensions: dims("sku_dimensions", sku.sku_dimensions)?,
        shipping_dimensions: dims("shipping_dimensions", sku.shipping_dimensions)?,
        display_order: sku.display_order.map(saturating_i32),
    })
}

/// Reads a non-money JSON number (a rate, a dimension) exactly.
fn decimal(number: &JsonNumber) -> Result<DecimalNumber, String> {
    pricing::exact_decimal(number)
        .map(DecimalNumber)
        .map_err(|err| err.to_string())
}

fn dimensions(d: wire::Dimensions) -> Result<VioletDimensions, String> {
    let read = |n: Option<JsonNumber>| n.as_ref().map(decimal).transpose();
    Ok(VioletDimensions {
        sku_id: d.sku_id.map(|id| id.to_string()),
        weight: read(d.weight)?,
        height: read(d.height)?,
        width: read(d.width)?,
        length: read(d.length)?,
        dimension_type: d.dimension_type,
    })
}

fn metadata(m: wire::Metadata) -> VioletMetadata {
    VioletMetadata {
        version: m.version.map(saturating_i32),
        value_type: m.value_type,
        external_type: m.external_type,
        key: m.key,
        value: m.value.map(JsonText::from),
        external_id: m.external_id,
        source: m.source,
    }
}

fn variant(v: wire::Variant) -> VioletVariant {
    VioletVariant {
        id: v.id.map(|id| id.to_string()),
        product_variant_id: v.product_variant_id,
        external_id: v.external_id,
        name: v.name,
        visual: v.visual,
        values: v
            .values
            .into_iter()
            .map(|value| VioletVariantValue {
                id: value.id.map(|id| id.to_string()),
                product_variant_value_id: value.product_variant_value_id,
                external_id: value.external_id,
                name: value.name,
                sku_ids: value.sku_ids.iter().map(i64::to_string).collect(),
                display_order: value.display_order.map(saturating_i32),
            })
            .collect(),
        display_order: v.display_order.map(saturating_i32),
    }
}

fn album(a: wire::Album) -> VioletAlbum {
    VioletAlbum {
        id: a.id.map(|id| id.to_string()),
        parent_id: a.parent_id.map(|id| id.to_string()),
        album_type: a.album_type,
        name: a.name,
        media: a.media.into_iter().map(media).collect(),
        primary_media: a.primary_media.map(media),
    }
}

fn media(m: wire::Media) -> VioletMedia {
    VioletMedia {
        id: m.id.map(|id| id.to_string()),
        album_id: m.album_id.map(|id| id.to_string()),
        external_id: m.external_id,
        cloud_id: m.cloud_id,
        url: m.url,
        source_url: m.source_url,
        media_type: m.media_type,
        display_order: m.display_order.map(saturating_i32),
        primary: m.primary,
    }
}

fn collection(c: wire::Collection) -> VioletCollection {
    VioletCollection {
        id: c.id.map(|id| id.to_string()),
        external_id: c.external_id,
        merchant_id: c.merchant_id,
        name: c.name,
        handle: c.handle,
        description: c.description,
        status: c.status,
        collection_type: c.collection_type,
        media: c.media.map(|m| VioletCollectionMedia {
            source_url: m.source_url,
            alt: m.alt,
            height: m.height.map(saturating_i32),
            width: m.width.map(saturating_i32),
            date_created: m.date_created,
        }),
        date_created: c.date_created,
        date_last_modified: c.date_last_modified,
    }
}

fn product_type(t: &wire::ProductType) -> VioletProductType {
    match t {
        wire::ProductType::Physical => VioletProductType::Physical,
        wire::ProductType::Digital => VioletProductType::Digital,
        wire::ProductType::Virtual => VioletProductType::Virtual,
        wire::ProductType::Bundled => VioletProductType::Bundled,
        wire::ProductType::Unrecognized(_) => VioletProductType::Unrecognized,
    }
}

fn violet_status(s: &wire::Status) -> VioletStatus {
    match s {
        wire::Status::Unavailable => VioletStatus::Unavailable,
        wire::Status::Available => VioletStatus::Available,
        wire::Status::DisabledUnavailable => VioletStatus::DisabledUnavailable,
        wire::Status::DisabledAvailable => VioletStatus::DisabledAvailable,
        wire::Status::ForDeletion => VioletStatus::ForDeletion,
        wire::Status::Archived => VioletStatus::Archived,
        wire::Status::Unrecognized(_) => VioletStatus::Unrecognized,
    }
}

fn source(s: &wire::Source) -> VioletSource {
    use wire::Source as W;
    match s {
        W::Other => VioletSource::Other,
        W::Shopify => VioletSource::Shopify,
        W::Magento => VioletSource::Magento,
        W::MagentoOne => VioletSource::MagentoOne,
        W::Woocommerce => VioletSource::Woocommerce,
        W::Bigcommerce => VioletSource::Bigcommerce,
        W::Lightspeed => VioletSource::Lightspeed,
        W::Ecwid => VioletSource::Ecwid,
        W::Yaas => VioletSource::Yaas,
        W::Spreecommerce => VioletSource::Spreecommerce,
        W::Demandware => VioletSource::Demandware,
        W::Volusion => VioletSource::Volusion,
        W::Prestashop => VioletSource::Prestashop,
        W::Threedcart => VioletSource::Threedcart,
        W::Sylius => VioletSource::Sylius,
        W::Wix => VioletSource::Wix,
        W::Swell => VioletSource::Swell,
        W::Miva => VioletSource::Miva,
        W::Websphere => VioletSource::Websphere,
        W::Oraclecc => VioletSource::Oraclecc,
        W::Sapcc => VioletSource::Sapcc,
        W::Squarespace => VioletSource::Squarespace,
        W::Shopware => VioletSource::Shopware,
        W::Commercetools => VioletSource::Commercetools,
        W::Medusa => VioletSource::Medusa,
        W::Abicart => VioletSource::Abicart,
        W::Spryker => VioletSource::Spryker,
        W::Mystore => VioletSource::Mystore,
        W::Centra => VioletSource::Centra,
        W::Xcart => VioletSource::Xcart,
        W::Vtex => VioletSource::Vtex,
        W::Kibo => VioletSource::Kibo,
        W::Saleor => VioletSource::Saleor,
        W::Vendo => VioletSource::Vendo,
        W::Chord => VioletSource::Chord,
        W::Digitalriver => VioletSource::Digitalriver,
        W::Square => VioletSource::Square,
        W::Amazon => VioletSource::Amazon,
        W::Bigcartel => VioletSource::Bigcartel,
        W::Custom => VioletSource::Custom,
        W::Unrecognized(_) => VioletSource::Unrecognized,
    }
}

/// `GET /v1/currencies/latest` as a rate table. Codes that are not ISO 4217
/// are skipped; a rate that is not a positive decimal is a bad response.
pub(crate) fn rate_table(
    upstream: &Arc<str>,
    answer: wire::ExchangeRates,
) -> Result<crate::pricing::convert::RateTable, UpstreamError> {
    let bad = |what: String| UpstreamError::BadResponse(format!("exchange rates: {what}"));
    if !answer.success {
        return Err(bad("the upstream says it could not produce them".to_owned()));
    }
    let base = pricing::Currency::parse(&answer.base).map_err(|err| bad(err.to_string()))?;
    let mut rates = Vec::with_capacity(answer.rates.len());
    for (code, rate) in &answer.rates {
        let Ok(currency) = pricing::Currency::parse(code) else {
            tracing::debug!(upstream = %upstream, code = %code, "skipping a rate of an unknown currency");
            continue;
        };
        let rate = pricing::exact_decimal(rate).map_err(|err| bad(format!("{code}: {err}")))?;
        rates.push((currency, rate));
    }
    let as_of = u64::try_from(answer.timestamp)
        .ok()
        .map(|secs| {
            humantime::format_rfc3339_seconds(
                std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs),
            )
            .to_string()
        })
        .unwrap_or(answer.date);
    crate::pricing::convert::RateTable::new(
        base,
        rates,
        as_of,
        format!("upstream `{upstream}` (GET /v1/currencies/latest)"),
    )
    .map_err(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED_OFFER: &str = include_str!("../../../tests/fixtures/violet/offer.json");

    fn upstream() -> Arc<str> {
        Arc::from("violet-test")
    }

    /// The seed example with its `"<string>"` currency placeholders replaced.
    fn seed_in(currency: &str) -> wire::Offer {
        let text = SEED_OFFER
            .replace(
                "\"currency\": \"<string>\"",
                &format!("\"currency\": \"{currency}\""),
            )
            .replace(
                "\"presented_currency\": \"<string>\"",
                &format!("\"presented_currency\": \"{currency}\""),
            );
        serde_json::from_str(&text).expect("seed example parses")
    }

    fn marketplace(offer: &Offer) -> (&MarketplaceOffer, &VioletOfferDetails) {
        let Offer::Marketplace(m) = offer else {
            panic!("not a marketplace offer")
        };
        let MarketplaceDetails::Violet(d) = &m.details else {
            panic!("not a Violet offer")
        };
        (m, d)
    }

    fn dec(s: &str) -> rust_decimal::Decimal {
        rust_decimal::Decimal::from_str_exact(s).unwrap()
    }

    #[test]
    fn seed_example_as_printed_is_a_bad_response_for_its_placeholder_currency() {
        let offer: wire::Offer = serde_json::from_str(SEED_OFFER).unwrap();
        let err = self::offer(&upstream(), offer).unwrap_err();
        assert!(
            matches!(&err, UpstreamError::BadResponse(d) if d.contains("offer 123")),
            "{err}"
        );
    }

    #[test]
    fn seed_example_maps_every_field_with_minor_unit_money() {
        let mapped = offer(&upstream(), seed_in("USD")).unwrap();
        let (m, d) = marketplace(&mapped);
        let c = &m.common;
        assert_eq!(&*c.upstream, "violet-test");
        assert_eq!(c.upstream_kind, UpstreamKind::Violet);
        assert_eq!(c.key, OfferKey::new(OfferKind::Marketplace, "123"));
        assert_eq!(c.product_id, "<string>");
        assert_eq!(c.sku.as_deref(), Some("<string>"));
        let price = c.price.clone().unwrap();
        assert_eq!(
            (price.amount(), price.currency().code()),
            (dec("1.23"), "USD")
        );
        assert_eq!(c.status, OfferStatus::OutOfStock);
        assert_eq!(c.upstream_status.as_deref(), Some("UNAVAILABLE"));
        assert!(!crate::pricing::availability::availability(&mapped, 1).is_buyable());
        assert_eq!(c.metadata, serde_json::json!({"<string>": {}}));
        assert_eq!(m.title.as_deref(), Some("<string>"));
        assert_eq!(
            m.seller,
            Seller {
                id: "123".into(),
                name: Some("<string>".into()),
                handle: None
            }
        );

        assert_eq!(d.id, "123");
        assert_eq!(d.source, VioletSource::Other);
        assert_eq!(d.merchant_id, 123);
        assert!(d.available && d.visible);
        assert_eq!(d.min_price.amount(), dec("1.23"));
        assert_eq!(d.max_price.as_ref().unwrap().amount(), dec("1.23"));
        assert_eq!(d.currency.as_deref(), Some("USD"));
        assert_eq!(d.metadata[0].value_type.as_deref(), Some("STRING"));
        assert_eq!(d.metadata[0].source.as_deref(), Some("INTERNAL"));
        assert_eq!(d.variants[0].values[0].sku_ids, vec!["123".to_owned()]);
        let sku = &d.skus[0];
        assert_eq!(sku.sale_price.as_ref().unwrap().amount_string(), "1.23");
        assert_eq!(sku.retail_price.as_ref().unwrap().amount(), dec("1.23"));
        assert_eq!(sku.tax_type.as_deref(), Some("DEFAULT"));
        assert_eq!(
            sku.albums[0].primary_media.as_ref().unwrap().id.as_deref(),
            Some("123")
        );
        assert_eq!(sku.variant_values[0].variant.as_deref(), Some("<string>"));
        assert_eq!(sku.product_type, Some(VioletProductType::Physical));
        assert_eq!(sku.status, Some(VioletStatus::Unavailable));
        let dims = sku.sku_dimensions.as_ref().unwrap();
        assert_eq!(
            (dims.weight, dims.dimension_type.as_deref()),
            (Some(DecimalNumber(dec("123"))), Some("SKU"))
        );
        assert!(sku.shipping_dimensions.is_some());
        assert_eq!(d.albums[0].album_type.as_deref(), Some("OFFER"));
        assert_eq!(d.three_d_enabled, Some(true));
        assert_eq!(d.product_type, Some(VioletProductType::Physical));
        assert_eq!(d.status, Some(VioletStatus::Unavailable));
        assert_eq!(
            d.publishing_status,
            Some(VioletPublishingStatus::NotPublished)
        );
        assert_eq!(
            d.date_last_consolidated.as_deref(),
            Some("2023-11-07T05:31:56Z")
        );
        assert_eq!(d.commission_rate, Some(DecimalNumber(dec("123"))));
        assert_eq!(d.default_image_url.as_deref(), Some("<string>"));
        assert_eq!(
            d.subscription_status,
            Some(VioletSubscriptionStatus::NotSubscribed)
        );
        assert_eq!(d.external_data, Some(JsonText::from(serde_json::json!({}))));
        assert_eq!(d.collections[0].collection_type.as_deref(), Some("CUSTOM"));
        assert_eq!(d.collections[0].media.as_ref().unwrap().height, Some(123));
        assert_eq!(d.tags, vec!["<string>".to_owned()]);
    }

    #[test]
    fn minor_units_follow_the_iso_exponent_of_the_sku_currency() {
        for (currency, want) in [("JPY", "123"), ("KWD", "0.123"), ("EUR", "1.23")] {
            let mapped = offer(&upstream(), seed_in(currency)).unwrap();
            let (m, d) = marketplace(&mapped);
            assert_eq!(
                m.common.price.as_ref().unwrap().amount(),
                dec(want),
                "{currency}"
            );
            assert_eq!(
                d.skus[0].sale_price.as_ref().unwrap().currency().code(),
                currency
            );
            assert_eq!(d.skus[0].sale_price.as_ref().unwrap().amount(), dec(want));
        }
        let mut kwd = seed_in("KWD");
        kwd.min_price = 1250;
        let mapped = offer(&upstream(), kwd).unwrap();
        assert_eq!(marketplace(&mapped).1.min_price.amount_string(), "1.250");
    }

    #[test]
    fn offer_prices_use_the_first_sku_currency_else_the_offer_currency() {
        let mut o = seed_in("USD");
        o.currency = Some("EUR".into());
        o.skus[0].currency = Some("JPY".into());
        o.min_price = 1200;
        let mapped = offer(&upstream(), o.clone()).unwrap();
        let (_, d) = marketplace(&mapped);
        assert_eq!(d.min_price.currency().code(), "JPY");
        assert_eq!(d.min_price.amount(), dec("1200"));

        o.skus.clear();
        let mapped = offer(&upstream(), o.clone()).unwrap();
        let (m, d) = marketplace(&mapped);
        assert_eq!(d.min_price.currency().code(), "EUR");
        assert_eq!(d.min_price.amount(), dec("12"));
        assert_eq!(m.common.sku, None);

        o.currency = None;
        assert!(matches!(
            offer(&upstream(), o),
            Err(UpstreamError::BadResponse(_))
        ));
    }

    #[test]
    fn sku_without_currency_falls_back_to_the_offer_currency() {
        let mut o = seed_in("GBP");
        o.skus[0].currency = None;
        let mapped = offer(&upstream(), o).unwrap();
        let (_, d) = marketplace(&mapped);
        assert_eq!(
            d.skus[0].sale_price.as_ref().unwrap().currency().code(),
            "GBP"
        );
    }

    #[test]
    fn negative_prices_and_huge_numbers_are_bad_responses_not_panics() {
        let mut o = seed_in("USD");
        o.skus[0].retail_price = Some(-5);
        let err = offer(&upstream(), o).unwrap_err();
        assert!(
            matches!(&err, UpstreamError::BadResponse(d) if d.contains("retail_price")),
            "{err}"
        );

        let mut o = seed_in("USD");
        o.min_price = -1;
        assert!(matches!(
            offer(&upstream(), o),
            Err(UpstreamError::BadResponse(_))
        ));

        let mut o = seed_in("USD");
        o.commission_rate = Some("1e300".parse().unwrap());
        assert!(matches!(
            offer(&upstream(), o),
            Err(UpstreamError::BadResponse(_))
        ));

        let mut o = seed_in("XAU");
        o.skus.clear();
        assert!(matches!(
            offer(&upstream(), o),
            Err(UpstreamError::BadResponse(_))
        ));
    }

    #[test]
    fn statuses_map_with_availability_and_visibility() {
        use wire::Status as S;
        let cases = [
            (Some(S::Available), true, true, OfferStatus::Active, true),
            (
                Some(S::Available),
                false,
                true,
                OfferStatus::Unavailable,
                false,
            ),
            (
                Some(S::Available),
                true,
                false,
                OfferStatus::Unavailable,
                false,
            ),
            (
                Some(S::Unavailable),
                true,
                true,
                OfferStatus::OutOfStock,
                false,
            ),
            (
                Some(S::DisabledAvailable),
                true,
                true,
                OfferStatus::Unavailable,
                false,
            ),
            (
                Some(S::DisabledUnavailable),
                false,
                false,
                OfferStatus::Unavailable,
                false,
            ),
            (
                Some(S::ForDeletion),
                true,
                true,
                OfferStatus::Discontinued,
                false,
            ),
            (
                Some(S::Archived),
                false,
                true,
                OfferStatus::Discontinued,
                false,
            ),
            (None, true, true, OfferStatus::Active, true),
            (None, true, false, OfferStatus::Active, false),
            (None, false, true, OfferStatus::OutOfStock, false),
        ];
        for (status, available, visible, want, buyable) in cases {
            let mut o = seed_in("USD");
            // Offer-level statuses only: the seed's one SKU is unavailable.
            o.skus.clear();
            o.status = status.clone();
            o.available = available;
            o.visible = visible;
            let mapped = offer(&upstream(), o).unwrap();
            let c = mapped.common();
            assert_eq!(
                (
                    c.status,
                    crate::pricing::availability::availability(&mapped, 1).is_buyable()
                ),
                (want, buyable),
                "{status:?} {available} {visible}"
            );
            assert_eq!(c.upstream_status.as_deref(), status.as_ref().map(S::as_str));
        }
    }

    // Literal answers for values the seed allows that used to fail an offer.

    const LITERAL: &str = r#"{
        "id": 3000000127, "product_id": "p1", "name": "Trail Shoe",
        "source": "TIKTOK_SHOP", "merchant_id": 10001, "available": true,
        "visible": true, "min_price": 2999, "currency": "USD", "status": "PENDING",
        "type": "SUBSCRIPTION", "publishing_status": "SCHEDULED",
        "subscription_status": "PAUSED",
        "variants": [{"id": 1, "values": [{"id": 2, "sku_ids": [3], "display_order": 9007199254740993}],
                      "display_order": 3000000000}],
        "skus": [{"id": 3, "sale_price": 2999, "currency": "USD", "status": "BACKORDER",
                  "type": "GIFT_CARD", "quantity_available": 18446744073709551616,
                  "variant_values": [{"variant": "Size"}], "albums": null}],
        "metadata": [{"type": "STRING", "value": "x", "version": 1e30}],
        "albums": [{"media": [{"url": "https://x.example/1.jpg", "display_order": 4294967296}]}],
        "collections": [{"name": "Sale", "media": {"height": 3000000000}}],
        "tags": null
    }"#;

    fn literal() -> Offer {
        let (id, read) = read_offer(&upstream(), LITERAL);
        assert_eq!(id, Some(3_000_000_127));
        read.expect("the literal offer reads")
    }

    #[test]
    fn unknown_source_and_status_keep_the_offer_as_unrecognized_with_the_raw_values() {
        let offer = literal();
        let (m, d) = marketplace(&offer);
        assert_eq!(
            (d.source, d.upstream_source.as_str()),
            (VioletSource::Unrecognized, "TIKTOK_SHOP")
        );
        assert_eq!(m.common.status, OfferStatus::Unrecognized);
        assert_eq!(m.common.upstream_status.as_deref(), Some("PENDING"));
        assert!(
            !crate::pricing::availability::availability(&offer, 1).is_buyable(),
            "an unknown status is never buyable"
        );
        assert_eq!(d.status, Some(VioletStatus::Unrecognized));
        assert_eq!(d.upstream_status.as_deref(), Some("PENDING"));
        assert_eq!(d.product_type, Some(VioletProductType::Unrecognized));
        assert_eq!(d.upstream_type.as_deref(), Some("SUBSCRIPTION"));
        assert_eq!(
            d.publishing_status,
            Some(VioletPublishingStatus::Unrecognized)
        );
        assert_eq!(d.upstream_publishing_status.as_deref(), Some("SCHEDULED"));
        assert_eq!(
            d.subscription_status,
            Some(VioletSubscriptionStatus::Unrecognized)
        );
        assert_eq!(d.upstream_subscription_status.as_deref(), Some("PAUSED"));
        let sku = &d.skus[0];
        assert_eq!(
            (sku.status, sku.upstream_status.as_deref()),
            (Some(VioletStatus::Unrecognized), Some("BACKORDER"))
        );
        assert_eq!(
            (sku.product_type, sku.upstream_type.as_deref()),
            (Some(VioletProductType::Unrecognized), Some("GIFT_CARD"))
        );
        assert_eq!(m.common.price.as_ref().unwrap().amount(), dec("29.99"));
    }

    #[test]
    fn a_variant_without_a_name_and_nested_items_without_ids_are_fine() {
        let offer = literal();
        let (_, d) = marketplace(&offer);
        assert_eq!(d.variants[0].name, None);
        assert_eq!(d.variants[0].values[0].name, None);
        assert_eq!(d.skus[0].variant_values[0].variant.as_deref(), Some("Size"));
        assert_eq!(d.skus[0].variant_values[0].value, None);
        assert_eq!(d.skus[0].name, None);
        assert_eq!(
            (d.albums[0].id.clone(), d.albums[0].media[0].id.clone()),
            (None, None)
        );
        assert_eq!(d.collections[0].id, None);
        assert_eq!(d.metadata[0].key, None);
        assert_eq!(
            offer.common().metadata,
            serde_json::json!({}),
            "no key, no entry"
        );
        assert!(d.tags.is_empty());
    }

    #[test]
    fn counts_above_2_to_the_31_53_and_64_saturate_and_never_fail_the_offer() {
        let offer = literal();
        let (_, d) = marketplace(&offer);
        assert_eq!(d.variants[0].display_order, Some(i32::MAX));
        assert_eq!(d.variants[0].values[0].display_order, Some(i32::MAX));
        assert_eq!(d.skus[0].quantity_available, Some(i32::MAX));
        assert_eq!(d.metadata[0].version, Some(i32::MAX));
        assert_eq!(d.albums[0].media[0].display_order, Some(i32::MAX));
        assert_eq!(
            d.collections[0].media.as_ref().unwrap().height,
            Some(i32::MAX)
        );
    }

    #[test]
    fn an_unreadable_offer_names_itself() {
        let text = LITERAL.replace(r#""min_price": 2999"#, r#""min_price": "29,99""#);
        let (id, read) = read_offer(&upstream(), &text);
        assert_eq!(id, Some(3_000_000_127));
        assert!(
            matches!(&read, Err(UpstreamError::BadResponse(d)) if d.contains("3000000127")),
            "{read:?}"
        );
    }

    #[test]
    fn offer_sku_is_set_only_for_exactly_one_sku() {
        let mut o = seed_in("USD");
        let mut second = o.skus[0].clone();
        second.id = Some(124);
        second.external_id = Some("other".into());
        o.skus.push(second);
        let mapped = offer(&upstream(), o).unwrap();
        assert_eq!(mapped.common().sku, None);
    }

    #[test]
    fn metadata_entries_become_an_object_and_absent_metadata_is_empty() {
        let mut o = seed_in("USD");
        o.metadata = Some(vec![
            wire::Metadata {
                version: Some(1),
                value_type: Some("STRING".into()),
                external_type: None,
                key: Some("material".into()),
                value: Some(serde_json::json!("cotton")),
                external_id: None,
                source: Some("EXTERNAL".into()),
            },
            wire::Metadata {
                version: None,
                value_type: Some("INTEGER".into()),
                external_type: None,
                key: Some("warranty_months".into()),
                value: Some(serde_json::json!(24)),
                external_id: None,
                source: None,
            },
        ]);
        let mapped = offer(&upstream(), o.clone()).unwrap();
        assert_eq!(
            mapped.common().metadata,
            serde_json::json!({"material": "cotton", "warranty_months": 24})
        );
        o.metadata = None;
        o.collections = None;
        let mapped = offer(&upstream(), o).unwrap();
        assert_eq!(mapped.common().metadata, serde_json::json!({}));
        let (_, d) = marketplace(&mapped);
        assert!(d.metadata.is_empty() && d.collections.is_empty());
    }
}
