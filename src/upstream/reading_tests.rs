//! Property tests of each style's reader (wire types + mapping): upstream
//! JSON built from generated wire values (the simulators' offers, drift
//! mode included, serialized) and then mutated.
//!
//! - Any mutation (drop a field, null it, put a string, a number, a huge
//!   number, a nested object, an unknown enum string in its place) never
//!   panics: the reader answers an offer or a typed `BadResponse`.
//! - Mutations the seed documents allow (an unknown enum string in an
//!   enum field, `null` or nothing in an optional field, any integer in a
//!   count, a signed decimal shipping cost) always answer an offer.

use std::sync::{Arc, OnceLock};

use proptest::prelude::*;
use serde_json::{json, Value};

use crate::error::UpstreamError;
use crate::model::Offer;
use crate::sim::catalog::Catalog;
use crate::upstream::{closient, medusa, violet};

/// Serialized wire offers of each style, from the demo catalog's
/// simulators, with and without drift.
struct Pools {
    online: Vec<Value>,
    in_store: Vec<Value>,
    medusa: Vec<Value>,
    violet: Vec<Value>,
}

fn pools() -> &'static Pools {
    static POOLS: OnceLock<Pools> = OnceLock::new();
    POOLS.get_or_init(|| {
        let catalog = Catalog::demo();
        let sample =
            |values: Vec<Value>| -> Vec<Value> { values.into_iter().step_by(7).take(60).collect() };
        let closient_plain = closient::sim::SimData::generate(&catalog);
        let closient_drift = closient::sim::SimData::generate(&catalog).with_drift();
        let medusa_plain = medusa::sim::SimData::generate(&catalog);
        let medusa_drift = medusa::sim::SimData::generate(&catalog).with_drift();
        let violet_plain = violet::sim::SimData::generate(&catalog);
        let violet_drift = violet::sim::SimData::generate(&catalog).with_drift();
        let both = |a: Vec<Value>, b: Vec<Value>| {
            let mut all = sample(a);
            all.extend(sample(b));
            all
        };
        Pools {
            online: both(
                closient_plain.online_offers.iter().map(to_json).collect(),
                closient_drift.online_offers.iter().map(to_json).collect(),
            ),
            in_store: both(
                closient_plain.in_store_offers.iter().map(to_json).collect(),
                closient_drift.in_store_offers.iter().map(to_json).collect(),
            ),
            medusa: both(
                medusa_plain.offers.iter().map(to_json).collect(),
                medusa_drift.offers.iter().map(to_json).collect(),
            ),
            violet: both(
                violet_plain.offers.iter().map(to_json).collect(),
                violet_drift.offers.iter().map(to_json).collect(),
            ),
        }
    })
}

fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).expect("wire values serialize")
}

/// What to put where a value was.
#[derive(Clone, Debug)]
enum Mutation {
    Drop,
    Null,
    Text(String),
    Integer(i64),
    Huge(Value),
    Fraction(f64),
    Nested,
    EmptyList,
    Flag(bool),
    UnknownEnum(String),
}

fn huge_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!(9_007_199_254_740_993_i64)),
        Just(json!(u64::MAX)),
        Just(json!(1e30)),
        Just(json!(-1e30)),
        Just(json!(i64::MIN)),
        Just(serde_json::from_str::<Value>("18446744073709551616").expect("a JSON number")),
    ]
}

fn unknown_enum() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{3,10}(_[a-z]{3,8})?",
        "[A-Z]{3,10}(_[A-Z]{3,8})?",
        Just("api_import".to_owned()),
        Just("TIKTOK_SHOP".to_owned()),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        Just(Mutation::Drop),
        Just(Mutation::Null),
        ".{0,12}".prop_map(Mutation::Text),
        any::<i64>().prop_map(Mutation::Integer),
        huge_number().prop_map(Mutation::Huge),
        (-1e6..1e6_f64).prop_map(Mutation::Fraction),
        Just(Mutation::Nested),
        Just(Mutation::EmptyList),
        any::<bool>().prop_map(Mutation::Flag),
        unknown_enum().prop_map(Mutation::UnknownEnum),
    ]
}

/// Every JSON pointer inside `value` (not the root itself).
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(object) => {
            for (key, child) in object {
                let escaped = key.replace('~', "~0").replace('/', "~1");
                let pointer = format!("{at}/{escaped}");
                out.push(pointer.clone());
                pointers(child, pointer, out);
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                let pointer = format!("{at}/{index}");
                out.push(pointer.clone());
                pointers(child, pointer, out);
            }
        }
        _ => {}
    }
}

/// Applies `mutation` at `pointer`; a pointer whose parent is gone (an
/// earlier mutation dropped it) is skipped.
fn mutate(value: &mut Value, pointer: &str, mutation: &Mutation) {
    let Some((parent, key)) = pointer.rsplit_once('/') else {
        return;
    };
    let key = key.replace("~1", "/").replace("~0", "~");
    let replacement = match mutation {
        Mutation::Drop => {
            match value.pointer_mut(parent) {
                Some(Value::Object(object)) => {
                    object.remove(&key);
                }
                Some(Value::Array(items)) => {
                    if let Ok(index) = key.parse::<usize>() {
                        if index < items.len() {
                            items.remove(index);
                        }
                    }
                }
                _ => {}
            }
            return;
        }
        Mutation::Null => Value::Null,
        Mutation::Text(text) | Mutation::UnknownEnum(text) => json!(text),
        Mutation::Integer(n) => json!(n),
        Mutation::Huge(n) => n.clone(),
        Mutation::Fraction(x) => json!(x),
        Mutation::Nested => json!({"nested": {"deeper": [1, "two", null]}}),
        Mutation::EmptyList => json!([]),
        Mutation::Flag(flag) => json!(flag),
    };
    match value.pointer_mut(parent) {
        Some(Value::Object(object)) => {
            object.insert(key, replacement);
        }
        Some(Value::Array(items)) => {
            if let Some(slot) = key.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                *slot = replacement;
            }
        }
        _ => {}
    }
}

/// `base` with the mutations applied at the pointers the indexes pick.
fn mutated(base: &Value, mutations: &[(usize, Mutation)]) -> Value {
    let mut value = base.clone();
    for (index, mutation) in mutations {
        let mut all = Vec::new();
        pointers(&value, String::new(), &mut all);
        if all.is_empty() {
            break;
        }
        let pointer = all[index % all.len()].clone();
        mutate(&mut value, &pointer, mutation);
    }
    value
}

/// `base` with the mutations applied at the named sites (skipping sites
/// this value does not have).
fn at_sites(base: &Value, mutations: &[(&str, Mutation)]) -> Value {
    let mut value = base.clone();
    for (pointer, mutation) in mutations {
        let parent = pointer.rsplit_once('/').map_or("", |(parent, _)| parent);
        if value.pointer(parent).is_some() {
            mutate(&mut value, pointer, mutation);
        }
    }
    value
}

fn upstream() -> Arc<str> {
    Arc::from("proptest")
}

/// The reader's answer is an offer or a typed `BadResponse`; an offer's
/// money is never negative.
fn offer_or_bad_response(answer: Result<Offer, UpstreamError>) -> Result<(), TestCaseError> {
    match answer {
        Ok(offer) => {
            if let Some(price) = &offer.common().price {
                prop_assert!(!price.amount().is_sign_negative() || price.amount().is_zero());
            }
            if let Offer::Online(online) = &offer {
                if let Some(cost) = &online.shipping_cost {
                    prop_assert!(!cost.amount().is_sign_negative() || cost.amount().is_zero());
                }
            }
            Ok(())
        }
        Err(UpstreamError::BadResponse(_)) => Ok(()),
        Err(other) => Err(TestCaseError::fail(format!("untyped failure: {other:?}"))),
    }
}

fn any_mutations() -> impl Strategy<Value = Vec<(usize, Mutation)>> {
    prop::collection::vec((any::<usize>(), mutation()), 1..4)
}

/// One tolerated mutation of an enum field: an unknown string, `null` or nothing.
fn enum_change() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        unknown_enum().prop_map(Mutation::UnknownEnum),
        Just(Mutation::Null),
        Just(Mutation::Drop),
    ]
}

/// One tolerated mutation of an optional field: `null` or nothing.
fn absent() -> impl Strategy<Value = Mutation> {
    prop_oneof![Just(Mutation::Null), Just(Mutation::Drop)]
}

/// One tolerated mutation of a count: any integer, however large.
fn count() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<i64>().prop_map(Mutation::Integer),
        huge_number().prop_map(Mutation::Huge),
        Just(Mutation::Null),
    ]
}

fn pick(sites: &[&'static str]) -> impl Strategy<Value = &'static str> {
    prop::sample::select(sites.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn closient_online_offers_read_as_an_offer_or_a_typed_error(
        base in 0..pools().online.len(),
        mutations in any_mutations(),
    ) {
        let json = mutated(&pools().online[base], &mutations);
        offer_or_bad_response(closient::map::read_online_offer(&upstream(), &json.to_string()))?;
    }

    #[test]
    fn closient_in_store_offers_read_as_an_offer_or_a_typed_error(
        base in 0..pools().in_store.len(),
        mutations in any_mutations(),
    ) {
        let json = mutated(&pools().in_store[base], &mutations);
        offer_or_bad_response(closient::map::read_in_store_offer(&upstream(), &json.to_string()))?;
    }

    #[test]
    fn medusa_offers_read_as_an_offer_or_a_typed_error(
        base in 0..pools().medusa.len(),
        mutations in any_mutations(),
    ) {
        let json = mutated(&pools().medusa[base], &mutations);
        offer_or_bad_response(medusa::map::read_offer(&upstream(), &json.to_string()).1)?;
    }

    #[test]
    fn violet_offers_read_as_an_offer_or_a_typed_error(
        base in 0..pools().violet.len(),
        mutations in any_mutations(),
    ) {
        let json = mutated(&pools().violet[base], &mutations);
        offer_or_bad_response(violet::map::read_offer(&upstream(), &json.to_string()).1)?;
    }

    #[test]
    fn closient_offers_read_whatever_seed_allowed_values_they_carry(
        base in 0..pools().online.len(),
        enums in prop::collection::vec((pick(&["/status", "/source", "/fulfillment_type", "/stock_level"]), enum_change()), 0..4),
        optional in prop::collection::vec((pick(&["/organization_id", "/sku", "/url", "/metadata", "/is_verified", "/delivery_countries", "/price", "/price/amount", "/shipping_cost", "/lead_time_days", "/min_order_quantity"]), absent()), 0..4),
        counts in prop::collection::vec((pick(&["/lead_time_days", "/min_order_quantity"]), count()), 0..2),
        shipping in proptest::option::of("[+-]?[0-9]{1,6}(\\.[0-9]{0,3})?|[+-]?\\.[0-9]{1,3}"),
    ) {
        let mut sites: Vec<(&str, Mutation)> = enums;
        sites.extend(optional);
        sites.extend(counts);
        if let Some(cost) = shipping {
            sites.push(("/shipping_cost", Mutation::Text(cost)));
        }
        let json = at_sites(&pools().online[base], &sites);
        let answer = closient::map::read_online_offer(&upstream(), &json.to_string());
        prop_assert!(answer.is_ok(), "{answer:?} from {json}");
        let in_store = at_sites(
            &pools().in_store[base % pools().in_store.len()],
            &sites.iter().filter(|(site, _)| ["/status", "/source", "/sku", "/metadata", "/price"].contains(site)).cloned().collect::<Vec<_>>(),
        );
        let answer = closient::map::read_in_store_offer(&upstream(), &in_store.to_string());
        prop_assert!(answer.is_ok(), "{answer:?} from {in_store}");
    }

    #[test]
    fn medusa_offers_read_whatever_seed_allowed_values_they_carry(
        base in 0..pools().medusa.len(),
        optional in prop::collection::vec((pick(&["/seller_id", "/variant_id", "/product_id", "/shipping_profile_id", "/sku", "/ean", "/upc", "/created_by", "/metadata", "/seller", "/product_variant", "/shipping_profile", "/prices", "/inventory_items", "/created_at", "/updated_at", "/seller/name", "/prices/0/price_rules", "/prices/0/min_quantity"]), absent()), 0..5),
        counts in prop::collection::vec((pick(&["/variant_count", "/prices/0/min_quantity", "/prices/0/max_quantity", "/inventory_items/0/required_quantity"]), count()), 0..3),
    ) {
        let mut sites = optional;
        sites.extend(counts);
        let json = at_sites(&pools().medusa[base], &sites);
        let answer = medusa::map::read_offer(&upstream(), &json.to_string()).1;
        prop_assert!(answer.is_ok(), "{answer:?} from {json}");
    }

    #[test]
    fn violet_offers_read_whatever_seed_allowed_values_they_carry(
        base in 0..pools().violet.len(),
        enums in prop::collection::vec((pick(&["/status", "/type", "/publishing_status", "/subscription_status", "/skus/0/status", "/skus/0/type"]), enum_change()), 0..4),
        source in proptest::option::of(unknown_enum()),
        optional in prop::collection::vec((pick(&["/description", "/external_url", "/external_id", "/max_price", "/seller", "/vendor", "/variants", "/albums", "/tags", "/metadata", "/collections", "/commission_rate", "/variants/0/name", "/variants/0/id", "/variants/0/values/0/name", "/skus/0/name", "/skus/0/id", "/skus/0/sale_price", "/skus/0/variant_values/0/value", "/albums/0/id", "/metadata/0/key", "/collections/0/id"]), absent()), 0..5),
        counts in prop::collection::vec((pick(&["/skus/0/quantity_available", "/variants/0/display_order", "/skus/0/display_order", "/metadata/0/version", "/albums/0/media/0/display_order"]), count()), 0..3),
    ) {
        let mut sites = enums;
        if let Some(source) = source {
            sites.push(("/source", Mutation::UnknownEnum(source)));
        }
        sites.extend(optional);
        sites.extend(counts);
        let json = at_sites(&pools().violet[base], &sites);
        let answer = violet::map::read_offer(&upstream(), &json.to_string()).1;
        prop_assert!(answer.is_ok(), "{answer:?} from {json}");
    }
}
