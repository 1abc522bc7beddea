//! Medusa wire types to the domain model.
//!
//! Every field of a Mercur offer lands in [`MedusaOfferDetails`]; the shared
//! [`OfferCommon`] is derived from it. Prices go through
//! [`pricing::from_medusa`] (major units, lower-case currency codes) and the
//! unit price is the tier [`pricing::tier_for_quantity`] picks for one unit.
//! Medusa offers have no lifecycle status: they are `Active`, and buyable
//! when a price for one unit is known. Counts (`variant_count`, tier
//! bounds, `required_quantity`) saturate at `i32::MAX` rather than failing
//! the offer; a price that cannot be read fails that one offer.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::error::UpstreamError;
use crate::model::{
    JsonText, MarketplaceDetails, MarketplaceOffer, MedusaInventoryItem, MedusaOfferDetails,
    MedusaPrice, MedusaSeller, MedusaShippingProfile, MedusaVariant, Offer, OfferCommon, OfferKey,
    OfferKind, OfferStatus, Seller, UpstreamKind,
};
use crate::pricing;

use super::id;
use super::wire;
use crate::upstream::tolerant::saturating_i32;

/// Reads one offer of a list answer from its JSON text: the wire type, then
/// [`offer`]. Also returns the offer's id (canonical when it can be), when
/// it can be read, to say which offer the answer is for.
pub(crate) fn read_offer(
    upstream: &Arc<str>,
    json: &str,
) -> (Option<String>, Result<Offer, UpstreamError>) {
    let canonical = |raw: String| id::canonical_offer_id(&raw).unwrap_or(raw);
    // Parsed once; only an offer that does not match the wire type is
    // read again, for its id alone.
    match serde_json::from_str::<wire::Offer>(json) {
        Ok(offer) => {
            let id = canonical(offer.id.clone());
            let offer = self::offer(upstream, offer)
                // What is read is kept in caches: without the slack of the move.
                .map(|offer| offer.compacted());
            (Some(id), offer)
        }
        Err(err) => {
            let id = serde_json::from_str::<wire::OfferId>(json)
                .ok()
                .map(|o| canonical(o.id));
            let err = UpstreamError::BadResponse(format!(
                "offer {} does not match the expected shape: {err}",
                id.as_deref().unwrap_or("without an id")
            ));
            (id, Err(err))
        }
    }
}

/// Maps one wire offer of the instance `upstream` into the domain. A bad
/// price is a [`UpstreamError::BadResponse`].
pub(crate) fn offer(upstream: &Arc<str>, offer: wire::Offer) -> Result<Offer, UpstreamError> {
    let native_id = id::canonical_offer_id(&offer.id).unwrap_or_else(|_| offer.id.clone());
    let bad = |what: String| UpstreamError::BadResponse(format!("offer {native_id}: {what}"));

    let prices = offer
        .prices
        .into_iter()
        .map(|p| price(p).map_err(&bad))
        .collect::<Result<Vec<_>, _>>()?;
    let inventory_items = offer
        .inventory_items
        .into_iter()
        .map(|item| MedusaInventoryItem {
            required_quantity: item.required_quantity.map(saturating_i32),
            id: item.id,
            inventory_item_id: item.inventory_item_id,
            sku: item.sku,
        })
        .collect();
    let variant_count = offer.variant_count.map(saturating_i32);

    let unit_price =
        pricing::compare::listed_medusa_tier(&prices, None).map(|tier| tier.price.clone());
    let metadata = match &offer.metadata {
        Some(Value::Object(object)) => JsonText::object(object),
        _ => JsonText::object(&Map::new()),
    };
    let seller = Seller {
        id: offer
            .seller
            .as_ref()
            .map(|s| s.id.clone())
            .or_else(|| offer.seller_id.clone())
            .unwrap_or_default(),
        name: offer.seller.as_ref().and_then(|s| s.name.clone()),
        handle: offer.seller.as_ref().and_then(|s| s.handle.clone()),
    };
    let title = offer.product_variant.as_ref().and_then(|v| v.title.clone());

    let common = OfferCommon {
        upstream: upstream.clone(),
        upstream_kind: UpstreamKind::Medusa,
        key: OfferKey::new(OfferKind::Marketplace, native_id),
        product_id: offer.product_id.clone().unwrap_or_default(),
        sku: offer.sku.clone().filter(|sku| !sku.is_empty()),
        currency: unit_price
            .as_ref()
            .or_else(|| prices.first().map(|t| &t.price))
            .map(crate::pricing::Money::currency),
        price: unit_price,
        status: OfferStatus::Active,
        upstream_status: None,
        metadata,
    };
    let details = MedusaOfferDetails {
        seller_id: offer.seller_id,
        variant_id: offer.variant_id,
        product_id: offer.product_id,
        shipping_profile_id: offer.shipping_profile_id,
        sku: offer.sku,
        ean: offer.ean,
        upc: offer.upc,
        created_by: offer.created_by,
        variant_count,
        metadata: offer.metadata.filter(|m| !m.is_null()).map(JsonText::from),
        seller: offer.seller.map(|s| MedusaSeller {
            id: s.id,
            name: s.name,
            handle: s.handle,
        }),
        product_variant: offer.product_variant.map(|v| MedusaVariant {
            id: v.id,
            title: v.title,
            sku: v.sku,
        }),
        shipping_profile: offer.shipping_profile.map(|p| MedusaShippingProfile {
            id: p.id,
            name: p.name,
        }),
        prices,
        inventory_items,
        created_at: offer.created_at,
        updated_at: offer.updated_at,
    };
    Ok(Offer::Marketplace(Arc::new(MarketplaceOffer {
        common,
        title,
        seller,
        details: MarketplaceDetails::Medusa(details),
    })))
}

fn price(p: wire::Price) -> Result<MedusaPrice, String> {
    let money = pricing::from_medusa(&p.amount, &p.currency_code)
        .map_err(|e| format!("price {}: {e}", p.id))?;
    Ok(MedusaPrice {
        price: money,
        min_quantity: p.min_quantity.map(saturating_i32),
        max_quantity: p.max_quantity.map(saturating_i32),
        price_rules: p.price_rules.filter(|r| !r.is_null()).map(JsonText::from),
        rules_count: p.rules_count.map(saturating_i32),
        id: p.id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pricing::Currency;
    use rust_decimal::Decimal;
    use serde_json::json;

    const RETRIEVE_OFFER: &str = include_str!("../../../tests/fixtures/medusa/retrieve_offer.json");

    fn dec(s: &str) -> Decimal {
        Decimal::from_str_exact(s).expect("test decimal")
    }

    fn upstream() -> Arc<str> {
        Arc::from("mercur")
    }

    fn marketplace(offer: &Offer) -> &MarketplaceOffer {
        match offer {
            Offer::Marketplace(m) => m,
            other => panic!("not a marketplace offer: {other:?}"),
        }
    }

    fn details(offer: &Offer) -> &MedusaOfferDetails {
        match &marketplace(offer).details {
            MarketplaceDetails::Medusa(d) => d,
            other => panic!("not a Medusa offer: {other:?}"),
        }
    }

    fn seed_wire() -> wire::Offer {
        serde_json::from_str::<wire::OfferResponse>(RETRIEVE_OFFER)
            .expect("the seed example matches the wire types")
            .offer
    }

    #[test]
    fn seed_example_deserializes_into_wire_types() {
        let offer = seed_wire();
        assert_eq!(
            offer,
            wire::Offer {
                id: "offer_01HXYZ8Q2M4N6P8R0T2V4W6X8Y".into(),
                seller_id: Some("sel_01HXYZ".into()),
                variant_id: Some("variant_01HXYZ".into()),
                product_id: Some("prod_01HXYZ".into()),
                shipping_profile_id: Some("sp_01HXYZ".into()),
                sku: Some("SHIRT-M-BLUE".into()),
                ean: None,
                upc: None,
                created_by: Some("user_01HXYZ".into()),
                variant_count: Some(3),
                metadata: None,
                seller: Some(wire::Seller {
                    id: "sel_01HXYZ".into(),
                    name: Some("Acme Store".into()),
                    handle: Some("acme-store".into()),
                }),
                product_variant: Some(wire::ProductVariant {
                    id: "variant_01HXYZ".into(),
                    title: Some("M / Blue".into()),
                    sku: Some("SHIRT-M-BLUE".into()),
                }),
                shipping_profile: Some(wire::ShippingProfile {
                    id: "sp_01HXYZ".into(),
                    name: Some("Default".into()),
                }),
                prices: vec![wire::Price {
                    id: "price_01HXYZ".into(),
                    amount: "2500".parse().expect("a JSON number"),
                    currency_code: "usd".into(),
                    min_quantity: None,
                    max_quantity: None,
                    price_rules: None,
                    rules_count: None,
                }],
                inventory_items: vec![wire::InventoryItem {
                    id: "iitem_01HXYZ".into(),
                    inventory_item_id: Some("iitem_01HXYZ".into()),
                    required_quantity: Some(1),
                    sku: Some("SHIRT-M-BLUE".into()),
                }],
                created_at: None,
                updated_at: None,
            }
        );
    }

    #[test]
    fn seed_example_maps_2500_usd_as_major_units() {
        let offer = offer(&upstream(), seed_wire()).expect("the seed example maps");
        let usd = Currency::parse("USD").expect("USD");
        let common = offer.common();
        let price = common.price.clone().expect("a unit price");
        // Medusa v2 stores prices as-is: 2500 usd is $2,500.00, not cents.
        assert_eq!(price.amount(), dec("2500"));
        assert_eq!(price.currency(), usd);
        assert_eq!(price.amount_string(), "2500.00");
        assert_eq!(
            *common,
            OfferCommon {
                upstream: upstream(),
                upstream_kind: UpstreamKind::Medusa,
                key: OfferKey::new(OfferKind::Marketplace, "offer_01HXYZ8Q2M4N6P8R0T2V4W6X8Y"),
                product_id: "prod_01HXYZ".into(),
                sku: Some("SHIRT-M-BLUE".into()),
                price: Some(price.clone()),
                currency: Some(usd),
                status: OfferStatus::Active,
                upstream_status: None,
                metadata: JsonText::from(json!({})),
            }
        );
        let m = marketplace(&offer);
        assert_eq!(m.title.as_deref(), Some("M / Blue"));
        assert_eq!(
            m.seller,
            Seller {
                id: "sel_01HXYZ".into(),
                name: Some("Acme Store".into()),
                handle: Some("acme-store".into()),
            }
        );
        assert_eq!(
            *details(&offer),
            MedusaOfferDetails {
                seller_id: Some("sel_01HXYZ".into()),
                variant_id: Some("variant_01HXYZ".into()),
                product_id: Some("prod_01HXYZ".into()),
                shipping_profile_id: Some("sp_01HXYZ".into()),
                sku: Some("SHIRT-M-BLUE".into()),
                ean: None,
                upc: None,
                created_by: Some("user_01HXYZ".into()),
                variant_count: Some(3),
                metadata: None,
                seller: Some(MedusaSeller {
                    id: "sel_01HXYZ".into(),
                    name: Some("Acme Store".into()),
                    handle: Some("acme-store".into()),
                }),
                product_variant: Some(MedusaVariant {
                    id: "variant_01HXYZ".into(),
                    title: Some("M / Blue".into()),
                    sku: Some("SHIRT-M-BLUE".into()),
                }),
                shipping_profile: Some(MedusaShippingProfile {
                    id: "sp_01HXYZ".into(),
                    name: Some("Default".into()),
                }),
                prices: vec![MedusaPrice {
                    id: "price_01HXYZ".into(),
                    price,
                    min_quantity: None,
                    max_quantity: None,
                    price_rules: None,
                    rules_count: None,
                }],
                inventory_items: vec![MedusaInventoryItem {
                    id: "iitem_01HXYZ".into(),
                    inventory_item_id: Some("iitem_01HXYZ".into()),
                    required_quantity: Some(1),
                    sku: Some("SHIRT-M-BLUE".into()),
                }],
                created_at: None,
                updated_at: None,
            }
        );
    }

    fn with(patch: Value) -> wire::Offer {
        let mut base: Value = serde_json::from_str(RETRIEVE_OFFER).expect("fixture is JSON");
        for (key, value) in patch.as_object().expect("patch is an object") {
            base["offer"][key] = value.clone();
        }
        serde_json::from_value::<wire::OfferResponse>(base)
            .expect("patched fixture matches the wire types")
            .offer
    }

    #[test]
    fn unit_price_skips_rule_tiers_and_takes_the_narrowest_tier_for_one_unit() {
        let wire = with(json!({"prices": [
            {"id": "price_a", "amount": 19, "currency_code": "usd", "min_quantity": null, "max_quantity": null,
             "price_rules": [{"attribute": "customer_group_id", "operator": "eq", "value": "cusgroup_1"}]},
            {"id": "price_b", "amount": 20.5, "currency_code": "usd", "min_quantity": 1, "max_quantity": 9, "price_rules": []},
            {"id": "price_c", "amount": 18.25, "currency_code": "usd", "min_quantity": 10, "max_quantity": null, "price_rules": []},
            {"id": "price_d", "amount": 19.5, "currency_code": "eur", "min_quantity": null, "max_quantity": null, "price_rules": []}
        ]}));
        let offer = offer(&upstream(), wire).expect("maps");
        let price = offer.common().price.clone().expect("a unit price");
        assert_eq!(
            (price.amount(), price.currency().code()),
            (dec("20.5"), "USD")
        );
        assert_eq!(price.amount_string(), "20.50");
        let prices = &details(&offer).prices;
        assert_eq!(prices.len(), 4);
        assert_eq!(
            prices[0].price_rules,
            Some(JsonText::from(
                json!([{"attribute": "customer_group_id", "operator": "eq", "value": "cusgroup_1"}])
            ))
        );
        assert_eq!(prices[1].price_rules, Some(JsonText::from(json!([]))));
        assert_eq!(
            (prices[2].min_quantity, prices[2].max_quantity),
            (Some(10), None)
        );
    }

    #[test]
    fn jpy_and_kwd_amounts_keep_their_exponents() {
        let wire = with(json!({"prices": [
            {"id": "price_j", "amount": 1200, "currency_code": "jpy", "min_quantity": null, "max_quantity": null},
            {"id": "price_k", "amount": 1.25, "currency_code": "kwd", "min_quantity": null, "max_quantity": null}
        ]}));
        let offer = offer(&upstream(), wire).expect("maps");
        let prices = &details(&offer).prices;
        assert_eq!(prices[0].price.amount_string(), "1200");
        assert_eq!(prices[1].price.amount_string(), "1.250");
        assert_eq!(prices[1].price.minor_units(), Some(dec("1250")));
    }

    #[test]
    fn a_price_counted_as_rule_bound_is_skipped_even_when_its_rules_are_not_expanded() {
        let offer = offer(
            &upstream(),
            with(json!({"prices": [
                {"id": "price_g", "amount": 5, "currency_code": "usd", "rules_count": 2},
                {"id": "price_p", "amount": 9, "currency_code": "usd", "rules_count": 0}
            ]})),
        )
        .expect("maps");
        assert_eq!(
            offer
                .common()
                .price
                .as_ref()
                .map(crate::pricing::Money::amount),
            Some(Decimal::from(9)),
            "the customer-group price is not what a plain buyer pays"
        );
    }

    #[test]
    fn no_price_is_unknown_and_not_buyable_but_zero_is_free() {
        let none = offer(&upstream(), with(json!({"prices": []}))).expect("maps");
        assert_eq!(none.common().price, None);
        assert!(!crate::pricing::availability::availability(&none, 1).is_buyable());
        let bulk_only = with(json!({"prices": [
            {"id": "price_b", "amount": 9, "currency_code": "usd", "min_quantity": 10, "max_quantity": null}
        ]}));
        let bulk_only = offer(&upstream(), bulk_only).expect("maps");
        // The price shown is the bulk tier's, for 10 units or more.
        assert_eq!(
            bulk_only
                .common()
                .price
                .as_ref()
                .map(crate::pricing::Money::amount),
            Some(Decimal::from(9))
        );
        assert_eq!(crate::pricing::compare::minimum_quantity(&bulk_only), 10);
        assert!(crate::pricing::availability::availability(&bulk_only, 10).is_buyable());
        assert!(!crate::pricing::availability::availability(&bulk_only, 1).is_buyable());
        let zero = with(json!({"prices": [
            {"id": "price_z", "amount": 0, "currency_code": "usd", "min_quantity": null, "max_quantity": null}
        ]}));
        let zero = offer(&upstream(), zero).expect("maps");
        let price = zero.common().price.clone().expect("a free price is known");
        assert!(price.amount().is_zero());
        assert!(crate::pricing::availability::availability(&zero, 1).is_buyable());
    }

    #[test]
    fn metadata_object_is_common_metadata_and_raw_null_stays_in_details() {
        let meta =
            offer(&upstream(), with(json!({"metadata": {"condition": "new"}}))).expect("maps");
        assert_eq!(meta.common().metadata, json!({"condition": "new"}));
        assert_eq!(
            details(&meta).metadata,
            Some(JsonText::from(json!({"condition": "new"})))
        );
        let null = offer(&upstream(), with(json!({"metadata": null}))).expect("maps");
        assert_eq!(null.common().metadata, json!({}));
        assert_eq!(details(&null).metadata, None);
    }

    #[test]
    fn empty_sku_is_no_sku_but_kept_raw() {
        let offer = offer(&upstream(), with(json!({"sku": ""}))).expect("maps");
        assert_eq!(offer.common().sku, None);
        assert_eq!(details(&offer).sku.as_deref(), Some(""));
    }

    #[test]
    fn lower_case_offer_ids_get_the_canonical_key() {
        let offer = offer(
            &upstream(),
            with(json!({"id": "offer_01hxyz8q2m4n6p8r0t2v4w6x8y"})),
        )
        .expect("maps");
        assert_eq!(
            offer.common().key.native_id,
            "offer_01HXYZ8Q2M4N6P8R0T2V4W6X8Y"
        );
    }

    #[test]
    fn seller_falls_back_to_seller_id_without_the_relation() {
        let offer = offer(&upstream(), with(json!({"seller": null}))).expect("maps");
        assert_eq!(
            marketplace(&offer).seller,
            Seller {
                id: "sel_01HXYZ".into(),
                name: None,
                handle: None
            }
        );
    }

    #[test]
    fn bad_prices_are_bad_responses_not_panics() {
        for patch in [
            json!({"prices": [{"id": "price_x", "amount": 5, "currency_code": "zzz"}]}),
            json!({"prices": [{"id": "price_x", "amount": -5, "currency_code": "usd"}]}),
            json!({"prices": [{"id": "price_x", "amount": 1e40, "currency_code": "usd"}]}),
        ] {
            let err = offer(&upstream(), with(patch.clone())).expect_err(&patch.to_string());
            assert!(
                matches!(&err, UpstreamError::BadResponse(d) if d.contains("offer_01HXYZ8Q2M4N6P8R0T2V4W6X8Y")),
                "{patch}: {err:?}"
            );
        }
    }

    // Literal answers for values the seed allows that used to fail an offer.

    const LITERAL: &str = r#"{
        "id": "offer_01HXYZ8Q2M4N6P8R0T2V4W6X8Y", "seller_id": "sel_01HXYZ",
        "variant_count": 3000000000, "metadata": null, "seller": null,
        "prices": [
            {"id": "price_a", "amount": 20.555, "currency_code": "usd",
             "min_quantity": null, "max_quantity": 18446744073709551616},
            {"id": "price_b", "amount": 1.9e1, "currency_code": "usd",
             "min_quantity": 9007199254740993, "max_quantity": null}
        ],
        "inventory_items": [{"id": "iitem_a", "required_quantity": 1e30}]
    }"#;

    #[test]
    fn counts_above_2_to_the_31_53_and_64_saturate_and_never_fail_the_offer() {
        let (id, read) = read_offer(&upstream(), LITERAL);
        assert_eq!(id.as_deref(), Some("offer_01HXYZ8Q2M4N6P8R0T2V4W6X8Y"));
        let offer = read.expect("the offer reads");
        let d = details(&offer);
        assert_eq!(d.variant_count, Some(i32::MAX));
        assert_eq!(
            (d.prices[0].min_quantity, d.prices[0].max_quantity),
            (None, Some(i32::MAX))
        );
        assert_eq!(d.prices[1].min_quantity, Some(i32::MAX));
        assert_eq!(d.inventory_items[0].required_quantity, Some(i32::MAX));
        // Finer than a cent and exponent notation are exact JSON numbers.
        let price = offer.common().price.clone().expect("a unit price");
        assert_eq!(price.amount(), dec("20.555"));
        assert_eq!(d.prices[1].price.amount(), dec("19"));
        assert_eq!(marketplace(&offer).seller.id, "sel_01HXYZ");
    }

    #[test]
    fn null_lists_and_missing_relations_read_as_empty() {
        let text = r#"{"id": "offer_01HXYZ8Q2M4N6P8R0T2V4W6X8Y", "prices": null,
            "inventory_items": null, "product_variant": null, "shipping_profile": null,
            "ean": null, "upc": null, "sku": null, "variant_count": null}"#;
        let offer = read_offer(&upstream(), text).1.expect("the offer reads");
        let d = details(&offer);
        assert!(d.prices.is_empty() && d.inventory_items.is_empty());
        assert_eq!(offer.common().price, None);
        assert!(!crate::pricing::availability::availability(&offer, 1).is_buyable());
        assert_eq!(marketplace(&offer).title, None);
    }

    #[test]
    fn an_unreadable_offer_names_itself() {
        let text = LITERAL.replace("20.555", r#""twenty""#);
        let (id, read) = read_offer(&upstream(), &text);
        assert_eq!(id.as_deref(), Some("offer_01HXYZ8Q2M4N6P8R0T2V4W6X8Y"));
        assert!(
            matches!(&read, Err(UpstreamError::BadResponse(d)) if d.contains("offer_01HXYZ8Q2M4N6P8R0T2V4W6X8Y")),
            "{read:?}"
        );
    }

    #[test]
    fn string_amounts_do_not_match_the_wire_type() {
        let mut base: Value = serde_json::from_str(RETRIEVE_OFFER).expect("fixture is JSON");
        base["offer"]["prices"][0]["amount"] = json!("25.00");
        assert!(serde_json::from_value::<wire::OfferResponse>(base).is_err());
    }

    #[test]
    fn documented_error_bodies_deserialize() {
        let not_found: wire::ErrorBody = serde_json::from_str(include_str!(
            "../../../tests/fixtures/medusa/error_not_found.json"
        ))
        .expect("not_found body");
        assert_eq!(not_found.kind, Some(wire::ErrorType::NotFound));
        assert_eq!(not_found.kind.map(wire::ErrorType::status), Some(404));
        let unknown: wire::ErrorBody = serde_json::from_str(include_str!(
            "../../../tests/fixtures/medusa/error_unknown.json"
        ))
        .expect("unknown_error body");
        assert_eq!(unknown.kind, Some(wire::ErrorType::UnknownError));
        assert_eq!(unknown.code.as_deref(), Some("unknown_error"));
        let unauthorized: wire::ErrorBody = serde_json::from_str(include_str!(
            "../../../tests/fixtures/medusa/error_unauthorized.json"
        ))
        .expect("bare 401 body");
        assert_eq!(unauthorized.kind, None);
        assert_eq!(unauthorized.message.as_deref(), Some("Unauthorized"));
    }
}
