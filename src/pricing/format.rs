//! Money as people read it: `$5.99`, `¥1,200`, `5,99 €`.
//!
//! A small table of locales with the separators and symbol placement of
//! their CLDR currency patterns. Amounts are rounded half to even to the
//! currency's minor unit and always show its number of decimals. Symbols
//! follow CLDR's choices for these locales: a currency's own symbol where
//! it is unambiguous (`€`, `£`, `¥`), the bare `$` for the locale's home
//! dollar, a prefixed dollar elsewhere (`CA$`, `US$` in Canada), and the ISO
//! code for the rest (`KWD 1.250`).

use std::borrow::Cow;

use rust_decimal::Decimal;

use super::convert::round_to_minor_unit;
use super::Money;

/// A supported locale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Locale {
    tag: &'static str,
    decimal: char,
    group: &'static str,
    symbol_first: bool,
    /// Between symbol and number, when the symbol is a sign like `€`.
    spacing: &'static str,
    home: &'static str,
}

const NBSP: &str = "\u{a0}";
const NNBSP: &str = "\u{202f}";

const LOCALES: &[Locale] = &[
    Locale {
        tag: "en-US",
        decimal: '.',
        group: ",",
        symbol_first: true,
        spacing: "",
        home: "USD",
    },
    Locale {
        tag: "en-GB",
        decimal: '.',
        group: ",",
        symbol_first: true,
        spacing: "",
        home: "GBP",
    },
    Locale {
        tag: "en-CA",
        decimal: '.',
        group: ",",
        symbol_first: true,
        spacing: "",
        home: "CAD",
    },
    Locale {
        tag: "en-AU",
        decimal: '.',
        group: ",",
        symbol_first: true,
        spacing: "",
        home: "AUD",
    },
    Locale {
        tag: "de-DE",
        decimal: ',',
        group: ".",
        symbol_first: false,
        spacing: NBSP,
        home: "EUR",
    },
    Locale {
        tag: "de-AT",
        decimal: ',',
        group: NBSP,
        symbol_first: true,
        spacing: NBSP,
        home: "EUR",
    },
    Locale {
        tag: "fr-FR",
        decimal: ',',
        group: NNBSP,
        symbol_first: false,
        spacing: NBSP,
        home: "EUR",
    },
    Locale {
        tag: "es-ES",
        decimal: ',',
        group: ".",
        symbol_first: false,
        spacing: NBSP,
        home: "EUR",
    },
    Locale {
        tag: "it-IT",
        decimal: ',',
        group: ".",
        symbol_first: false,
        spacing: NBSP,
        home: "EUR",
    },
    Locale {
        tag: "nl-NL",
        decimal: ',',
        group: ".",
        symbol_first: true,
        spacing: NBSP,
        home: "EUR",
    },
    Locale {
        tag: "ja-JP",
        decimal: '.',
        group: ",",
        symbol_first: true,
        spacing: "",
        home: "JPY",
    },
];

/// The tags of the supported locales, for error messages.
pub(crate) fn supported_locales() -> Vec<&'static str> {
    LOCALES.iter().map(|l| l.tag).collect()
}

impl Locale {
    /// Finds a locale by BCP 47 tag (`en-US`, `de_DE`, any case); a bare
    /// language (`de`) picks its first listed region.
    pub(crate) fn parse(tag: &str) -> Option<Locale> {
        let wanted = tag.trim().replace('_', "-").to_ascii_lowercase();
        LOCALES
            .iter()
            .find(|l| l.tag.to_ascii_lowercase() == wanted)
            .or_else(|| {
                LOCALES
                    .iter()
                    .find(|l| l.tag.split('-').next().is_some_and(|lang| lang == wanted))
            })
            .copied()
    }

    /// The locale's tag.
    #[cfg(test)]
    pub(crate) fn tag(&self) -> &'static str {
        self.tag
    }

    fn symbol(&self, code: &'static str, symbol: String) -> Cow<'static, str> {
        match code {
            _ if code == self.home && code == "JPY" => Cow::Borrowed("￥"),
            _ if code == self.home => Cow::Owned(symbol),
            "EUR" | "GBP" | "JPY" | "KRW" | "INR" | "ILS" | "VND" | "NGN" => Cow::Owned(symbol),
            "USD" if self.home.ends_with('D') && self.home != "USD" => Cow::Borrowed("US$"),
            "USD" => Cow::Borrowed("$"),
            _ if symbol == "$" => Cow::Owned(format!("{}$", &code[..2])),
            _ => Cow::Borrowed(code),
        }
    }
}

/// Formats `money` for `locale`.
pub(crate) fn format(money: &Money, locale: Locale) -> String {
    let currency = money.currency();
    let amount = round_to_minor_unit(money.amount(), currency);
    let number = digits(amount, currency.exponent().unwrap_or(0), locale);
    let symbol = locale.symbol(currency.code(), currency.symbol());
    // A code (`KWD`, `CA$`) is set apart by a space even where a sign is not.
    let spacing = if symbol.chars().any(|c| c.is_ascii_alphabetic()) {
        NBSP
    } else {
        locale.spacing
    };
    let sign = if amount.is_sign_negative() && !amount.is_zero() {
        "-"
    } else {
        ""
    };
    if locale.symbol_first {
        format!("{sign}{symbol}{spacing}{number}")
    } else {
        format!("{sign}{number}{spacing}{symbol}")
    }
}

/// The absolute amount with `decimals` decimals and the locale's separators.
fn digits(amount: Decimal, decimals: u32, locale: Locale) -> String {
    let mut amount = amount.abs();
    amount.rescale(decimals);
    let text = amount.to_string();
    let (int_part, frac_part) = text.split_once('.').unwrap_or((&text, ""));
    let mut grouped = String::with_capacity(text.len() + text.len() / 3 * 3);
    for (i, digit) in int_part.chars().enumerate() {
        if i > 0 && (int_part.len() - i) % 3 == 0 {
            grouped.push_str(locale.group);
        }
        grouped.push(digit);
    }
    if !frac_part.is_empty() {
        grouped.push(locale.decimal);
        grouped.push_str(frac_part);
    }
    grouped
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pricing::Currency;

    fn money(amount: &str, code: &str) -> Money {
        Money::new(
            Decimal::from_str_exact(amount).unwrap(),
            Currency::parse(code).unwrap(),
        )
    }

    fn fmt(amount: &str, code: &str, locale: &str) -> String {
        format(
            &money(amount, code),
            Locale::parse(locale).expect("supported"),
        )
    }

    #[test]
    fn formats_like_people_read_prices() {
        assert_eq!(fmt("5.99", "USD", "en-US"), "$5.99");
        assert_eq!(fmt("1200", "JPY", "en-US"), "¥1,200");
        assert_eq!(fmt("5.99", "EUR", "de-DE"), "5,99\u{a0}€");
        assert_eq!(fmt("1234567.5", "EUR", "de-DE"), "1.234.567,50\u{a0}€");
        assert_eq!(fmt("1234.5", "EUR", "fr-FR"), "1\u{202f}234,50\u{a0}€");
        assert_eq!(fmt("1234.5", "EUR", "nl-NL"), "€\u{a0}1.234,50");
        assert_eq!(fmt("1200", "JPY", "ja-JP"), "￥1,200");
        assert_eq!(fmt("0", "GBP", "en-GB"), "£0.00");
        assert_eq!(fmt("1.25", "KWD", "en-US"), "KWD\u{a0}1.250");
        assert_eq!(fmt("1.25", "KWD", "de-DE"), "1,250\u{a0}KWD");
        assert_eq!(fmt("5.99", "CAD", "en-US"), "CA$\u{a0}5.99");
        assert_eq!(fmt("5.99", "CAD", "en-CA"), "$5.99");
        assert_eq!(fmt("5.99", "USD", "en-CA"), "US$\u{a0}5.99");
    }

    #[test]
    fn amounts_round_half_to_even_to_the_minor_unit() {
        assert_eq!(fmt("20.555", "USD", "en-US"), "$20.56");
        assert_eq!(fmt("20.545", "USD", "en-US"), "$20.54");
        assert_eq!(fmt("1200.5", "JPY", "en-US"), "¥1,200");
        assert_eq!(fmt("999999.995", "USD", "en-US"), "$1,000,000.00");
    }

    #[test]
    fn locales_are_found_by_tag_or_language() {
        assert_eq!(Locale::parse("de_de").map(|l| l.tag()), Some("de-DE"));
        assert_eq!(Locale::parse("fr").map(|l| l.tag()), Some("fr-FR"));
        assert_eq!(Locale::parse("xx-YY"), None);
        assert!(supported_locales().contains(&"ja-JP"));
    }
}
