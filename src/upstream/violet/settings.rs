//! A Violet-style instance's own settings: the keys of its
//! `[upstreams.<name>]` table that no other style takes (`base_currency`).
//! [`Settings::take`] reads them out of the table before the keys every
//! style shares ([`crate::upstream::InstanceSettings`]) are read.

use serde::{Deserialize, Deserializer};

use super::wire;
use crate::error::InvalidSetting;
use crate::pricing::Currency;
use crate::upstream::settings::table_as;

/// The keys of an instance table that are Violet's own.
const KEYS: [&str; 1] = ["base_currency"];

/// The Violet-only settings of an instance.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// The currency Violet answers every price in: sent as `base_currency`
    /// on every by-id call and every listing, so that an offer shows the
    /// same prices whichever call brought it, and no answer depends on an
    /// unstated default. The default is Violet's own, USD
    /// ([`wire::DEFAULT_BASE_CURRENCY`]).
    #[serde(deserialize_with = "iso_4217_with_minor_unit")]
    pub base_currency: Currency,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            base_currency: Currency::parse(wire::DEFAULT_BASE_CURRENCY)
                .expect("Violet's default base currency is an ISO 4217 code"),
        }
    }
}

impl Settings {
    /// Takes the Violet keys out of the instance table `key` (the rest are
    /// read as every style's settings) and reads them; an invalid value is
    /// refused with a message naming its key.
    pub(crate) fn take(key: &str, table: &mut toml::Table) -> Result<Settings, InvalidSetting> {
        let own: toml::Table = KEYS
            .iter()
            .filter_map(|name| Some(((*name).to_owned(), table.remove(*name)?)))
            .collect();
        // Each key alone first, so that a refusal names the key itself
        // (`upstreams.<name>.base_currency: ...`), not only its table.
        for (name, value) in &own {
            let alone = toml::Table::from_iter([(name.clone(), value.clone())]);
            table_as::<Settings>(&format!("{key}.{name}"), alone)?;
        }
        table_as(key, own)
    }
}

/// Reads an ISO 4217 alphabetic code, in any letter case, of a currency
/// with a minor unit (Violet prices are integers of minor units, so a code
/// such as `XAU` cannot be answered in).
fn iso_4217_with_minor_unit<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Currency, D::Error> {
    let code = String::deserialize(deserializer)?;
    Currency::parse(&code)
        .ok()
        .filter(|currency| currency.exponent().is_some())
        .ok_or_else(|| {
            serde::de::Error::custom(format!(
                "{code:?} is not an ISO 4217 currency code with a minor unit; \
                 write a three-letter code such as \"USD\", \"EUR\" or \"JPY\""
            ))
        })
}
