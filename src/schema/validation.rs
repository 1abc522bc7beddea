//! Validation once per document, and the variable values of every request.
//!
//! A GraphQL request is checked in two parts (the specification's
//! "Validation" and "Coercing Variable Values"): the document against the
//! schema, which is the same for every request that sends it, and the
//! request's variable values against the operation's variable definitions.
//! async-graphql does both on every execution, in one pass over the
//! document. Here the first part runs once, when a document is first seen
//! ([`ValidateOnly`] over the strict schema, with no variable values), and
//! the second on every request ([`coerce_variables`]); the execution that
//! follows skips the rules a validated document has passed (the trusted
//! schema validates in async-graphql's `Fast` mode, which still measures
//! complexity and depth with the request's variables).

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextExecute};
use async_graphql::parser::types::{OperationDefinition, VariableDefinition};
use async_graphql::registry::{MetaType, MetaTypeName, Registry};
use async_graphql::{
    Name, OutputType, Positioned, Response, ServerError, Value as ConstValue, Variables,
};

/// Marks a request that is to be validated and not executed (see
/// [`ValidateOnly`]).
pub(crate) struct ValidationRun;

/// The extension that stops a [`ValidationRun`] request after validation:
/// its answer has no data and only the validation errors, if any.
pub(crate) struct ValidateOnly;

impl ExtensionFactory for ValidateOnly {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ValidateOnly)
    }
}

#[async_trait::async_trait]
impl Extension for ValidateOnly {
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        if ctx.data_opt::<ValidationRun>().is_some() {
            return Response::new(ConstValue::Null);
        }
        next.run(ctx, operation_name).await
    }
}

/// The schema's input types (scalars, enums, input objects), to check
/// variable values against.
pub(crate) struct InputTypes {
    registry: Registry,
}

impl InputTypes {
    /// The input types reachable from the query root `Q`.
    pub(crate) fn of<Q: OutputType>() -> Self {
        let mut registry = Registry::default();
        Q::create_type_info(&mut registry);
        InputTypes { registry }
    }
}

/// Longest rendering of a rejected value in an error message.
const MAX_SHOWN_VALUE: usize = 80;

/// Checks `variables` against the variable definitions of `operation`,
/// as the specification's CoerceVariableValues does: a variable of a
/// non-null type without a default must be given and not be null, and
/// every value given must be of its variable's type (lists may be given
/// as one item). Values of variables the operation does not define are
/// ignored. One error per bad variable, located at its definition.
pub(crate) fn coerce_variables(
    types: &InputTypes,
    operation: &OperationDefinition,
    variables: &Variables,
) -> Result<(), Vec<ServerError>> {
    let errors: Vec<ServerError> = operation
        .variable_definitions
        .iter()
        .filter_map(|definition| check_variable(types, definition, variables))
        .collect();
    match errors.is_empty() {
        true => Ok(()),
        false => Err(errors),
    }
}

fn check_variable(
    types: &InputTypes,
    definition: &Positioned<VariableDefinition>,
    variables: &Variables,
) -> Option<ServerError> {
    let name = &definition.node.name.node;
    let ty = definition.node.var_type.node.to_string();
    let message = match variables.get(name) {
        None if definition.node.default_value.is_none()
            && !definition.node.var_type.node.nullable =>
        {
            format!("Variable \"${name}\" of required type \"{ty}\" was not provided.")
        }
        None => return None,
        Some(ConstValue::Null) if !definition.node.var_type.node.nullable => {
            format!("Variable \"${name}\" of non-null type \"{ty}\" must not be null.")
        }
        Some(value) => {
            let mut path = name.to_string();
            let problem = invalid(&types.registry, &ty, value, &mut path)?;
            format!(
                "Variable \"${name}\" got invalid value {}{}; {problem}",
                shown(value),
                if path == name.as_str() {
                    String::new()
                } else {
                    format!(" at \"{path}\"")
                },
            )
        }
    };
    Some(ServerError::new(message, Some(definition.pos)))
}

/// What is wrong with `value` as a value of the type written `ty`, if
/// anything; `path` is extended to the part of the value that is wrong.
fn invalid(registry: &Registry, ty: &str, value: &ConstValue, path: &mut String) -> Option<String> {
    match MetaTypeName::create(ty) {
        MetaTypeName::NonNull(inner) => match value {
            ConstValue::Null => Some(format!(
                "Expected non-nullable type \"{ty}\" not to be null."
            )),
            _ => invalid(registry, inner, value, path),
        },
        MetaTypeName::List(item) => match value {
            ConstValue::Null => None,
            ConstValue::List(items) => {
                let len = path.len();
                for (index, value) in items.iter().enumerate() {
                    path.push_str(&format!("[{index}]"));
                    if let Some(problem) = invalid(registry, item, value, path) {
                        return Some(problem);
                    }
                    path.truncate(len);
                }
                None
            }
            // Input coercion makes a list of one item of a single value.
            _ => invalid(registry, item, value, path),
        },
        MetaTypeName::Named(name) => match value {
            ConstValue::Null => None,
            _ => invalid_named(registry, name, value, path),
        },
    }
}

fn invalid_named(
    registry: &Registry,
    name: &str,
    value: &ConstValue,
    path: &mut String,
) -> Option<String> {
    let expected = || Some(format!("Expected type \"{name}\"."));
    if let Some(valid) = built_in_scalar(name, value) {
        return if valid { None } else { expected() };
    }
    match registry.types.get(name) {
        // Not an input type of this schema: validation refused the
        // document before any request got here.
        None => expected(),
        Some(MetaType::Scalar { is_valid, .. }) => match is_valid {
            Some(is_valid) if !is_valid(value) => expected(),
            _ => None,
        },
        Some(MetaType::Enum { enum_values, .. }) => match value {
            ConstValue::String(v) if enum_values.contains_key(v.as_str()) => None,
            ConstValue::Enum(v) if enum_values.contains_key(v.as_str()) => None,
            ConstValue::String(v) => {
                Some(format!("Value \"{v}\" does not exist in \"{name}\" enum."))
            }
            _ => expected(),
        },
        Some(MetaType::InputObject {
            input_fields,
            oneof,
            ..
        }) => {
            let ConstValue::Object(fields) = value else {
                return expected();
            };
            if let Some(unknown) = fields
                .keys()
                .find(|key| !input_fields.contains_key(key.as_str()))
            {
                return Some(format!(
                    "Field \"{unknown}\" is not defined by type \"{name}\"."
                ));
            }
            if *oneof {
                let given: Vec<&Name> = fields.keys().collect();
                let single =
                    given.len() == 1 && !matches!(fields.get(given[0]), Some(ConstValue::Null));
                if !single {
                    return Some(format!(
                        "Exactly one field of the OneOf input type \"{name}\" must be given, and not null."
                    ));
                }
            }
            let len = path.len();
            for field in input_fields.values() {
                match fields.get(field.name.as_str()) {
                    Some(value) => {
                        path.push('.');
                        path.push_str(&field.name);
                        if let Some(problem) = invalid(registry, &field.ty, value, path) {
                            return Some(problem);
                        }
                        path.truncate(len);
                    }
                    None if field.default_value.is_none()
                        && MetaTypeName::create(&field.ty).is_non_null() =>
                    {
                        return Some(format!(
                            "Field \"{}\" of required type \"{}\" was not provided.",
                            field.name, field.ty
                        ));
                    }
                    None => {}
                }
            }
            None
        }
        // Output types cannot be a variable's type: validation refused it.
        Some(_) => expected(),
    }
}

/// Whether `value` is a value of the specification's scalar `name`, or
/// `None` when `name` is not one of them.
fn built_in_scalar(name: &str, value: &ConstValue) -> Option<bool> {
    let int = |value: &ConstValue| matches!(value, ConstValue::Number(n) if n.as_i64().is_some_and(|n| i32::try_from(n).is_ok()));
    Some(match name {
        "String" => matches!(value, ConstValue::String(_)),
        "Boolean" => matches!(value, ConstValue::Boolean(_)),
        "Float" => matches!(value, ConstValue::Number(_)),
        "Int" => int(value),
        "ID" => {
            matches!(value, ConstValue::String(_))
                || matches!(value, ConstValue::Number(n) if n.is_i64())
        }
        _ => return None,
    })
}

/// `value` as JSON for an error message, cut to [`MAX_SHOWN_VALUE`].
fn shown(value: &ConstValue) -> String {
    let text = serde_json::to_string(value).unwrap_or_else(|_| value.to_string());
    if text.len() <= MAX_SHOWN_VALUE {
        return text;
    }
    let mut end = MAX_SHOWN_VALUE;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::parse_query;
    use async_graphql::parser::types::DocumentOperations;
    use serde_json::json;

    fn operation(text: &str) -> OperationDefinition {
        match parse_query(text).unwrap().operations {
            DocumentOperations::Single(op) => op.node,
            DocumentOperations::Multiple(_) => panic!("one operation"),
        }
    }

    fn check(text: &str, variables: serde_json::Value) -> Result<(), Vec<String>> {
        let types = InputTypes::of::<crate::schema::query::QueryRoot>();
        coerce_variables(&types, &operation(text), &Variables::from_json(variables))
            .map_err(|errors| errors.into_iter().map(|e| e.message).collect())
    }

    #[test]
    fn good_values_pass() {
        assert_eq!(
            check(
                "query($id: ID!) { offer(id: $id) { id } }",
                json!({ "id": "x" })
            ),
            Ok(())
        );
        assert_eq!(
            check(
                "query($id: ID!) { offer(id: $id) { id } }",
                json!({ "id": 7 })
            ),
            Ok(())
        );
        assert_eq!(
            check(
                "query($ids: [ID!]!) { offers(ids: $ids) { id } }",
                json!({ "ids": ["a", 2] })
            ),
            Ok(())
        );
        // One item for a list.
        assert_eq!(
            check(
                "query($ids: [ID!]!) { offers(ids: $ids) { id } }",
                json!({ "ids": "a" })
            ),
            Ok(())
        );
        assert_eq!(
            check(
                "query($n: Int) { upstreams { name } }",
                json!({ "n": null })
            ),
            Ok(())
        );
        assert_eq!(
            check("query($n: Int = 3) { upstreams { name } }", json!({})),
            Ok(())
        );
        // Values of variables the operation does not define are ignored.
        assert_eq!(
            check("{ upstreams { name } }", json!({ "other": [1] })),
            Ok(())
        );
    }

    #[test]
    fn a_missing_or_null_required_variable_is_named() {
        assert_eq!(
            check("query($id: ID!) { offer(id: $id) { id } }", json!({})),
            Err(vec![
                "Variable \"$id\" of required type \"ID!\" was not provided.".to_owned()
            ])
        );
        assert_eq!(
            check(
                "query($id: ID!) { offer(id: $id) { id } }",
                json!({ "id": null })
            ),
            Err(vec![
                "Variable \"$id\" of non-null type \"ID!\" must not be null.".to_owned()
            ])
        );
    }

    #[test]
    fn a_value_of_the_wrong_type_says_where() {
        assert_eq!(
            check("query($ids: [ID!]!) { offers(ids: $ids) { id } }", json!({ "ids": ["a", true] })),
            Err(vec!["Variable \"$ids\" got invalid value [\"a\",true] at \"ids[1]\"; Expected type \"ID\".".to_owned()])
        );
        assert_eq!(
            check("query($ids: [ID!]!) { offers(ids: $ids) { id } }", json!({ "ids": ["a", null] })),
            Err(vec!["Variable \"$ids\" got invalid value [\"a\",null] at \"ids[1]\"; Expected non-nullable type \"ID!\" not to be null.".to_owned()])
        );
        // Int is 32 bits.
        assert_eq!(
            check(
                "query($n: Int) { upstreams { name } }",
                json!({ "n": 2147483648_i64 })
            ),
            Err(vec![
                "Variable \"$n\" got invalid value 2147483648; Expected type \"Int\".".to_owned()
            ])
        );
        // Every bad variable, each once.
        let errors = check(
            "query($a: Int, $b: String!) { upstreams { name } }",
            json!({ "a": "x" }),
        )
        .unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
    }

    #[test]
    fn enums_and_input_objects_are_checked_field_by_field() {
        let order = "query($o: OfferOrder) { upstreams { name } }";
        assert_eq!(check(order, json!({ "o": "PRICE" })), Ok(()));
        assert_eq!(
            check(order, json!({ "o": "CHEAPEST" })),
            Err(vec!["Variable \"$o\" got invalid value \"CHEAPEST\"; Value \"CHEAPEST\" does not exist in \"OfferOrder\" enum.".to_owned()])
        );
        let filter = "query($f: MarketplaceOfferFilter) { upstreams { name } }";
        assert_eq!(check(filter, json!({ "f": { "sku": "A-1" } })), Ok(()));
        assert_eq!(
            check(filter, json!({ "f": { "sku": 5 } })),
            Err(vec!["Variable \"$f\" got invalid value {\"sku\":5} at \"f.sku\"; Expected type \"String\".".to_owned()])
        );
        assert_eq!(
            check(filter, json!({ "f": { "colour": "red" } })),
            Err(vec!["Variable \"$f\" got invalid value {\"colour\":\"red\"}; Field \"colour\" is not defined by type \"MarketplaceOfferFilter\".".to_owned()])
        );
        assert_eq!(
            check(filter, json!({ "f": [1] })),
            Err(vec![
                "Variable \"$f\" got invalid value [1]; Expected type \"MarketplaceOfferFilter\"."
                    .to_owned()
            ])
        );
    }

    #[test]
    fn a_long_value_is_cut_in_the_message() {
        let long = "x".repeat(500);
        let errors = check(
            "query($n: Int) { upstreams { name } }",
            json!({ "n": long }),
        )
        .unwrap_err();
        assert!(errors[0].len() < 200, "{}", errors[0]);
        assert!(
            errors[0].contains("...; Expected type \"Int\"."),
            "{}",
            errors[0]
        );
    }
}
