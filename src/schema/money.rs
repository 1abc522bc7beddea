//! The GraphQL view of [`Money`].

use async_graphql::Object;

use crate::pricing::Money;

/// An exact amount of money with its currency. Amounts are decimal strings,
/// never floating point.
#[Object]
impl Money {
    /// The amount in major units as an exact decimal string, with at least
    /// the currency's number of decimals (`"5.99"`, `"1200"`, `"1.250"`).
    #[graphql(name = "amount")]
    async fn gql_amount(&self) -> String {
        self.amount_string()
    }

    /// ISO 4217 alphabetic currency code, upper case.
    #[graphql(name = "currency")]
    async fn gql_currency(&self) -> &'static str {
        Money::currency(self).code()
    }

    /// The amount in the currency's minor unit (cents, yen, fils) as an exact
    /// decimal string: whole unless the upstream priced finer than the minor
    /// unit. Null for currencies without a minor unit.
    #[graphql(name = "minorUnits")]
    async fn gql_minor_units(&self) -> Option<String> {
        Money::minor_units(self).map(|d| d.to_string())
    }
}
