//! Limits against abusive queries, checked before a query runs.
//!
//! Depth, aliases and root fields are measured here on the parsed document
//! (following fragment spreads, cycles included), so that a refused query
//! is told which limit it broke and the limit's value. Complexity is
//! enforced by async-graphql (each field costs 1), with the same kind of
//! message. The number of ids in one `offers`/`nodes`/`compareOffers` call
//! is checked by those resolvers.

use std::collections::HashMap;
use std::time::Duration;

use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection, SelectionSet};
use async_graphql::parser::Positioned;

/// Default deepest selection nesting.
pub(crate) const DEFAULT_MAX_DEPTH: usize = 15;
/// Default complexity (fields resolved, counting list items once).
pub(crate) const DEFAULT_MAX_COMPLEXITY: usize = 5000;
/// Default number of aliased fields in a document.
pub(crate) const DEFAULT_MAX_ALIASES: usize = 30;
/// Default number of root fields in an operation.
pub(crate) const DEFAULT_MAX_ROOT_FIELDS: usize = 20;
/// Default number of ids in one `offers`, `nodes` or `compareOffers` call.
pub(crate) const DEFAULT_MAX_IDS: usize = 100;
/// Default largest request body.
pub(crate) const DEFAULT_MAX_BODY_BYTES: usize = 256 * 1024;
/// Default number of operations in one batched POST (Apollo's
/// `BatchHttpLink` sends at most 10 by default).
pub(crate) const DEFAULT_MAX_BATCH_SIZE: usize = 10;
/// Default time a whole HTTP request may take.
pub(crate) const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The limits of the GraphQL endpoint: the `[limits]` table of the
/// configuration, every key optional.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
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
    /// Most operations in one batched POST (a JSON array of requests);
    /// `0` turns batching off. Each operation is held to every other
    /// limit on its own.
    pub max_batch_size: usize,
    /// Longest time a whole HTTP request may take.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// Whether introspection queries are answered (off unless turned on;
    /// the embedded demo turns it on).
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
            max_batch_size: DEFAULT_MAX_BATCH_SIZE,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            introspection: false,
        }
    }
}

impl Limits {
    /// Checks the values: every limit but `max_aliases` (0 forbids
    /// aliases) and `max_batch_size` (0 turns batching off) must be more
    /// than zero.
    pub fn validate(&self) -> Result<(), crate::error::InvalidSetting> {
        use crate::error::InvalidSetting;
        InvalidSetting::positive("limits.max_depth", self.max_depth)?;
        InvalidSetting::positive("limits.max_complexity", self.max_complexity)?;
        InvalidSetting::positive("limits.max_root_fields", self.max_root_fields)?;
        InvalidSetting::positive("limits.max_ids", self.max_ids)?;
        InvalidSetting::positive("limits.max_body_bytes", self.max_body_bytes)?;
        InvalidSetting::positive("limits.request_timeout", self.request_timeout)
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

/// Deepest nesting of brackets (`{`, `[`, `(`) in a document's text:
/// selection sets, list and object values, argument lists. Checked on the
/// text before it is parsed, so that no document can exhaust the stack of
/// the parser (which recurses once per level) or of the validation and
/// execution that follow. It is also the bound on a document's nesting
/// through fragment spreads. A fixed safety bound, not a setting.
pub(crate) const MAX_NESTING: usize = 64;

/// Why a document cannot run, found by [`Limits::check`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// A limit is exceeded.
    Limit(LimitExceeded),
    /// The document is invalid in a way found while measuring it (a
    /// fragment that spreads itself); async-graphql would recurse forever
    /// on it.
    Invalid(String),
}

impl From<LimitExceeded> for Refusal {
    fn from(exceeded: LimitExceeded) -> Self {
        Refusal::Limit(exceeded)
    }
}

impl Limits {
    /// Checks the document's text before it is parsed: its length against
    /// `max_body_bytes` and its bracket nesting against [`MAX_NESTING`].
    /// Linear in the text, and recursion-free.
    pub fn check_text(&self, query: &str) -> Result<(), LimitExceeded> {
        if query.len() > self.max_body_bytes {
            return Err(LimitExceeded {
                name: "max_body_bytes",
                limit: self.max_body_bytes,
                found: query.len(),
            });
        }
        let nesting = text_nesting(query.as_bytes(), MAX_NESTING);
        if nesting > MAX_NESTING {
            return Err(LimitExceeded {
                name: "max_nesting",
                limit: MAX_NESTING,
                found: nesting,
            });
        }
        Ok(())
    }

    /// Checks the parsed document: nesting through fragments, root
    /// fields, depth, aliases and the number of selections once every
    /// fragment spread is expanded, before async-graphql's validation
    /// (which expands spreads again) runs. Each fragment is measured once,
    /// so the work is linear in the document whatever its spreads expand
    /// to, and nothing here recurses more than [`MAX_NESTING`] levels.
    pub fn check(&self, document: &ExecutableDocument) -> Result<(), Refusal> {
        let costs = fragment_costs(document)?;
        let mut aliases: usize = 0;
        let mut selections: usize = 0;
        for (_, operation) in document.operations.iter() {
            let cost = Cost::of(&operation.node.selection_set, &costs);
            // The operation's selection set is one level of nesting itself.
            let nesting = cost.nesting.saturating_add(1);
            if nesting > MAX_NESTING {
                return Err(LimitExceeded {
                    name: "max_nesting",
                    limit: MAX_NESTING,
                    found: nesting,
                }
                .into());
            }
            if cost.root_fields > self.max_root_fields {
                return Err(LimitExceeded {
                    name: "max_root_fields",
                    limit: self.max_root_fields,
                    found: cost.root_fields,
                }
                .into());
            }
            if cost.depth > self.max_depth {
                return Err(LimitExceeded {
                    name: "max_depth",
                    limit: self.max_depth,
                    found: cost.depth,
                }
                .into());
            }
            aliases = aliases.saturating_add(cost.aliases);
            selections = selections.saturating_add(cost.selections);
        }
        if aliases > self.max_aliases {
            return Err(LimitExceeded {
                name: "max_aliases",
                limit: self.max_aliases,
                found: aliases,
            }
            .into());
        }
        // Every field costs at least 1 in async-graphql's complexity, so
        // operations that, expanded, hold more selections than the
        // complexity limit allows can be refused now, before validation
        // expands them. Validation also walks each fragment definition
        // with its spreads expanded: that walk is held to the same bound.
        let in_fragments = costs
            .values()
            .fold(0usize, |sum, cost| sum.saturating_add(cost.selections));
        for found in [selections, in_fragments] {
            if found > self.max_complexity {
                return Err(LimitExceeded {
                    name: "max_complexity",
                    limit: self.max_complexity,
                    found,
                }
                .into());
            }
        }
        Ok(())
    }
}

/// Whether the operation `name` (or the only one) of `document` is a mutation.
pub(crate) fn is_mutation(document: &ExecutableDocument, name: Option<&str>) -> bool {
    document
        .operations
        .iter()
        .filter(|(op_name, _)| name.is_none() || op_name.map(|n| n.as_str()) == name)
        .any(|(_, op)| op.node.ty == OperationType::Mutation)
}

/// The deepest bracket nesting of a GraphQL document's text, skipping
/// strings, block strings and comments; stops counting past `cap`.
fn text_nesting(text: &[u8], cap: usize) -> usize {
    let mut depth = 0usize;
    let mut deepest = 0usize;
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'#' => {
                while i < text.len() && text[i] != b'\n' && text[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if text[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < text.len() && !text[i..].starts_with(b"\"\"\"") {
                    // `\"""` is an escaped triple quote inside a block string.
                    i += if text[i..].starts_with(b"\\\"\"\"") {
                        4
                    } else {
                        1
                    };
                }
                i += 2;
            }
            b'"' => {
                i += 1;
                while i < text.len() && text[i] != b'"' && text[i] != b'\n' {
                    i += if text[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'[' | b'(' => {
                depth += 1;
                deepest = deepest.max(depth);
                if deepest > cap {
                    return deepest;
                }
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    deepest
}

/// What a selection set costs, with every fragment spread expanded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Cost {
    /// Fields at this level, through fragments.
    root_fields: usize,
    /// Deepest field nesting (a field with no selection is 1).
    depth: usize,
    /// Deepest nesting of selection sets and fragment spreads below.
    nesting: usize,
    /// Aliased fields (a fragment counts each time it is spread).
    aliases: usize,
    /// Fields, inline fragments and spreads, each spread expanded.
    selections: usize,
}

impl Cost {
    /// The cost of `set`, with the costs of the fragments it spreads taken
    /// from `fragments` (all computed before). Recurses only along the
    /// set's own nesting, which the text check bounds.
    fn of(set: &Positioned<SelectionSet>, fragments: &HashMap<&str, Cost>) -> Cost {
        let mut total = Cost::default();
        for item in &set.node.items {
            let (inner, field, aliased) = match &item.node {
                Selection::Field(field) => (
                    Cost::of(&field.node.selection_set, fragments),
                    true,
                    field.node.alias.is_some(),
                ),
                Selection::InlineFragment(fragment) => (
                    Cost::of(&fragment.node.selection_set, fragments),
                    false,
                    false,
                ),
                Selection::FragmentSpread(spread) => (
                    fragments
                        .get(spread.node.fragment_name.node.as_str())
                        .copied()
                        .unwrap_or_default(),
                    false,
                    false,
                ),
            };
            let nested_set = !matches!(&item.node, Selection::Field(f) if f.node.selection_set.node.items.is_empty());
            total.root_fields =
                total
                    .root_fields
                    .saturating_add(if field { 1 } else { inner.root_fields });
            total.depth = total.depth.max(inner.depth + usize::from(field));
            total.nesting = total
                .nesting
                .max(inner.nesting.saturating_add(usize::from(nested_set)));
            total.aliases = total
                .aliases
                .saturating_add(inner.aliases)
                .saturating_add(usize::from(aliased));
            total.selections = total
                .selections
                .saturating_add(inner.selections.saturating_add(1));
        }
        total
    }
}

/// The cost of every fragment, each computed once, dependencies first.
/// A fragment that spreads itself, directly or not, is refused. Fragments
/// are ordered by an explicit-stack depth-first walk, so a long chain of
/// fragments cannot exhaust the stack either.
fn fragment_costs(document: &ExecutableDocument) -> Result<HashMap<&str, Cost>, Refusal> {
    /// The fragments `set` spreads, at any depth inside it.
    fn spreads<'a>(set: &'a SelectionSet, out: &mut Vec<&'a str>) {
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => spreads(&field.node.selection_set.node, out),
                Selection::InlineFragment(f) => spreads(&f.node.selection_set.node, out),
                Selection::FragmentSpread(s) => out.push(s.node.fragment_name.node.as_str()),
            }
        }
    }
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Mark {
        Visiting,
        Done,
    }
    let mut marks: HashMap<&str, Mark> = HashMap::new();
    let mut costs: HashMap<&str, Cost> = HashMap::new();
    for (name, _) in document.fragments.iter() {
        if marks.contains_key(name.as_str()) {
            continue;
        }
        // (fragment, the fragments it spreads, how many of them are done).
        let mut stack: Vec<(&str, Vec<&str>, usize)> = Vec::new();
        let push = |name: &str, stack: &mut Vec<(_, _, usize)>, marks: &mut HashMap<_, _>| {
            let mut children = Vec::new();
            if let Some((key, fragment)) = document.fragments.get_key_value(name) {
                spreads(&fragment.node.selection_set.node, &mut children);
                marks.insert(key.as_str(), Mark::Visiting);
                stack.push((key.as_str(), children, 0));
            }
        };
        push(name.as_str(), &mut stack, &mut marks);
        while let Some((current, children, next)) = stack.last_mut() {
            if let Some(&child) = children.get(*next) {
                *next += 1;
                match marks.get(child) {
                    Some(Mark::Done) => {}
                    Some(Mark::Visiting) => {
                        return Err(Refusal::Invalid(format!(
                            "fragment `{child}` spreads itself (through `{current}`): fragment cycles are not allowed"
                        )))
                    }
                    None => push(child, &mut stack, &mut marks),
                }
            } else {
                let current = *current;
                if let Some(fragment) = document.fragments.get(current) {
                    let cost = Cost::of(&fragment.node.selection_set, &costs);
                    costs.insert(current, cost);
                }
                marks.insert(current, Mark::Done);
                stack.pop();
            }
        }
    }
    Ok(costs)
}

#[cfg(test)]
mod tests {
    use async_graphql::parser::parse_query;

    use super::*;

    fn check(query: &str, limits: &Limits) -> Result<(), Refusal> {
        limits.check_text(query)?;
        limits.check(&parse_query(query).expect("parses"))
    }

    fn exceeded(name: &'static str, limit: usize, found: usize) -> Result<(), Refusal> {
        Err(Refusal::Limit(LimitExceeded { name, limit, found }))
    }

    /// `fragment F1 on Query { ...F0 ...F0 }` ... `Fn`, then `{ ...Fn }`:
    /// about 40 bytes a level, expanding to 2^n selections. `nested` puts
    /// the spread under a field, so that it is not all root fields.
    fn doubling_chain(levels: usize, nested: bool) -> String {
        let (open, close) = if nested { ("a { ", " }") } else { ("", "") };
        let mut query =
            format!("{{ {open}...F{levels}{close} }} fragment F0 on Query {{ __typename }}");
        for i in 1..=levels {
            query.push_str(&format!(
                " fragment F{i} on Query {{ ...F{} ...F{} }}",
                i - 1,
                i - 1
            ));
        }
        query
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
            exceeded("max_depth", 3, 4)
        );
        assert_eq!(
            check(
                "{ a { ...F } } fragment F on T { b { ... on U { c { d } } } }",
                &limits
            ),
            exceeded("max_depth", 3, 4)
        );
    }

    #[test]
    fn fragment_cycles_are_refused_without_looping() {
        for query in [
            "{ a { ...F } } fragment F on T { b { ...F } }",
            "{ ...A } fragment A on Query { ...B } fragment B on Query { x ...A }",
            "{ x } fragment A on Query { ...A }",
        ] {
            assert!(
                matches!(check(query, &Limits::default()), Err(Refusal::Invalid(ref why)) if why.contains("spreads itself")),
                "{query}"
            );
        }
    }

    #[test]
    fn aliases_and_root_fields_are_counted() {
        let limits = Limits {
            max_aliases: 2,
            max_root_fields: 3,
            ..Limits::default()
        };
        assert_eq!(
            check("{ a: x b: x { c: y } }", &limits),
            exceeded("max_aliases", 2, 3)
        );
        assert_eq!(
            check("{ a b c d }", &limits),
            exceeded("max_root_fields", 3, 4)
        );
        assert_eq!(
            check("{ a b ...F } fragment F on Query { c }", &limits),
            Ok(())
        );
        assert_eq!(
            check("{ a: x ...F ...F } fragment F on Query { b: x }", &limits),
            exceeded("max_aliases", 2, 3)
        );
    }

    #[test]
    fn exponential_fragment_spreads_are_refused_after_linear_work() {
        for levels in [26, 28, 40] {
            for (nested, limit) in [(false, "max_root_fields"), (true, "max_complexity")] {
                let query = doubling_chain(levels, nested);
                match check(&query, &Limits::default()) {
                    Err(Refusal::Limit(LimitExceeded { name, found, .. })) => {
                        assert_eq!(name, limit, "{levels} levels");
                        assert!(found > 1 << 25, "{levels} levels: {found}");
                    }
                    other => panic!("{levels} levels: {other:?}"),
                }
            }
        }
        // Below the limit, the same shape passes; above it, the exact
        // expanded size is reported: F0 holds 1 selection, each Fi two
        // spreads of F(i-1), the operation `a` and one spread.
        assert_eq!(check(&doubling_chain(8, true), &Limits::default()), Ok(()));
        let size = (1..=6).fold(1, |f, _| 2 + 2 * f);
        let limits = Limits {
            max_complexity: 100,
            ..Limits::default()
        };
        assert_eq!(
            check(&doubling_chain(6, true), &limits),
            exceeded("max_complexity", 100, 2 + size)
        );
    }

    #[test]
    fn a_long_fragment_chain_neither_overflows_nor_nests_past_the_bound() {
        // Each fragment spreads the previous once: no expansion, but a
        // chain as long as a body can hold.
        let levels = 20_000;
        let mut query = format!("{{ ...F{levels} }} fragment F0 on Query {{ x }}");
        for i in 1..=levels {
            query.push_str(&format!(" fragment F{i} on Query {{ ...F{} }}", i - 1));
        }
        let limits = Limits {
            max_body_bytes: usize::MAX,
            ..Limits::default()
        };
        // Run on a thread with a tokio worker's stack.
        let outcome = std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(move || check(&query, &limits))
            .expect("spawns")
            .join()
            .expect("does not overflow");
        assert!(
            matches!(
                outcome,
                Err(Refusal::Limit(LimitExceeded {
                    name: "max_nesting",
                    ..
                }))
            ),
            "{outcome:?}"
        );
    }

    #[test]
    fn the_text_nesting_is_measured_outside_strings_and_comments() {
        let limits = Limits::default();
        let deep = |n: usize| {
            format!(
                "{{ offers(ids: {}{}) {{ id }} }}",
                "[".repeat(n),
                "]".repeat(n)
            )
        };
        assert_eq!(limits.check_text(&deep(MAX_NESTING - 2)), Ok(()));
        assert_eq!(
            limits.check_text(&deep(3000)).map_err(|e| e.name),
            Err("max_nesting")
        );
        let braces = "{".repeat(1000);
        for text in [
            format!("{{ a(s: \"{braces}\") }}"),
            format!("{{ a(s: \"\"\"{braces} \\\"\"\" {braces}\"\"\") }}"),
            format!("{{ a # {braces}\n }}"),
            format!("{{ a(s: \"\\\"{braces}\") }}"),
        ] {
            assert_eq!(limits.check_text(&text), Ok(()), "{text}");
        }
        // An unterminated string or comment ends the scan, it does not loop.
        assert_eq!(limits.check_text("{ a(s: \"\\"), Ok(()));
        assert_eq!(limits.check_text("{ a(s: \"\"\"\\"), Ok(()));
    }

    #[test]
    fn the_deepest_accepted_text_parses_on_a_worker_stack() {
        // The parser recurses once per level: at the bound it must still
        // fit in a tokio worker's 2 MiB stack (in a debug build).
        let n = MAX_NESTING - 2;
        let queries = [
            format!(
                "{{ offers(ids: {}{}) {{ id }} }}",
                "[".repeat(n),
                "]".repeat(n)
            ),
            format!(
                "{{ offers(ids: {}{}) {{ id }} }}",
                "{a: ".repeat(n),
                "}".repeat(n)
            ),
            format!(
                "query Q($v: [ID] = {}{}) {{ x }}",
                "[".repeat(n),
                "]".repeat(n)
            ),
            format!("{{ x @skip(if: {}{}) }}", "[".repeat(n), "]".repeat(n)),
            format!("{}x{}", "{ a ".repeat(n), "}".repeat(n)),
        ];
        for query in queries {
            std::thread::Builder::new()
                .stack_size(2 * 1024 * 1024)
                .spawn(move || {
                    assert_eq!(Limits::default().check_text(&query), Ok(()));
                    let _ = parse_query(&query);
                })
                .expect("spawns")
                .join()
                .expect("parses without overflowing");
        }
    }

    #[test]
    fn the_text_length_is_bounded() {
        let limits = Limits {
            max_body_bytes: 10,
            ..Limits::default()
        };
        assert_eq!(
            limits.check_text("{ upstreams { name } }"),
            Err(LimitExceeded {
                name: "max_body_bytes",
                limit: 10,
                found: 22
            })
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
