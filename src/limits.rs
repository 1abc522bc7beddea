//! Limits against abusive queries, checked before a query runs.
//!
//! Depth, aliases and root fields are measured here on the parsed document
//! (following fragment spreads, cycles included), so that a refused query
//! is told which limit it broke and the limit's value. Complexity is
//! enforced by async-graphql (each field costs 1), with the same kind of
//! message. The number of ids in one `offers`/`nodes`/`compareOffers` call
//! is checked by those resolvers.

use std::collections::HashSet;
use std::time::Duration;

use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection, SelectionSet};
use async_graphql::parser::Positioned;

/// Default deepest selection nesting.
pub const DEFAULT_MAX_DEPTH: usize = 15;
/// Default complexity (fields resolved, counting list items once).
pub const DEFAULT_MAX_COMPLEXITY: usize = 5000;
/// Default number of aliased fields in a document.
pub const DEFAULT_MAX_ALIASES: usize = 30;
/// Default number of root fields in an operation.
pub const DEFAULT_MAX_ROOT_FIELDS: usize = 20;
/// Default number of ids in one `offers`, `nodes` or `compareOffers` call.
pub const DEFAULT_MAX_IDS: usize = 100;
/// Default largest request body.
pub const DEFAULT_MAX_BODY_BYTES: usize = 256 * 1024;
/// Default time a whole HTTP request may take.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The limits of the GraphQL endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Deepest selection nesting.
    pub max_depth: usize,
    /// Highest query complexity.
    pub max_complexity: usize,
    /// Most aliased fields in a document.
    pub max_aliases: usize,
    /// Most root fields in an operation.
    pub max_root_fields: usize,
    /// Most ids in one `offers`, `nodes` or `compareOffers` call.
    pub max_ids: usize,
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// Longest time a whole HTTP request may take.
    pub request_timeout: Duration,
    /// Whether introspection queries are answered.
    pub introspection: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: DEFAULT_MAX_DEPTH,
            max_complexity: DEFAULT_MAX_COMPLEXITY,
            max_aliases: DEFAULT_MAX_ALIASES,
            max_root_fields: DEFAULT_MAX_ROOT_FIELDS,
            max_ids: DEFAULT_MAX_IDS,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            introspection: true,
        }
    }
}

/// A limit a query broke.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the query exceeds the {name} limit of {limit} (it has {found})")]
pub struct LimitExceeded {
    /// The limit's name, as in the configuration (`max_depth`, ...).
    pub name: &'static str,
    /// The limit.
    pub limit: usize,
    /// What the query has.
    pub found: usize,
}

impl Limits {
    /// Checks the document's depth, aliases and root fields.
    pub fn check(&self, document: &ExecutableDocument) -> Result<(), LimitExceeded> {
        let mut aliases = 0;
        for (_, operation) in document.operations.iter() {
            let roots = count_fields(&operation.node.selection_set, document, &mut HashSet::new());
            if roots > self.max_root_fields {
                return Err(LimitExceeded {
                    name: "max_root_fields",
                    limit: self.max_root_fields,
                    found: roots,
                });
            }
            let depth = depth(&operation.node.selection_set, document, &mut Vec::new());
            if depth > self.max_depth {
                return Err(LimitExceeded {
                    name: "max_depth",
                    limit: self.max_depth,
                    found: depth,
                });
            }
            aliases += count_aliases(&operation.node.selection_set, document, &mut HashSet::new());
        }
        if aliases > self.max_aliases {
            return Err(LimitExceeded {
                name: "max_aliases",
                limit: self.max_aliases,
                found: aliases,
            });
        }
        Ok(())
    }
}

/// Whether the operation `name` (or the only one) of `document` is a mutation.
pub fn is_mutation(document: &ExecutableDocument, name: Option<&str>) -> bool {
    document
        .operations
        .iter()
        .filter(|(op_name, _)| name.is_none() || op_name.map(|n| n.as_str()) == name)
        .any(|(_, op)| op.node.ty == OperationType::Mutation)
}

/// Fields selected at this level, through fragments.
fn count_fields<'a>(
    set: &'a Positioned<SelectionSet>,
    document: &'a ExecutableDocument,
    seen: &mut HashSet<&'a str>,
) -> usize {
    set.node
        .items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(_) => 1,
            Selection::InlineFragment(fragment) => {
                count_fields(&fragment.node.selection_set, document, seen)
            }
            Selection::FragmentSpread(spread) => {
                let name = spread.node.fragment_name.node.as_str();
                match document.fragments.get(name) {
                    Some(fragment) if seen.insert(name) => {
                        let n = count_fields(&fragment.node.selection_set, document, seen);
                        seen.remove(name);
                        n
                    }
                    _ => 0,
                }
            }
        })
        .sum()
}

/// Aliased fields anywhere below, through fragments (a fragment counts
/// each time it is spread).
fn count_aliases<'a>(
    set: &'a Positioned<SelectionSet>,
    document: &'a ExecutableDocument,
    stack: &mut HashSet<&'a str>,
) -> usize {
    set.node
        .items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(field) => {
                usize::from(field.node.alias.is_some())
                    + count_aliases(&field.node.selection_set, document, stack)
            }
            Selection::InlineFragment(fragment) => {
                count_aliases(&fragment.node.selection_set, document, stack)
            }
            Selection::FragmentSpread(spread) => {
                let name = spread.node.fragment_name.node.as_str();
                match document.fragments.get(name) {
                    Some(fragment) if stack.insert(name) => {
                        let n = count_aliases(&fragment.node.selection_set, document, stack);
                        stack.remove(name);
                        n
                    }
                    _ => 0,
                }
            }
        })
        .sum()
}

/// The deepest field nesting below `set` (a field with no selection is 1).
fn depth<'a>(
    set: &'a Positioned<SelectionSet>,
    document: &'a ExecutableDocument,
    stack: &mut Vec<&'a str>,
) -> usize {
    set.node
        .items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(field) => 1 + depth(&field.node.selection_set, document, stack),
            Selection::InlineFragment(fragment) => {
                depth(&fragment.node.selection_set, document, stack)
            }
            Selection::FragmentSpread(spread) => {
                let name = spread.node.fragment_name.node.as_str();
                match document.fragments.get(name) {
                    Some(fragment) if !stack.contains(&name) => {
                        stack.push(name);
                        let d = depth(&fragment.node.selection_set, document, stack);
                        stack.pop();
                        d
                    }
                    // A cycle: validation refuses it; count it as very deep.
                    Some(_) => usize::MAX / 2,
                    None => 0,
                }
            }
        })
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use async_graphql::parser::parse_query;

    use super::*;

    fn check(query: &str, limits: &Limits) -> Result<(), LimitExceeded> {
        limits.check(&parse_query(query).expect("parses"))
    }

    #[test]
    fn depth_counts_fields_through_fragments() {
        let limits = Limits {
            max_depth: 3,
            ..Limits::default()
        };
        assert_eq!(check("{ a { b { c } } }", &limits), Ok(()));
        assert_eq!(
            check("{ a { b { c { d } } } }", &limits),
            Err(LimitExceeded {
                name: "max_depth",
                limit: 3,
                found: 4
            })
        );
        assert_eq!(
            check(
                "{ a { ...F } } fragment F on T { b { ... on U { c { d } } } }",
                &limits
            )
            .map_err(|e| e.found),
            Err(4)
        );
        // A fragment cycle does not loop forever.
        assert!(check("{ a { ...F } } fragment F on T { b { ...F } }", &limits).is_err());
    }

    #[test]
    fn aliases_and_root_fields_are_counted() {
        let limits = Limits {
            max_aliases: 2,
            max_root_fields: 3,
            ..Limits::default()
        };
        assert_eq!(
            check("{ a: x b: x { c: y } }", &limits).map_err(|e| e.found),
            Err(3)
        );
        assert_eq!(
            check("{ a b c d }", &limits),
            Err(LimitExceeded {
                name: "max_root_fields",
                limit: 3,
                found: 4
            })
        );
        assert_eq!(
            check("{ a b ...F } fragment F on Query { c }", &limits),
            Ok(())
        );
        assert_eq!(
            check("{ a: x ...F ...F } fragment F on Query { b: x }", &limits).map_err(|e| e.name),
            Err("max_aliases")
        );
    }

    #[test]
    fn mutations_are_recognized() {
        let document = parse_query("query A { a } mutation B { b }").unwrap();
        assert!(!is_mutation(&document, Some("A")));
        assert!(is_mutation(&document, Some("B")));
        assert!(is_mutation(&parse_query("mutation { b }").unwrap(), None));
    }

    #[test]
    fn the_message_names_the_limit_and_its_value() {
        let err = LimitExceeded {
            name: "max_depth",
            limit: 15,
            found: 16,
        };
        assert_eq!(
            err.to_string(),
            "the query exceeds the max_depth limit of 15 (it has 16)"
        );
    }
}
