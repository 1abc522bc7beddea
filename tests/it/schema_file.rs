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
