//! The `fields` query parameter of the Medusa simulator: which fields and
//! relations an answer shows ([`Selection`]), and offers reduced to them in
//! the API's field order.

use std::collections::{BTreeMap, BTreeSet};

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::upstream::medusa::wire;
/// Top-level offer fields, in the order the API answers them.
pub(super) const OFFER_FIELDS: &[&str] = &[
    "id",
    "seller_id",
    "variant_id",
    "product_id",
    "shipping_profile_id",
    "sku",
    "ean",
    "upc",
    "created_by",
    "variant_count",
    "metadata",
    "seller",
    "product_variant",
    "shipping_profile",
    "prices",
    "inventory_items",
    "created_at",
    "updated_at",
];

/// The fields of each relation.
fn relation_fields(relation: &str) -> Option<&'static [&'static str]> {
    Some(match relation {
        "seller" => &["id", "name", "handle"],
        "product_variant" => &["id", "title", "sku"],
        "shipping_profile" => &["id", "name"],
        "prices" => &[
            "id",
            "amount",
            "currency_code",
            "min_quantity",
            "max_quantity",
            "price_rules",
            "rules_count",
        ],
        "inventory_items" => &["id", "inventory_item_id", "required_quantity", "sku"],
        _ => return None,
    })
}

/// What is selected of one top-level field.
#[derive(Clone, Debug, PartialEq)]
enum Pick {
    /// The whole field (or relation).
    All,
    /// Some fields of a relation (its `id` is always kept).
    Some(BTreeSet<&'static str>),
}

/// A field named in `fields`.
enum FieldRef {
    Whole(&'static str),
    Sub(&'static str, &'static str),
}

/// The fields an answer shows, from the `fields` query parameter.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Selection(BTreeMap<&'static str, Pick>);

impl Selection {
    pub(super) fn parse(fields: Option<String>) -> Result<Self, String> {
        let mut replace = Vec::new();
        let mut add = Vec::new();
        let mut remove = Vec::new();
        let mut invalid = Vec::new();
        for item in fields.as_deref().unwrap_or("").split(',') {
            if item.trim().is_empty() {
                continue;
            }
            // An unencoded `+` arrives as a space.
            let (target, name) = if let Some(rest) = item.strip_prefix(['+', ' ']) {
                (&mut add, rest.trim())
            } else if let Some(rest) = item.strip_prefix('-') {
                (&mut remove, rest.trim())
            } else if let Some(rest) = item.strip_prefix('*') {
                let rest = rest.trim();
                match relation_fields(rest).and_then(|_| static_name(rest)) {
                    Some(relation) => {
                        add.push(FieldRef::Whole(relation));
                        continue;
                    }
                    None => {
                        invalid.push(item.trim().to_owned());
                        continue;
                    }
                }
            } else {
                (&mut replace, item.trim())
            };
            match resolve(name) {
                Some(field) => target.push(field),
                None => invalid.push(item.trim().to_owned()),
            }
        }
        for field in &remove {
            if let FieldRef::Sub(relation, sub) = field {
                invalid.push(format!("-{relation}.{sub}"));
            }
        }
        if !invalid.is_empty() {
            return Err(format!(
                "Requested fields [{}] are not valid",
                invalid.join(", ")
            ));
        }
        let mut selection = BTreeMap::new();
        if replace.is_empty() {
            for field in OFFER_FIELDS {
                selection.insert(*field, Pick::All);
            }
        }
        for field in replace.into_iter().chain(add) {
            match field {
                FieldRef::Whole(name) => {
                    selection.insert(name, Pick::All);
                }
                FieldRef::Sub(relation, sub) => match selection
                    .entry(relation)
                    .or_insert_with(|| Pick::Some(BTreeSet::new()))
                {
                    Pick::All => {}
                    Pick::Some(subs) => {
                        subs.insert(sub);
                    }
                },
            }
        }
        for field in remove {
            if let FieldRef::Whole(name) = field {
                selection.remove(name);
            }
        }
        selection.insert("id", Pick::All);
        Ok(Selection(selection))
    }

    /// The offer with only the selected fields, in the API's field order.
    pub(super) fn project(&self, offer: &wire::Offer) -> Result<Projected, serde_json::Error> {
        let mut fields = Vec::new();
        for name in OFFER_FIELDS {
            let Some(pick) = self.0.get(name) else {
                continue;
            };
            let raw = match pick {
                Pick::All => field_raw(offer, name)?,
                Pick::Some(subs) => {
                    let value = serde_json::from_str::<Value>(field_raw(offer, name)?.get())?;
                    serde_json::value::to_raw_value(&keep_keys(value, subs))?
                }
            };
            fields.push((*name, raw));
        }
        Ok(Projected(fields))
    }
}

/// The `&'static` spelling of a top-level field name.
fn static_name(name: &str) -> Option<&'static str> {
    OFFER_FIELDS.iter().copied().find(|f| *f == name)
}

/// Resolves `name`, `rel.*` or `rel.field`.
fn resolve(name: &str) -> Option<FieldRef> {
    match name.split_once('.') {
        None => static_name(name).map(FieldRef::Whole),
        Some((relation, "*")) => {
            relation_fields(relation)?;
            static_name(relation).map(FieldRef::Whole)
        }
        Some((relation, sub)) => {
            let sub = relation_fields(relation)?
                .iter()
                .copied()
                .find(|f| *f == sub)?;
            static_name(relation).map(|relation| FieldRef::Sub(relation, sub))
        }
    }
}

/// Keeps `id` and `keys` of an object, or of every object of an array.
fn keep_keys(value: Value, keys: &BTreeSet<&'static str>) -> Value {
    match value {
        Value::Object(object) => Value::Object(
            object
                .into_iter()
                .filter(|(k, _)| k == "id" || keys.contains(k.as_str()))
                .collect(),
        ),
        Value::Array(items) => {
            Value::Array(items.into_iter().map(|v| keep_keys(v, keys)).collect())
        }
        other => other,
    }
}

/// One top-level field of an offer as JSON, in its wire type's own key order.
fn field_raw(offer: &wire::Offer, name: &str) -> Result<Box<RawValue>, serde_json::Error> {
    use serde_json::value::to_raw_value as raw;
    match name {
        "id" => raw(&offer.id),
        "seller_id" => raw(&offer.seller_id),
        "variant_id" => raw(&offer.variant_id),
        "product_id" => raw(&offer.product_id),
        "shipping_profile_id" => raw(&offer.shipping_profile_id),
        "sku" => raw(&offer.sku),
        "ean" => raw(&offer.ean),
        "upc" => raw(&offer.upc),
        "created_by" => raw(&offer.created_by),
        "variant_count" => raw(&offer.variant_count),
        "metadata" => raw(&offer.metadata),
        "seller" => raw(&offer.seller),
        "product_variant" => raw(&offer.product_variant),
        "shipping_profile" => raw(&offer.shipping_profile),
        "prices" => raw(&offer.prices),
        "inventory_items" => raw(&offer.inventory_items),
        "created_at" => raw(&offer.created_at),
        "updated_at" => raw(&offer.updated_at),
        _ => raw(&Value::Null),
    }
}

/// An offer reduced to its selected fields, serialized in field order.
pub(super) struct Projected(Vec<(&'static str, Box<RawValue>)>);

impl Serialize for Projected {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}
