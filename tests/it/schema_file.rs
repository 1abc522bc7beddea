//! `schema.graphql` is generated from the code, and every type, field,
//! argument and enum value of the schema is documented.

use offer_gateway::sdl;
use serde_json::Value;

#[test]
fn schema_file_matches_the_code() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql"))
        .expect("schema.graphql is committed at the repository root");
    let generated = sdl();
    assert!(
        committed == generated,
        "schema.graphql is stale: regenerate it with `cargo run -- print-schema > schema.graphql`"
    );
}

const INTROSPECTION: &str = r#"{
  __schema {
    types {
      name kind description
      fields { name description args { name description } }
      inputFields { name description }
      enumValues { name description }
    }
  }
}"#;

#[tokio::test]
async fn every_type_field_argument_and_enum_value_is_described() {
    let schema = introspectable_schema().await;
    let response = schema.execute(INTROSPECTION).await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    let data = response.data.into_json().expect("introspection is JSON");
    let mut missing = Vec::new();
    let described = |v: &Value| {
        v["description"]
            .as_str()
            .is_some_and(|d| !d.trim().is_empty())
    };
    for ty in data["__schema"]["types"].as_array().expect("types") {
        let name = ty["name"].as_str().expect("type name");
        // The spec's own types and scalars are documented by the spec.
        if name.starts_with("__") || ["String", "Int", "Float", "Boolean", "ID"].contains(&name) {
            continue;
        }
        if !described(ty) {
            missing.push(name.to_owned());
        }
        for field in ty["fields"].as_array().into_iter().flatten() {
            if !described(field) {
                missing.push(format!("{name}.{}", field["name"]));
            }
            for arg in field["args"].as_array().into_iter().flatten() {
                if !described(arg) {
                    missing.push(format!("{name}.{}({})", field["name"], arg["name"]));
                }
            }
        }
        for list in ["inputFields", "enumValues"] {
            for item in ty[list].as_array().into_iter().flatten() {
                if !described(item) {
                    missing.push(format!("{name}.{}", item["name"]));
                }
            }
        }
    }
    assert!(missing.is_empty(), "undocumented: {missing:#?}");
}

#[tokio::test]
async fn offer_is_implemented_by_exactly_the_three_offer_types_and_node_also_by_product() {
    let schema = introspectable_schema().await;
    let response = schema
        .execute(
            r#"{
              offer: __type(name: "Offer") { kind possibleTypes { name } }
              node: __type(name: "Node") { kind possibleTypes { name } }
              online: __type(name: "OnlineOffer") { interfaces { name } }
              inStore: __type(name: "InStoreOffer") { interfaces { name } }
              marketplace: __type(name: "MarketplaceOffer") { interfaces { name } }
            }"#,
        )
        .await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    let data = response.data.into_json().expect("JSON");
    let names = |v: &Value| {
        let mut names: Vec<String> = v
            .as_array()
            .expect("a list")
            .iter()
            .map(|t| t["name"].as_str().expect("name").to_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(data["offer"]["kind"], "INTERFACE");
    assert_eq!(
        names(&data["offer"]["possibleTypes"]),
        ["InStoreOffer", "MarketplaceOffer", "OnlineOffer"]
    );
    // Products are nodes too.
    assert_eq!(
        names(&data["node"]["possibleTypes"]),
        ["InStoreOffer", "MarketplaceOffer", "OnlineOffer", "Product"]
    );
    for ty in ["online", "inStore", "marketplace"] {
        assert_eq!(names(&data[ty]["interfaces"]), ["Node", "Offer"], "{ty}");
    }
}

/// The schema with no upstreams, introspection on (off by default).
async fn introspectable_schema() -> offer_gateway::GatewaySchema {
    let mut options = offer_gateway::GatewayOptions::default();
    options.limits.introspection = true;
    offer_gateway::Gateway::build(Vec::new(), options)
        .await
        .expect("the gateway builds")
        .schema()
        .clone()
}

/// Every pair of types that can meet in one selection set (the
/// implementations of an interface, the members of a union, and, below
/// them, the types of their same-named fields) gives each field name it
/// shares the same response shape: the same list and non-null wrappers,
/// and the same scalar or enum where the field is a leaf. Otherwise a
/// query asking both under one key breaks the specification's "fields can
/// merge" rule, which graphql-js, Code Generator and Apollo's mobile
/// codegen enforce (async-graphql does not).
#[test]
fn types_that_meet_in_one_selection_give_shared_fields_one_shape() {
    use async_graphql::parser::types::{BaseType, Type, TypeKind, TypeSystemDefinition};
    use std::collections::{BTreeSet, HashMap};

    let document = async_graphql::parser::parse_schema(sdl()).expect("the schema parses");
    let mut fields: HashMap<String, HashMap<String, Type>> = HashMap::new();
    let mut groups: Vec<Vec<String>> = Vec::new();
    let mut implementations: HashMap<String, Vec<String>> = HashMap::new();
    let mut leaves = BTreeSet::new();
    for definition in document.definitions {
        let TypeSystemDefinition::Type(ty) = definition else {
            continue;
        };
        let name = ty.node.name.node.to_string();
        let own = |defs: &[async_graphql::Positioned<
            async_graphql::parser::types::FieldDefinition,
        >]| {
            defs.iter()
                .map(|f| (f.node.name.node.to_string(), f.node.ty.node.clone()))
                .collect::<HashMap<_, _>>()
        };
        match ty.node.kind {
            TypeKind::Object(object) => {
                for interface in &object.implements {
                    implementations
                        .entry(interface.node.to_string())
                        .or_default()
                        .push(name.clone());
                }
                fields.insert(name, own(&object.fields));
            }
            TypeKind::Interface(interface) => {
                fields.insert(name, own(&interface.fields));
            }
            TypeKind::Union(union) => {
                groups.push(union.members.iter().map(|m| m.node.to_string()).collect());
            }
            TypeKind::Scalar | TypeKind::Enum(_) => {
                leaves.insert(name);
            }
            TypeKind::InputObject(_) => {}
        }
    }
    leaves.extend(["String", "Int", "Float", "Boolean", "ID"].map(str::to_owned));
    groups.extend(implementations.into_values());

    /// The wrappers of a type, and its named type.
    fn shape(ty: &Type) -> (String, String) {
        match &ty.base {
            BaseType::Named(name) => (
                if ty.nullable { "" } else { "!" }.to_owned(),
                name.to_string(),
            ),
            BaseType::List(inner) => {
                let (wrappers, name) = shape(inner);
                (
                    format!("[{wrappers}]{}", if ty.nullable { "" } else { "!" }),
                    name,
                )
            }
        }
    }

    let mut pairs: Vec<(String, String)> = Vec::new();
    for group in &groups {
        for (i, a) in group.iter().enumerate() {
            for b in &group[i + 1..] {
                pairs.push((a.clone(), b.clone()));
            }
        }
    }
    let mut seen = BTreeSet::new();
    let mut conflicts = BTreeSet::new();
    while let Some((a, b)) = pairs.pop() {
        if a == b || !seen.insert((a.clone(), b.clone())) {
            continue;
        }
        let (Some(fa), Some(fb)) = (fields.get(&a), fields.get(&b)) else {
            continue;
        };
        for (field, ta) in fa {
            let Some(tb) = fb.get(field) else {
                continue;
            };
            let ((wa, na), (wb, nb)) = (shape(ta), shape(tb));
            let (leaf_a, leaf_b) = (leaves.contains(&na), leaves.contains(&nb));
            if wa != wb || leaf_a != leaf_b || (leaf_a && na != nb) {
                conflicts.insert(format!("{a}.{field}: {ta} vs {b}.{field}: {tb}"));
            } else if !leaf_a {
                pairs.push((na, nb));
            }
        }
    }
    assert!(
        conflicts.is_empty(),
        "fields that cannot merge:\n{}",
        conflicts.into_iter().collect::<Vec<_>>().join("\n")
    );
}

/// The README's Apollo `possibleTypes` lists every implementation of each
/// interface and every member of each union, as the schema has them.
#[test]
fn the_readmes_possible_types_match_the_schema() {
    use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};
    use std::collections::{BTreeMap, BTreeSet};

    let mut schema: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let document = async_graphql::parser::parse_schema(sdl()).expect("the schema parses");
    for definition in document.definitions {
        let TypeSystemDefinition::Type(ty) = definition else {
            continue;
        };
        let name = ty.node.name.node.to_string();
        match ty.node.kind {
            TypeKind::Object(object) => {
                for interface in object.implements {
                    schema
                        .entry(interface.node.to_string())
                        .or_default()
                        .insert(name.clone());
                }
            }
            TypeKind::Union(union) => {
                schema
                    .entry(name)
                    .or_default()
                    .extend(union.members.iter().map(|m| m.node.to_string()));
            }
            _ => {}
        }
    }
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("the README");
    let block = readme
        .split("possibleTypes: {")
        .nth(1)
        .and_then(|rest| rest.split("},").next())
        .expect("the README's possibleTypes block");
    let documented: BTreeMap<String, BTreeSet<String>> = block
        .lines()
        .filter_map(|line| line.trim().split_once(':'))
        .map(|(name, list)| {
            let types = list
                .split('"')
                .skip(1)
                .step_by(2)
                .map(str::to_owned)
                .collect();
            (name.trim().to_owned(), types)
        })
        .collect();
    assert_eq!(documented, schema);
}

/// The schema file does not redefine the specification's built-in
/// directives: tools (graphql-js, graphql-inspector) take it as written.
#[test]
fn the_schema_file_defines_no_built_in_directive() {
    let schema = sdl();
    for built_in in ["@include", "@skip", "@deprecated", "@specifiedBy"] {
        assert!(
            !schema.contains(&format!("directive {built_in}(")),
            "schema.graphql redefines {built_in}"
        );
    }
    async_graphql::parser::parse_schema(&schema).expect("the schema file parses");
}
