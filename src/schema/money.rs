//! The GraphQL view of [`Money`]: exact amounts, formatting for a locale,
//! and conversion into another currency.

use std::sync::Arc;

use async_graphql::{Context, Object, Result};

use crate::error::GatewayError;
use crate::pricing::convert::Provenance;
use crate::pricing::format::{self, Locale};
use crate::pricing::{Currency, Money};
use crate::rates::{ExchangeRates, RatesError};
use crate::schema::query::Nullable;

/// Reads a currency argument; a bad code is `BAD_USER_INPUT` naming it.
pub(crate) fn currency_argument(argument: &str, code: &str) -> Result<Currency, GatewayError> {
    let trimmed = code.trim();
    if trimmed.len() != 3 || !trimmed.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(GatewayError::bad_input(
            argument,
            format!("{code:?} is not an ISO 4217 code such as \"EUR\""),
        ));
    }
    Currency::parse(trimmed).map_err(|_| {
        GatewayError::bad_input(argument, format!("{code:?} is not an ISO 4217 currency"))
    })
}

/// Converts `money` into `to` with the current rates.
pub(crate) async fn convert(
    ctx: &Context<'_>,
    money: &Money,
    to: Currency,
) -> Result<Money, GatewayError> {
    if money.currency() == to {
        return Ok(money.clone());
    }
    let rates = ctx.data_unchecked::<Arc<ExchangeRates>>();
    let table = rates.table().await.map_err(|err| match err {
        RatesError::Upstream { upstream, cause } => GatewayError::upstream(&upstream, &cause),
        RatesError::NotConfigured => GatewayError::conversion(err),
    })?;
    table.convert(money, to).map_err(GatewayError::conversion)
}

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

    /// The amount as people read it in `locale`: `$5.99`, `¥1,200`, `5,99 €`,
    /// rounded half to even to the currency's minor unit.
    async fn formatted(
        &self,
        #[graphql(
            desc = "A BCP 47 locale: en-US, en-GB, en-CA, en-AU, de-DE, de-AT, fr-FR, es-ES, it-IT, nl-NL or ja-JP (or just the language).",
            default = "en-US"
        )]
        locale: String,
    ) -> Result<String> {
        let locale = Locale::parse(&locale).ok_or_else(|| {
            GatewayError::bad_input(
                "locale",
                format!(
                    "{locale:?} is not supported; use one of {}",
                    format::supported_locales().join(", ")
                ),
            )
        })?;
        Ok(format::format(self, locale))
    }

    /// The amount converted into `currency` through the gateway's exchange
    /// rates, rounded half to even to its minor unit; `conversion` tells
    /// which rate was used. Null with `CONVERSION_UNAVAILABLE` when no rate
    /// is known for the pair.
    #[graphql(name = "in")]
    async fn gql_in(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "ISO 4217 code of the target currency, e.g. \"EUR\".")] currency: String,
    ) -> Nullable<Money> {
        let outcome = async {
            let to = currency_argument("currency", &currency)?;
            convert(ctx, self, to).await
        };
        Some(outcome.await.map_err(Into::into))
    }

    /// How this amount was converted from another currency; null when it
    /// was not converted.
    async fn conversion(&self) -> Option<Conversion> {
        self.converted().cloned().map(Conversion)
    }
}

/// How an amount was converted: from what, at which rate, as of when.
pub(crate) struct Conversion(Provenance);

/// How an amount was converted: from what, at which rate, as of when.
#[Object]
impl Conversion {
    /// The amount before conversion.
    async fn from(&self) -> &Money {
        &self.0.from
    }

    /// Units of the target currency per unit of the source currency, as an
    /// exact decimal string (the cross rate through the base currency).
    async fn rate(&self) -> String {
        self.0.rate.to_string()
    }

    /// The base currency the rates are quoted against.
    async fn base(&self) -> &'static str {
        self.0.base.code()
    }

    /// When the rates are as of.
    async fn as_of(&self) -> &str {
        &self.0.as_of
    }

    /// Where the rates came from.
    async fn source(&self) -> &str {
        &self.0.source
    }
}
