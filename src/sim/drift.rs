//! Drift mode: simulators that send the unusual values the seed documents
//! allow, for a deterministic subset of the catalog.
//!
//! Each style's `SimData::with_drift` changes its stored wire values where
//! the wire types can say it (unknown enum strings, missing optional
//! fields, signed and odd amounts, huge counts) and records here what they
//! cannot: `null` sent for a field whose wire type reads `null` as its
//! documented default (the stored value is that default, so the stored data
//! stays what a client should read), and items made genuinely unreadable (a
//! price that is not a number). [`Drift::respond`] applies those edits to
//! the JSON of the items as they are served: the one place per style where
//! a simulator post-processes its answers.

use std::collections::{BTreeSet, HashMap};

use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::Value;

/// Options of the simulators.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SimOptions {
    /// Send the unusual values the seeds allow (see [`crate::sim::drift`]).
    pub drift: bool,
}

/// The JSON edits of drift mode, by item id.
#[derive(Clone, Debug, Default)]
pub struct Drift {
    /// Per item id: JSON pointers (into the item) and the value sent there.
    edits: HashMap<String, Vec<(&'static str, Value)>>,
    /// The ids of the items served unreadable.
    unreadable: BTreeSet<String>,
}

impl Drift {
    /// Sends `null` at `pointer` of item `id` (a field whose wire type reads
    /// `null` as its documented default).
    pub fn null(&mut self, id: &str, pointer: &'static str) {
        self.edit(id, pointer, Value::Null);
    }

    /// Serves item `id` with `value` at `pointer`, which makes it unreadable
    /// (e.g. a price that is not a number).
    pub fn unreadable(&mut self, id: &str, pointer: &'static str, value: Value) {
        self.edit(id, pointer, value);
        self.unreadable.insert(id.to_owned());
    }

    fn edit(&mut self, id: &str, pointer: &'static str, value: Value) {
        self.edits
            .entry(id.to_owned())
            .or_default()
            .push((pointer, value));
    }

    /// Whether item `id` is served unreadable.
    pub fn is_unreadable(&self, id: &str) -> bool {
        self.unreadable.contains(id)
    }

    /// The ids of the items served unreadable.
    pub fn unreadable_ids(&self) -> &BTreeSet<String> {
        &self.unreadable
    }

    /// Whether drift mode changes nothing when serving.
    pub fn is_empty(&self) -> bool {
        self.edits.is_empty()
    }

    /// Applies the edits recorded for this item (found by its `id`) to its
    /// JSON. A pointer whose parent is absent (a field left out by the
    /// request) is skipped.
    pub fn apply(&self, item: &mut Value) {
        let id = match item.get("id") {
            Some(Value::String(id)) => id.clone(),
            Some(Value::Number(id)) => id.to_string(),
            _ => return,
        };
        let Some(edits) = self.edits.get(&id) else {
            return;
        };
        for (pointer, value) in edits {
            let Some((parent, key)) = pointer.rsplit_once('/') else {
                continue;
            };
            match item.pointer_mut(parent) {
                Some(Value::Object(object)) => {
                    object.insert(key.to_owned(), value.clone());
                }
                Some(Value::Array(array)) => {
                    if let Some(slot) = key.parse::<usize>().ok().and_then(|i| array.get_mut(i)) {
                        *slot = value.clone();
                    }
                }
                _ => {}
            }
        }
    }

    /// The answer with `body` as JSON, the edits applied to the item(s) at
    /// `items` (a JSON pointer to one item or to an array of items; `""` is
    /// the body itself). Without edits, the body is served as is.
    pub fn respond<T: Serialize>(&self, body: &T, items: &str) -> Response {
        if self.is_empty() {
            return Json(body).into_response();
        }
        let mut value = match serde_json::to_value(body) {
            Ok(value) => value,
            Err(err) => {
                return (
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                    format!("simulator could not serialize its answer: {err}"),
                )
                    .into_response()
            }
        };
        match value.pointer_mut(items) {
            Some(Value::Array(array)) => array.iter_mut().for_each(|item| self.apply(item)),
            Some(item) => self.apply(item),
            None => {}
        }
        Json(value).into_response()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn edits_apply_to_their_item_only_and_skip_absent_parents() {
        let mut drift = Drift::default();
        drift.null("a", "/min_order_quantity");
        drift.unreadable("a", "/price/amount", json!("12,99"));
        drift.unreadable("7", "/prices/0/amount", json!("twenty"));
        let mut a = json!({"id": "a", "min_order_quantity": 3, "price": {"amount": "1.00"}});
        drift.apply(&mut a);
        assert_eq!(
            a,
            json!({"id": "a", "min_order_quantity": null, "price": {"amount": "12,99"}})
        );
        let mut seven = json!({"id": 7, "prices": []});
        drift.apply(&mut seven);
        assert_eq!(seven, json!({"id": 7, "prices": []}), "no price to break");
        let mut b = json!({"id": "b", "min_order_quantity": 3});
        drift.apply(&mut b);
        assert_eq!(b["min_order_quantity"], 3);
        assert!(drift.is_unreadable("a") && drift.is_unreadable("7") && !drift.is_unreadable("b"));
    }
}
