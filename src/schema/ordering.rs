//! Response maps in the order of the query.
//!
//! The specification orders every object of a response by `CollectFields`:
//! the fields as the query lists them, fragments expanded where they
//! stand (§7.2.2, "Serialized Map Ordering"). async-graphql resolves the
//! fields of an object concurrently and writes each as it completes
//! (async-graphql issue 612), so a slow field lands after a fast one.
//!
//! The gateway puts the order back after execution. Within an object of
//! an interface or union type, which fields apply depends on the object's
//! type, so before execution every field of such a type also selects
//! `__typename` under a reserved alias ([`MARKER`]); after execution each
//! object is rebuilt in `CollectFields` order for its type and the marker
//! is dropped. Keys the walk does not know (introspection's own types)
//! keep the order they came in.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::sync::OnceLock;

use async_graphql::parser::types::{
    BaseType, DocumentOperations, ExecutableDocument, Field, FragmentDefinition,
    OperationDefinition, Selection, SelectionSet, Type, TypeKind,
};
use async_graphql::parser::{parse_schema, Pos, Positioned};
use async_graphql::{Name, Value};
use indexmap::IndexMap;

/// The hasher of the walk's maps: it runs over every object of every
/// answer, with short string keys, where SipHash was a tenth of a warm
/// page's CPU. No key comes from a client alone (field names are the
/// schema's, response keys a validated document's), so no flooding.
type Fast = foldhash::fast::RandomState;

/// The alias under which an abstract-typed field also selects `__typename`.
const MARKER: &str = "_offerGatewayRuntimeType";

/// What the reordering needs of the schema: each type's kind, its fields'
/// named types, and the object types an abstract type stands for.
pub(crate) struct TypeIndex {
    /// Field name to named return type, by object or interface type.
    fields: HashMap<String, HashMap<String, String, Fast>, Fast>,
    /// The object types of each interface and union.
    possible: HashMap<String, HashSet<String, Fast>, Fast>,
}

impl TypeIndex {
    /// The index of the schema whose SDL is `sdl`; `None` when it does not
    /// parse (the order is then left as executed).
    pub(crate) fn from_sdl(sdl: &str) -> Option<TypeIndex> {
        let document = parse_schema(sdl).ok()?;
        let mut fields = HashMap::default();
        let mut possible: HashMap<String, HashSet<String, Fast>, Fast> = HashMap::default();
        for definition in document.definitions {
            let async_graphql::parser::types::TypeSystemDefinition::Type(ty) = definition else {
                continue;
            };
            let ty = ty.node;
            let name = ty.name.node.to_string();
            let field_types =
                |defs: &[Positioned<async_graphql::parser::types::FieldDefinition>]| {
                    defs.iter()
                        .map(|f| (f.node.name.node.to_string(), named(&f.node.ty.node)))
                        .collect::<HashMap<_, _, Fast>>()
                };
            match ty.kind {
                TypeKind::Object(object) => {
                    for interface in &object.implements {
                        possible
                            .entry(interface.node.to_string())
                            .or_default()
                            .insert(name.clone());
                    }
                    fields.insert(name, field_types(&object.fields));
                }
                TypeKind::Interface(interface) => {
                    possible.entry(name.clone()).or_default();
                    fields.insert(name, field_types(&interface.fields));
                }
                TypeKind::Union(union) => {
                    possible
                        .entry(name)
                        .or_default()
                        .extend(union.members.iter().map(|member| member.node.to_string()));
                }
                _ => {}
            }
        }
        Some(TypeIndex { fields, possible })
    }

    fn is_abstract(&self, ty: &str) -> bool {
        self.possible.contains_key(ty)
    }

    /// The named type of field `field` of `ty`, when known.
    fn field_type(&self, ty: &str, field: &str) -> Option<&str> {
        self.fields.get(ty)?.get(field).map(String::as_str)
    }

    /// Whether a fragment on `condition` applies to an object of type `object`.
    fn applies(&self, condition: &str, object: &str) -> bool {
        condition == object
            || self
                .possible
                .get(condition)
                .is_some_and(|types| types.contains(object))
    }
}

/// The named type under list and non-null wrappers.
fn named(ty: &Type) -> String {
    match &ty.base {
        BaseType::Named(name) => name.to_string(),
        BaseType::List(inner) => named(inner),
    }
}

/// The index of this process's schema, built once from its SDL.
pub(crate) fn index(sdl: impl FnOnce() -> String) -> Option<&'static TypeIndex> {
    static INDEX: OnceLock<Option<TypeIndex>> = OnceLock::new();
    INDEX.get_or_init(|| TypeIndex::from_sdl(&sdl())).as_ref()
}

/// A document ready to run: as the client sent it (it orders the answer)
/// and, when it has fields of an interface or union type, with their
/// markers (what is executed).
#[derive(Debug)]
pub(crate) struct Prepared {
    /// The document as the client sent it.
    pub(crate) original: ExecutableDocument,
    /// The document with its markers; `None` when it needs none.
    marked: Option<ExecutableDocument>,
}

impl Prepared {
    /// The document to execute.
    pub(crate) fn to_execute(&self) -> &ExecutableDocument {
        self.marked.as_ref().unwrap_or(&self.original)
    }
}

/// Prepares `document` for execution over a schema indexed by `types`
/// (without an index, the answer keeps the order it is executed in).
pub(crate) fn prepare(document: ExecutableDocument, types: Option<&TypeIndex>) -> Prepared {
    let marked = types.and_then(|types| {
        let mut marked = document.clone();
        (mark_abstract_fields(&mut marked, types) > 0).then_some(marked)
    });
    Prepared {
        original: document,
        marked,
    }
}

/// Adds the `__typename` marker to the selection of every field of an
/// interface or union type in `document` (its operations and fragments).
/// Returns how many markers it added.
pub(crate) fn mark_abstract_fields(document: &mut ExecutableDocument, types: &TypeIndex) -> usize {
    let mut added = 0;
    let operations: Vec<&mut Positioned<OperationDefinition>> = match &mut document.operations {
        DocumentOperations::Single(operation) => vec![operation],
        DocumentOperations::Multiple(operations) => operations.values_mut().collect(),
    };
    for operation in operations {
        let root = root_type(&operation.node);
        added += mark(&mut operation.node.selection_set.node, root, types);
    }
    for fragment in document.fragments.values_mut() {
        let on = fragment.node.type_condition.node.on.node.to_string();
        added += mark(&mut fragment.node.selection_set.node, &on, types);
    }
    added
}

fn root_type(operation: &OperationDefinition) -> &'static str {
    match operation.ty {
        async_graphql::parser::types::OperationType::Query => "Query",
        async_graphql::parser::types::OperationType::Mutation => "Mutation",
        async_graphql::parser::types::OperationType::Subscription => "Subscription",
    }
}

fn mark(set: &mut SelectionSet, parent: &str, types: &TypeIndex) -> usize {
    let mut added = 0;
    for item in &mut set.items {
        match &mut item.node {
            Selection::Field(field) => {
                let Some(ty) = types
                    .field_type(parent, &field.node.name.node)
                    .map(str::to_owned)
                else {
                    continue;
                };
                let selection = &mut field.node.selection_set.node;
                added += mark(selection, &ty, types);
                if types.is_abstract(&ty) {
                    selection.items.insert(0, marker());
                    added += 1;
                }
            }
            Selection::InlineFragment(fragment) => {
                let on = fragment
                    .node
                    .type_condition
                    .as_ref()
                    .map_or_else(|| parent.to_owned(), |c| c.node.on.node.to_string());
                added += mark(&mut fragment.node.selection_set.node, &on, types);
            }
            Selection::FragmentSpread(_) => {}
        }
    }
    added
}

fn marker() -> Positioned<Selection> {
    let at = Pos::default();
    Positioned::new(
        Selection::Field(Positioned::new(
            Field {
                alias: Some(Positioned::new(Name::new(MARKER), at)),
                name: Positioned::new(Name::new("__typename"), at),
                arguments: Vec::new(),
                directives: Vec::new(),
                selection_set: Positioned::new(SelectionSet::default(), at),
            },
            at,
        )),
        at,
    )
}

/// Rebuilds every object of `data` in the order of the operation named
/// `operation` of `document` (the document as the client sent it), and
/// drops the markers.
pub(crate) fn restore(
    data: &mut Value,
    document: &ExecutableDocument,
    operation: Option<&str>,
    types: &TypeIndex,
) {
    let chosen = document
        .operations
        .iter()
        .find(|(name, _)| match operation {
            Some(wanted) => name.is_some_and(|n| n.as_str() == wanted),
            None => true,
        })
        .map(|(_, op)| op);
    let Some(op) = chosen else {
        return;
    };
    let walk = Walk {
        fragments: &document.fragments,
        types,
        memo: RefCell::new(HashMap::default()),
    };
    walk.value(data, &[&op.node.selection_set.node], root_type(&op.node));
}

/// What `CollectFields` gives for one object: its response keys in query
/// order, each with its field's named type (when the schema has the
/// field) and selection sets.
type Collected<'a> = IndexMap<&'a str, (Option<&'a str>, Vec<&'a SelectionSet>), Fast>;

/// `CollectFields` results of one runtime type, by the selection sets
/// (their addresses) they were collected from.
type Memo<'a> = Vec<(Vec<usize>, Rc<Collected<'a>>)>;

struct Walk<'a> {
    fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>,
    types: &'a TypeIndex,
    /// `CollectFields` by runtime type and selection sets: the objects of
    /// a list share one computation, found without allocating.
    memo: RefCell<HashMap<String, Memo<'a>, Fast>>,
}

impl<'a> Walk<'a> {
    fn value(&self, value: &mut Value, sets: &[&'a SelectionSet], ty: &str) {
        match value {
            Value::List(items) => {
                for item in items {
                    self.value(item, sets, ty);
                }
            }
            Value::Object(map) => self.object(map, sets, ty),
            _ => {}
        }
    }

    /// `CollectFields` of `sets` for `runtime`, computed once per walk.
    fn collected(&self, sets: &[&'a SelectionSet], runtime: &str) -> Rc<Collected<'a>> {
        let address = |set: &&'a SelectionSet| std::ptr::from_ref(*set) as usize;
        if let Some(memo) = self.memo.borrow().get(runtime) {
            let found = memo
                .iter()
                .find(|(addresses, _)| addresses.iter().copied().eq(sets.iter().map(address)));
            if let Some((_, collected)) = found {
                return collected.clone();
            }
        }
        let mut collected = Collected::default();
        let mut visited = HashSet::new();
        for set in sets {
            self.collect(set, runtime, &mut collected, &mut visited);
        }
        let collected = Rc::new(collected);
        self.memo
            .borrow_mut()
            .entry(runtime.to_owned())
            .or_default()
            .push((sets.iter().map(address).collect(), collected.clone()));
        collected
    }

    fn object(&self, map: &mut IndexMap<Name, Value>, sets: &[&'a SelectionSet], ty: &str) {
        // Only an object of an abstract type has a marker.
        let marked = if self.types.is_abstract(ty) {
            map.shift_remove(MARKER)
        } else {
            None
        };
        let runtime = match &marked {
            Some(Value::String(name)) => name.as_str(),
            _ => ty,
        };
        let collected = self.collected(sets, runtime);
        // Most objects already are in order (their fields resolved in
        // turn): then only their values are walked, nothing is rebuilt.
        let mut last = None;
        let in_order = map
            .keys()
            .all(|key| match collected.get_index_of(key.as_str()) {
                Some(at) if last.is_none_or(|before| at > before) => {
                    last = Some(at);
                    true
                }
                _ => false,
            });
        if in_order {
            for (key, value) in map.iter_mut() {
                if let Some((Some(child), subsets)) = collected.get(key.as_str()) {
                    self.value(value, subsets, child);
                }
            }
            return;
        }
        let mut old = std::mem::take(map);
        for (key, (child, subsets)) in collected.iter() {
            if let Some(mut value) = old.shift_remove(*key) {
                if let Some(child) = child {
                    self.value(&mut value, subsets, child);
                }
                map.insert(Name::new(*key), value);
            }
        }
        // Whatever the walk did not place keeps its place after.
        map.extend(old);
    }

    /// `CollectFields`: response keys in query order, with the selection
    /// sets of each key's fields, for an object of type `runtime`.
    fn collect(
        &self,
        set: &'a SelectionSet,
        runtime: &str,
        collected: &mut Collected<'a>,
        visited: &mut HashSet<&'a str>,
    ) {
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    let key = field.alias.as_ref().unwrap_or(&field.name).node.as_str();
                    let types = self.types;
                    collected
                        .entry(key)
                        .or_insert_with(|| {
                            (types.field_type(runtime, &field.name.node), Vec::new())
                        })
                        .1
                        .push(&field.selection_set.node);
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    if !visited.insert(name) {
                        continue;
                    }
                    if let Some(fragment) = self.fragments.get(name) {
                        let on = fragment.node.type_condition.node.on.node.as_str();
                        if self.types.applies(on, runtime) {
                            self.collect(
                                &fragment.node.selection_set.node,
                                runtime,
                                collected,
                                visited,
                            );
                        }
                    }
                }
                Selection::InlineFragment(fragment) => {
                    let applies = fragment
                        .node
                        .type_condition
                        .as_ref()
                        .is_none_or(|c| self.types.applies(c.node.on.node.as_str(), runtime));
                    if applies {
                        self.collect(
                            &fragment.node.selection_set.node,
                            runtime,
                            collected,
                            visited,
                        );
                    }
                }
            }
        }
    }
}
