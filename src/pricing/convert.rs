//! Currency conversion through one base currency.
//!
//! A [`RateTable`] holds, for one base currency, how many units of each
//! currency one unit of the base buys, with the time the rates are as of
//! and where they came from. A conversion goes from the source currency to
//! the base and from the base to the target, and rounds half to even to
//! the target currency's minor unit. The rate reported is the effective
//! cross rate (target units per source unit).

use std::collections::HashMap;
use std::sync::Arc;

use rust_decimal::{Decimal, RoundingStrategy};

use super::{Currency, Money};

/// Exchange rates against one base currency.
#[derive(Clone, Debug, PartialEq)]
pub struct RateTable {
    base: Currency,
    rates: HashMap<Currency, Decimal>,
    as_of: String,
    source: String,
}

/// Why an amount could not be converted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConversionError {
    /// No rate is known for one of the two currencies.
    #[error("no exchange rate from {from} to {to}")]
    UnknownPair {
        /// Source currency.
        from: &'static str,
        /// Target currency.
        to: &'static str,
    },
    /// The result does not fit an exact decimal.
    #[error("converted amount out of range")]
    OutOfRange,
    /// No exchange rates are configured or loaded yet.
    #[error("no exchange rates are available")]
    NoRates,
}

/// How an amount was converted.
#[derive(Clone, Debug, PartialEq)]
pub struct Provenance {
    /// The amount before conversion.
    pub from: Money,
    /// Target units per source unit (the cross rate through the base).
    pub rate: Decimal,
    /// The base currency the rates are quoted against.
    pub base: Currency,
    /// When the rates are as of (RFC 3339 or a date).
    pub as_of: String,
    /// Where the rates came from.
    pub source: String,
}

impl RateTable {
    /// A table of `rates` (units of each currency per one `base`). The base
    /// itself is always 1; non-positive rates are refused.
    pub fn new(
        base: Currency,
        rates: impl IntoIterator<Item = (Currency, Decimal)>,
        as_of: impl Into<String>,
        source: impl Into<String>,
    ) -> Result<Self, String> {
        let mut table = HashMap::new();
        for (currency, rate) in rates {
            if rate <= Decimal::ZERO {
                return Err(format!(
                    "the rate of {currency} must be positive, not {rate}"
                ));
            }
            table.insert(currency, rate);
        }
        table.insert(base, Decimal::ONE);
        Ok(RateTable {
            base,
            rates: table,
            as_of: as_of.into(),
            source: source.into(),
        })
    }

    /// The base currency.
    pub fn base(&self) -> Currency {
        self.base
    }

    /// When the rates are as of.
    pub fn as_of(&self) -> &str {
        &self.as_of
    }

    /// Number of currencies with a rate.
    pub fn len(&self) -> usize {
        self.rates.len()
    }

    /// Whether the table has no rate but the base's.
    pub fn is_empty(&self) -> bool {
        self.rates.len() <= 1
    }

    /// Units of `currency` per one unit of the base.
    pub fn rate(&self, currency: Currency) -> Option<Decimal> {
        self.rates.get(&currency).copied()
    }

    /// Converts `money` into `to`: through the base, rounded half to even to
    /// `to`'s minor unit; the result tells how it was converted
    /// ([`Money::converted`]). Converting into the same currency returns the
    /// amount unchanged.
    pub fn convert(&self, money: &Money, to: Currency) -> Result<Money, ConversionError> {
        let from = money.currency();
        let unknown = || ConversionError::UnknownPair {
            from: from.code(),
            to: to.code(),
        };
        if from == to {
            return Ok(money.clone());
        }
        let (amount, rate) = {
            let from_rate = self.rate(from).ok_or_else(unknown)?;
            let to_rate = self.rate(to).ok_or_else(unknown)?;
            // Multiply first, divide once: the amount in the base is never
            // formed (nor rounded), so the only rounding is the last one.
            let amount = money
                .amount()
                .checked_mul(to_rate)
                .and_then(|scaled| scaled.checked_div(from_rate))
                .ok_or(ConversionError::OutOfRange)?;
            let rate = to_rate
                .checked_div(from_rate)
                .ok_or(ConversionError::OutOfRange)?;
            (amount, rate)
        };
        let mut converted = Money::new(round_to_minor_unit(amount, to), to);
        converted.converted = Some(Arc::new(Provenance {
            from: money.clone(),
            rate: rate.normalize(),
            base: self.base,
            as_of: self.as_of.clone(),
            source: self.source.clone(),
        }));
        Ok(converted)
    }
}

/// Rounds half to even to the currency's number of decimals (amounts of
/// currencies without a minor unit are left as they are).
pub(crate) fn round_to_minor_unit(amount: Decimal, currency: Currency) -> Decimal {
    match currency.exponent() {
        Some(exponent) => {
            amount.round_dp_with_strategy(exponent, RoundingStrategy::MidpointNearestEven)
        }
        None => amount,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str_exact(s).unwrap()
    }

    fn cur(code: &str) -> Currency {
        Currency::parse(code).unwrap()
    }

    fn table() -> RateTable {
        RateTable::new(
            cur("USD"),
            [
                (cur("EUR"), dec("0.92")),
                (cur("JPY"), dec("150")),
                (cur("KWD"), dec("0.307")),
                (cur("GBP"), dec("0.8")),
            ],
            "2026-11-01T00:00:00Z",
            "test",
        )
        .unwrap()
    }

    #[test]
    fn rounding_is_half_to_even_at_each_exponent() {
        for (amount, code, want) in [
            // exponent 0
            ("0.5", "JPY", "0"),
            ("1.5", "JPY", "2"),
            ("2.5", "JPY", "2"),
            ("2.5000001", "JPY", "3"),
            ("-2.5", "JPY", "-2"),
            // exponent 2
            ("1.005", "USD", "1.00"),
            ("1.015", "USD", "1.02"),
            ("1.025", "USD", "1.02"),
            ("1.0250001", "USD", "1.03"),
            ("20.555", "USD", "20.56"),
            // exponent 3
            ("1.0005", "KWD", "1.000"),
            ("1.0015", "KWD", "1.002"),
            ("1.2345", "KWD", "1.234"),
            ("1.2355", "KWD", "1.236"),
        ] {
            assert_eq!(
                round_to_minor_unit(dec(amount), cur(code)),
                dec(want),
                "{amount} {code}"
            );
        }
    }

    #[test]
    fn conversions_go_through_the_base_both_ways() {
        let t = table();
        let usd = |a| Money::new(dec(a), cur("USD"));
        // From the base.
        let c = t.convert(&usd("10"), cur("EUR")).unwrap();
        assert_eq!(c, Money::new(dec("9.20"), cur("EUR")));
        let how = c.converted().expect("provenance");
        assert_eq!((how.rate, &how.from), (dec("0.92"), &usd("10")));
        // To the base: 9.20 / 0.92 = 10.
        let c = t
            .convert(&Money::new(dec("9.20"), cur("EUR")), cur("USD"))
            .unwrap();
        assert_eq!(c.amount(), dec("10"));
        // Across: 100 EUR / 0.92 * 150 = 16304.347... -> 16304 JPY.
        let c = t
            .convert(&Money::new(dec("100"), cur("EUR")), cur("JPY"))
            .unwrap();
        assert_eq!(c, Money::new(dec("16304"), cur("JPY")));
        let how = c.converted().expect("provenance");
        assert_eq!(how.base, cur("USD"));
        assert_eq!(how.as_of, "2026-11-01T00:00:00Z");
        // 1200 JPY / 150 * 0.307 = 2.456 KWD.
        let c = t
            .convert(&Money::new(dec("1200"), cur("JPY")), cur("KWD"))
            .unwrap();
        assert_eq!(c, Money::new(dec("2.456"), cur("KWD")));
        // Same currency: unchanged, and not a conversion.
        let c = t.convert(&usd("5.999"), cur("USD")).unwrap();
        assert_eq!(c.amount(), dec("5.999"));
        assert!(c.converted().is_none());
    }

    #[test]
    fn a_cross_conversion_rounds_once_from_the_exact_amount() {
        // 234.99 CAD at CAD 1.1 and KWD 0.275 per USD is exactly 58.7475
        // KWD: half to even, 58.748. Through a rounded amount in USD
        // (213.6272727...) it would come out 58.747.
        let t = RateTable::new(
            cur("USD"),
            [(cur("CAD"), dec("1.1")), (cur("KWD"), dec("0.275"))],
            "",
            "",
        )
        .unwrap();
        let c = t
            .convert(&Money::new(dec("234.99"), cur("CAD")), cur("KWD"))
            .unwrap();
        assert_eq!(c, Money::new(dec("58.748"), cur("KWD")));
    }

    #[test]
    fn an_unknown_pair_is_an_error_not_a_number() {
        let t = table();
        assert_eq!(
            t.convert(&Money::new(dec("1"), cur("CHF")), cur("USD")),
            Err(ConversionError::UnknownPair {
                from: "CHF",
                to: "USD"
            })
        );
        assert_eq!(
            t.convert(&Money::new(dec("1"), cur("USD")), cur("SEK")),
            Err(ConversionError::UnknownPair {
                from: "USD",
                to: "SEK"
            })
        );
    }

    #[test]
    fn non_positive_rates_are_refused() {
        assert!(RateTable::new(cur("USD"), [(cur("EUR"), Decimal::ZERO)], "", "").is_err());
    }
}
