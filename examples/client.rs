//! A small Rust client of the gateway: sends the product-page query of
//! `examples/product_page.graphql` and prints each offer's price.
//!
//! ```text
//! cargo run --example client                                  # starts the demo in-process
//! cargo run --example client -- http://127.0.0.1:4000/graphql # a running gateway
//! ```

use serde::Deserialize;
use serde_json::json;

const QUERY: &str = include_str!("product_page.graphql");

#[derive(Deserialize)]
struct Response {
    data: Option<Data>,
    #[serde(default)]
    errors: Vec<GraphQLError>,
}

#[derive(Deserialize)]
struct GraphQLError {
    message: String,
}

#[derive(Deserialize)]
struct Data {
    offers: Vec<Option<Offer>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Offer {
    #[serde(rename = "__typename")]
    typename: String,
    upstream: String,
    buyable: bool,
    price: Option<Money>,
}

#[derive(Deserialize)]
struct Money {
    amount: String,
    currency: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Without a URL, run the simulators and a gateway in this process.
    let (_demo, url) = match std::env::args().nth(1) {
        Some(url) => (None, url),
        None => {
            let sims = offer_gateway::sim::Simulators::start_demo().await?;
            let gateway = offer_gateway::Gateway::build(
                sims.instance_specs(),
                offer_gateway::GatewayOptions::default(),
            )
            .await?;
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let url = format!("http://{}/graphql", listener.local_addr()?);
            tokio::spawn(offer_gateway::serve(
                listener,
                gateway.router(),
                std::future::pending(),
            ));
            (Some(sims), url)
        }
    };

    let response: Response = reqwest::Client::new()
        .post(&url)
        .json(&json!({ "query": QUERY }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    for error in &response.errors {
        eprintln!("error: {}", error.message);
    }
    for offer in response
        .data
        .map(|d| d.offers)
        .unwrap_or_default()
        .into_iter()
        .flatten()
    {
        let price = offer
            .price
            .map(|p| format!("{} {}", p.amount, p.currency))
            .unwrap_or_else(|| "call for price".to_owned());
        println!(
            "{:<16} {:<9} {:>14}  {}",
            offer.typename,
            offer.upstream,
            price,
            if offer.buyable {
                "buyable"
            } else {
                "not buyable"
            }
        );
    }
    Ok(())
}
