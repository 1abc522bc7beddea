//! The one money module.
//!
//! Every upstream states prices in its own unit: Closient sends decimal
//! strings in major units (currency from the parent store), Medusa sends JSON
//! numbers in major units with a lower-case currency code, and Violet sends
//! integers in minor units. Connectors never parse a price themselves: they
//! hand the raw value to one of the constructors here and get an exact
//! [`Money`] back, or a [`PriceError`] that says what was wrong.
//!
//! Amounts are [`rust_decimal::Decimal`]: exact, never binary floating point.
//!
//! The rest of what the gateway does with money lives here too:
//! [`convert`] (exchange rates, conversion through a base currency),
//! [`format`](mod@format) (locale formatting), [`compare`] (unit prices for a quantity,
//! totals, and the cheapest-active rule).

pub(crate) mod availability;
pub(crate) mod compare;
pub(crate) mod convert;
pub(crate) mod format;
pub(crate) mod promotion;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

/// Why a raw upstream price could not be turned into [`Money`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriceError {
    /// The text is not a plain decimal number.
    #[error("not a decimal number: {0:?}")]
    InvalidDecimal(String),
    /// The number does not fit an exact decimal (more than 28 significant digits).
    #[error("amount out of range: {0:?}")]
    OutOfRange(String),
    /// A price or cost below zero.
    #[error("negative amount: {0}")]
    Negative(String),
    /// The currency code is not an ISO 4217 code.
    #[error("unknown currency code: {0:?}")]
    UnknownCurrency(String),
    /// The ISO 4217 entry has no minor unit (gold, SDR, test codes), so an
    /// amount in minor units cannot be read.
    #[error("currency {0} has no minor unit")]
    NoMinorUnit(&'static str),
}

/// An ISO 4217 currency with its minor-unit exponent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Currency(iso_currency::Currency);

impl Currency {
    /// Reads an ISO 4217 alphabetic code, in any letter case (Medusa sends
    /// `usd`, the others `USD`).
    pub fn parse(code: &str) -> Result<Self, PriceError> {
        let trimmed = code.trim();
        if trimmed.len() != 3 || !trimmed.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(PriceError::UnknownCurrency(code.to_owned()));
        }
        iso_currency::Currency::from_code(&trimmed.to_ascii_uppercase())
            .map(Currency)
            .ok_or_else(|| PriceError::UnknownCurrency(code.to_owned()))
    }

    /// The upper-case alphabetic code, e.g. `USD`.
    pub fn code(self) -> &'static str {
        self.0.code()
    }

    /// The currency's symbol per ISO data (`$`, `€`, `¥`, `د.ك`).
    pub fn symbol(self) -> String {
        self.0.symbol().symbol
    }

    /// Number of decimals of the minor unit: 2 for USD, 0 for JPY, 3 for KWD.
    /// `None` for codes without a minor unit (XAU, XDR, ...).
    pub fn exponent(self) -> Option<u32> {
        self.0.exponent().map(u32::from)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An exact amount of money in one currency. The currency always travels
/// with the amount, and a converted amount carries how it was converted.
#[derive(Clone, Debug)]
pub struct Money {
    amount: Decimal,
    currency: Currency,
    converted: Option<Arc<convert::Provenance>>,
}

/// Two amounts are equal when amount and currency are: how an amount came
/// about does not change what it is.
impl PartialEq for Money {
    fn eq(&self, other: &Self) -> bool {
        self.amount == other.amount && self.currency == other.currency
    }
}

impl Eq for Money {}

impl std::hash::Hash for Money {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.amount.hash(state);
        self.currency.hash(state);
    }
}

/// Money as the shared tier keeps it: the exact amount as its decimal
/// text, and the currency; how a converted amount came about is not kept
/// (cached offers hold none).
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredMoney {
    #[serde(with = "rust_decimal::serde::str")]
    amount: Decimal,
    currency: Currency,
}

impl serde::Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let stored = StoredMoney {
            amount: self.amount,
            currency: self.currency,
        };
        serde::Serialize::serialize(&stored, serializer)
    }
}

impl<'de> serde::Deserialize<'de> for Money {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let stored = StoredMoney::deserialize(deserializer)?;
        Ok(Money::new(stored.amount, stored.currency))
    }
}

/// A currency is kept as its ISO 4217 code.
impl serde::Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> serde::Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Currency::parse(&code).map_err(serde::de::Error::custom)
    }
}

impl Money {
    /// Builds money from an exact amount in major units.
    pub fn new(amount: Decimal, currency: Currency) -> Self {
        Money {
            amount,
            currency,
            converted: None,
        }
    }

    /// How this amount was converted from another currency, if it was.
    pub fn converted(&self) -> Option<&convert::Provenance> {
        self.converted.as_deref()
    }

    /// The amount in major units (dollars, yen, dinars).
    pub fn amount(&self) -> Decimal {
        self.amount
    }

    /// The currency of the amount.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// The amount in minor units (cents for USD, yen for JPY, fils for KWD),
    /// exact. It is whole unless the upstream stated a price finer than the
    /// currency's minor unit (Medusa may store `20.555` USD); `None` for
    /// currencies without a minor unit.
    pub fn minor_units(&self) -> Option<Decimal> {
        let exponent = self.currency.exponent()?;
        let factor = Decimal::from(10u64.pow(exponent));
        self.amount.checked_mul(factor).map(|d| d.normalize())
    }

    /// The amount as a plain decimal string with at least the currency's
    /// number of decimals: `5.99`, `1200`, `1.250`, `0.00`.
    pub fn amount_string(&self) -> String {
        let mut amount = self.amount.normalize();
        if let Some(exponent) = self.currency.exponent() {
            if amount.scale() < exponent {
                amount.rescale(exponent);
            }
        }
        amount.to_string()
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount_string(), self.currency)
    }
}

/// A JSON number kept as the exact text the upstream sent, so that a price
/// such as `20.5` or `19.999999999999999999` is never rounded through `f64`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonNumber(String);

impl JsonNumber {
    /// The number's literal JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A JSON number from an exact decimal (used by the simulators).
    #[cfg(any(test, feature = "sim"))]
    pub(crate) fn from_decimal(value: Decimal) -> Self {
        JsonNumber(value.normalize().to_string())
    }
}

impl FromStr for JsonNumber {
    type Err = PriceError;

    /// Accepts exactly the JSON number grammar.
    fn from_str(text: &str) -> Result<Self, PriceError> {
        if is_json_number(text) {
            Ok(JsonNumber(text.to_owned()))
        } else {
            Err(PriceError::InvalidDecimal(text.to_owned()))
        }
    }
}

impl<'de> Deserialize<'de> for JsonNumber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw: Box<RawValue> = Deserialize::deserialize(deserializer)?;
        raw.get().parse().map_err(|_| {
            serde::de::Error::custom(format!("expected a JSON number, got {}", raw.get()))
        })
    }
}

impl Serialize for JsonNumber {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let raw = RawValue::from_string(self.0.clone()).map_err(serde::ser::Error::custom)?;
        raw.serialize(serializer)
    }
}

fn is_json_number(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    if bytes.first() == Some(&b'-') {
        i += 1;
    }
    let int_start = i;
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        i += 1;
    }
    let int_len = i - int_start;
    if int_len == 0 || (int_len > 1 && bytes[int_start] == b'0') {
        return false;
    }
    if i < bytes.len() && bytes[i] == b'.' {
        i += 1;
        let frac_start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if i == frac_start {
            return false;
        }
    }
    if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
        i += 1;
        if i < bytes.len() && (bytes[i] == b'+' || bytes[i] == b'-') {
            i += 1;
        }
        let exp_start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if i == exp_start {
            return false;
        }
    }
    i == bytes.len()
}

/// Parses a plain decimal string: optional sign, digits, optional point and
/// digits, at least one digit. No exponent, no spaces, no thousands separators.
fn parse_plain_decimal(text: &str) -> Result<Decimal, PriceError> {
    let body = text.strip_prefix(['+', '-']).unwrap_or(text);
    let (int_part, frac_part) = body.split_once('.').unwrap_or((body, ""));
    let well_formed = !body.is_empty()
        && int_part.bytes().all(|b| b.is_ascii_digit())
        && frac_part.bytes().all(|b| b.is_ascii_digit())
        && !(int_part.is_empty() && frac_part.is_empty());
    if !well_formed {
        return Err(PriceError::InvalidDecimal(text.to_owned()));
    }
    let sign = if text.starts_with('-') { "-" } else { "" };
    let int_part = if int_part.is_empty() { "0" } else { int_part };
    let canonical = if frac_part.is_empty() {
        format!("{sign}{int_part}")
    } else {
        format!("{sign}{int_part}.{frac_part}")
    };
    Decimal::from_str_exact(&canonical).map_err(|_| PriceError::OutOfRange(text.to_owned()))
}

fn non_negative(amount: Decimal, raw: &str) -> Result<Decimal, PriceError> {
    if amount.is_sign_negative() && !amount.is_zero() {
        Err(PriceError::Negative(raw.to_owned()))
    } else {
        // `-0` becomes `0`.
        Ok(amount.abs())
    }
}

/// Closient: a bare decimal string in major units, denominated in the parent
/// store's currency. `None` (null or missing) means the price is unknown and
/// stays unknown; `"0"` is a real, free price.
pub(crate) fn from_closient(
    amount: Option<&str>,
    currency: &str,
) -> Result<Option<Money>, PriceError> {
    let currency = Currency::parse(currency)?;
    match amount {
        None => Ok(None),
        Some(text) => {
            let amount = non_negative(parse_plain_decimal(text)?, text)?;
            Ok(Some(Money::new(amount, currency)))
        }
    }
}

/// Closient: a bare decimal string in major units whose currency is not
/// stated beside it (a promotional price, whose `currency` may be empty):
/// the exact amount, never negative; `"0"` is a real, free price.
pub(crate) fn closient_amount(text: &str) -> Result<Decimal, PriceError> {
    non_negative(parse_plain_decimal(text)?, text)
}

/// Medusa v2 / Mercur: a JSON number in major units (`20.5` is 20.50) with a
/// lower-case ISO code. Medusa stores prices as-is: `2500` usd is $2,500.00,
/// not cents.
pub(crate) fn from_medusa(amount: &JsonNumber, currency_code: &str) -> Result<Money, PriceError> {
    let currency = Currency::parse(currency_code)?;
    let value = exact_decimal(amount)?;
    Ok(Money::new(non_negative(value, amount.as_str())?, currency))
}

/// The exact decimal value of a JSON number (also for numbers that are not
/// money, such as rates and dimensions). Exponent notation is accepted; a
/// value beyond 28 significant digits is [`PriceError::OutOfRange`].
pub(crate) fn exact_decimal(number: &JsonNumber) -> Result<Decimal, PriceError> {
    let text = number.as_str();
    if text.contains(['e', 'E']) {
        Decimal::from_scientific(text).map_err(|_| PriceError::OutOfRange(text.to_owned()))
    } else {
        parse_plain_decimal(text)
    }
}

/// Violet: an integer in the currency's minor unit (`2999` USD is $29.99,
/// `1200` JPY is ¥1,200, `1250` KWD is 1.250 KWD).
pub(crate) fn from_violet(minor_units: i64, currency_code: &str) -> Result<Money, PriceError> {
    let currency = Currency::parse(currency_code)?;
    let exponent = currency
        .exponent()
        .ok_or(PriceError::NoMinorUnit(currency.code()))?;
    let amount = Decimal::new(minor_units, exponent);
    Ok(Money::new(
        non_negative(amount, &minor_units.to_string())?,
        currency,
    ))
}

/// One quantity tier of a tiered price (Medusa `prices[]`).
pub(crate) trait PriceTier {
    /// The tier's price.
    fn money(&self) -> &Money;
    /// Smallest quantity the tier applies to; `None` = no lower bound.
    fn min_quantity(&self) -> Option<u64>;
    /// Largest quantity the tier applies to; `None` = no upper bound.
    fn max_quantity(&self) -> Option<u64>;
    /// Whether the tier carries extra rules (customer group, region, ...)
    /// that a plain request does not satisfy.
    fn has_rules(&self) -> bool;
}

/// Picks the tier that applies to `quantity`: bounds are inclusive and
/// `None` is unbounded; tiers with rules are skipped; a tier already in
/// `preferred` currency wins, then the narrowest tier (highest lower bound),
/// then the upstream's order.
pub(crate) fn tier_for_quantity<T: PriceTier>(
    tiers: &[T],
    quantity: u64,
    preferred: Option<Currency>,
) -> Option<&T> {
    tiers
        .iter()
        .enumerate()
        .filter(|(_, t)| !t.has_rules())
        .filter(|(_, t)| t.min_quantity().is_none_or(|min| quantity >= min))
        .filter(|(_, t)| t.max_quantity().is_none_or(|max| quantity <= max))
        .min_by_key(|(index, t)| {
            let currency_rank = match preferred {
                Some(c) if t.money().currency() == c => 0,
                Some(_) => 1,
                None => 0,
            };
            (
                currency_rank,
                std::cmp::Reverse(t.min_quantity().unwrap_or(0)),
                *index,
            )
        })
        .map(|(_, t)| t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str_exact(s).unwrap()
    }

    #[test]
    fn closient_strings_are_major_units_in_store_currency() {
        let m = from_closient(Some("5.99"), "USD").unwrap().unwrap();
        assert_eq!(m.amount(), dec("5.99"));
        assert_eq!(m.currency().code(), "USD");
        assert_eq!(m.minor_units(), Some(dec("599")));
        assert_eq!(m.amount_string(), "5.99");
    }

    #[test]
    fn closient_null_is_unknown_and_zero_is_free() {
        assert_eq!(from_closient(None, "USD").unwrap(), None);
        let zero = from_closient(Some("0"), "USD").unwrap().unwrap();
        assert!(zero.amount().is_zero());
        assert_eq!(zero.amount_string(), "0.00");
        let zero2 = from_closient(Some("0.00"), "USD").unwrap().unwrap();
        assert_eq!(
            zero,
            Money::new(dec("0"), Currency::parse("USD").unwrap()).clone()
        );
        assert!(zero2.amount().is_zero());
    }

    #[test]
    fn closient_accepts_documented_pattern_forms() {
        for (raw, want) in [("007.50", "7.5"), (".5", "0.5"), ("5.", "5"), ("+3", "3")] {
            let m = from_closient(Some(raw), "EUR").unwrap().unwrap();
            assert_eq!(m.amount(), dec(want), "{raw}");
        }
    }

    #[test]
    fn malformed_prices_are_errors_not_panics() {
        for raw in [
            "", ".", "-", "+.", "abc", "5,99", "1e3", " 5", "5 ", "NaN", "1.2.3", "--1", "0x10",
        ] {
            assert!(
                matches!(
                    from_closient(Some(raw), "USD"),
                    Err(PriceError::InvalidDecimal(_))
                ),
                "{raw:?}"
            );
        }
        assert_eq!(
            from_closient(Some("-1.00"), "USD"),
            Err(PriceError::Negative("-1.00".into()))
        );
        assert!(matches!(
            from_closient(Some("1".repeat(40).as_str()), "USD"),
            Err(PriceError::OutOfRange(_))
        ));
        assert!(matches!(
            from_closient(Some("1"), "ZZZ"),
            Err(PriceError::UnknownCurrency(_))
        ));
        assert!(matches!(
            from_closient(Some("1"), "US"),
            Err(PriceError::UnknownCurrency(_))
        ));
    }

    #[test]
    fn closient_amounts_without_a_currency_read_like_closient_prices() {
        for (raw, want) in [
            ("5.99", "5.99"),
            ("0", "0"),
            ("0.00", "0"),
            ("-0", "0"),
            ("+3", "3"),
        ] {
            assert_eq!(closient_amount(raw), Ok(dec(want)), "{raw}");
        }
        assert_eq!(
            closient_amount("-1.00"),
            Err(PriceError::Negative("-1.00".into()))
        );
        for raw in ["", "12,99", "1e3", " 5", "NaN"] {
            assert!(
                matches!(closient_amount(raw), Err(PriceError::InvalidDecimal(_))),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn medusa_numbers_are_major_units_with_lower_case_codes() {
        let n: JsonNumber = serde_json::from_str("20.5").unwrap();
        let m = from_medusa(&n, "usd").unwrap();
        assert_eq!(m.amount(), dec("20.5"));
        assert_eq!(m.amount_string(), "20.50");
        assert_eq!(m.currency().code(), "USD");
        // The Mercur doc example: 2500 is $2,500.00, not cents.
        let n: JsonNumber = serde_json::from_str("2500").unwrap();
        assert_eq!(from_medusa(&n, "usd").unwrap().amount(), dec("2500"));
    }

    #[test]
    fn medusa_numbers_keep_every_digit() {
        let n: JsonNumber = serde_json::from_str("19.999999999999999999").unwrap();
        assert_eq!(
            from_medusa(&n, "eur").unwrap().amount(),
            dec("19.999999999999999999")
        );
        let n: JsonNumber = serde_json::from_str("2.5e1").unwrap();
        assert_eq!(from_medusa(&n, "eur").unwrap().amount(), dec("25"));
        let n: JsonNumber = serde_json::from_str("1e40").unwrap();
        assert!(matches!(
            from_medusa(&n, "eur"),
            Err(PriceError::OutOfRange(_))
        ));
        assert!(serde_json::from_str::<JsonNumber>("\"5\"").is_err());
        assert!(serde_json::from_str::<JsonNumber>("null").is_err());
    }

    #[test]
    fn json_number_round_trips_exact_text() {
        let n: JsonNumber = serde_json::from_str("1234.5600").unwrap();
        assert_eq!(serde_json::to_string(&n).unwrap(), "1234.5600");
        assert_eq!(JsonNumber::from_decimal(dec("20.50")).as_str(), "20.5");
    }

    #[test]
    fn violet_integers_are_minor_units_by_iso_exponent() {
        let usd = from_violet(2999, "USD").unwrap();
        assert_eq!(usd.amount(), dec("29.99"));
        let jpy = from_violet(1200, "JPY").unwrap();
        assert_eq!(jpy.amount(), dec("1200"));
        assert_eq!(jpy.amount_string(), "1200");
        assert_eq!(jpy.minor_units(), Some(dec("1200")));
        let kwd = from_violet(1250, "KWD").unwrap();
        assert_eq!(kwd.amount(), dec("1.25"));
        assert_eq!(kwd.amount_string(), "1.250");
        assert_eq!(kwd.minor_units(), Some(dec("1250")));
        assert!(matches!(
            from_violet(-1, "USD"),
            Err(PriceError::Negative(_))
        ));
        assert!(matches!(
            from_violet(1, "XAU"),
            Err(PriceError::NoMinorUnit("XAU"))
        ));
    }

    #[test]
    fn large_values_stay_exact() {
        let big = from_violet(i64::MAX, "USD").unwrap();
        assert_eq!(big.amount(), dec("92233720368547758.07"));
        assert_eq!(big.minor_units(), Some(Decimal::from(i64::MAX)));
        let m = from_closient(Some("12345678901234567890.12"), "USD")
            .unwrap()
            .unwrap();
        assert_eq!(m.minor_units(), Some(dec("1234567890123456789012")));
    }

    #[test]
    fn sub_minor_prices_keep_their_fraction_of_a_minor_unit() {
        let n: JsonNumber = serde_json::from_str("20.555").unwrap();
        assert_eq!(
            from_medusa(&n, "usd").unwrap().minor_units(),
            Some(dec("2055.5"))
        );
    }

    struct Tier(Money, Option<u64>, Option<u64>, bool);
    impl PriceTier for Tier {
        fn money(&self) -> &Money {
            &self.0
        }
        fn min_quantity(&self) -> Option<u64> {
            self.1
        }
        fn max_quantity(&self) -> Option<u64> {
            self.2
        }
        fn has_rules(&self) -> bool {
            self.3
        }
    }

    #[test]
    fn tiers_are_chosen_by_inclusive_quantity_bounds() {
        let usd = Currency::parse("usd").unwrap();
        let eur = Currency::parse("eur").unwrap();
        let m = |a: &str, c| Money::new(dec(a), c);
        let tiers = vec![
            Tier(m("10", usd), None, None, false),
            Tier(m("9", usd), Some(10), Some(49), false),
            Tier(m("8", usd), Some(50), None, false),
            Tier(m("9.5", eur), None, None, false),
            Tier(m("1", usd), None, None, true),
        ];
        let pick = |q, c| tier_for_quantity(&tiers, q, c).map(|t| t.0.amount());
        assert_eq!(pick(1, None), Some(dec("10")));
        assert_eq!(pick(9, None), Some(dec("10")));
        assert_eq!(pick(10, None), Some(dec("9")));
        assert_eq!(pick(49, None), Some(dec("9")));
        assert_eq!(pick(50, None), Some(dec("8")));
        assert_eq!(pick(1, Some(eur)), Some(dec("9.5")));
        assert_eq!(pick(50, Some(eur)), Some(dec("9.5")));
        let only_bounded = vec![Tier(m("9", usd), Some(10), Some(20), false)];
        assert!(tier_for_quantity(&only_bounded, 1, None).is_none());
    }
}
