//! The deterministic demo catalog all three simulators draw from.
//!
//! One seed gives the same products every time, with no network and no
//! data files. Each product has a GTIN, so the same product shows up as a
//! Closient online and in-store offer, a Medusa marketplace offer and a
//! Violet catalog offer, and a client can match them up.

/// Number of products in the demo catalog.
pub const PRODUCT_COUNT: usize = 1200;
/// The seed of the demo catalog.
pub const DEMO_SEED: u64 = 0x0ff3_9a7e;

/// A product every upstream may offer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Product {
    /// Position in the catalog (0-based), stable for a seed.
    pub index: usize,
    /// A 128-bit id, for styles that key products by UUID.
    pub uuid: u128,
    /// GTIN-14: 14 digits with a valid check digit. UPC-A and EAN-13
    /// products are zero-padded, as Closient stores them.
    pub gtin: String,
    /// How the GTIN is usually printed: UPC-A (12), EAN-13 (13) or GTIN-14.
    pub barcode: String,
    /// Product name.
    pub name: String,
    /// Brand.
    pub brand: String,
    /// Category name.
    pub category: &'static str,
    /// A reference price in US cents, from which upstreams derive theirs.
    pub base_price_cents: i64,
}

/// The demo products.
#[derive(Clone, Debug)]
pub struct Catalog {
    /// The seed the catalog was made from.
    pub seed: u64,
    /// All products.
    pub products: Vec<Product>,
}

const ADJECTIVES: &[&str] = &[
    "Classic",
    "Organic",
    "Ultra",
    "Compact",
    "Deluxe",
    "Everyday",
    "Pro",
    "Eco",
    "Smart",
    "Vintage",
    "Wireless",
    "Premium",
    "Mini",
    "Heavy-Duty",
    "Travel",
];
const NOUNS: &[(&str, &str)] = &[
    ("Coffee Beans", "Grocery"),
    ("Olive Oil", "Grocery"),
    ("Green Tea", "Grocery"),
    ("Headphones", "Electronics"),
    ("Phone Charger", "Electronics"),
    ("Desk Lamp", "Home"),
    ("Chef Knife", "Kitchen"),
    ("Cast Iron Pan", "Kitchen"),
    ("Running Shoes", "Apparel"),
    ("Rain Jacket", "Apparel"),
    ("Wool Socks", "Apparel"),
    ("Yoga Mat", "Sports"),
    ("Water Bottle", "Sports"),
    ("Backpack", "Outdoors"),
    ("Camping Stove", "Outdoors"),
    ("Board Game", "Toys"),
    ("Building Blocks", "Toys"),
    ("Notebook", "Office"),
    ("Fountain Pen", "Office"),
    ("Shampoo", "Beauty"),
];
const BRANDS: &[&str] = &[
    "Acme",
    "Northwind",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Hooli",
    "Vandelay",
    "Tyrell",
    "Soylent",
    "Gringotts",
];

impl Catalog {
    /// The catalog for `seed`; the same seed always gives the same catalog.
    pub fn generate(seed: u64) -> Self {
        let mut rng = fastrand::Rng::with_seed(seed);
        let products = (0..PRODUCT_COUNT)
            .map(|index| {
                let uuid = rng.u128(..);
                let (gtin, barcode) = match index % 3 {
                    0 => {
                        let upc = with_check_digit(&digits(&mut rng, 11));
                        (format!("00{upc}"), upc)
                    }
                    1 => {
                        let ean =
                            with_check_digit(&format!("{}{}", 4 + index % 6, digits(&mut rng, 11)));
                        (format!("0{ean}"), ean)
                    }
                    _ => {
                        let gtin = with_check_digit(&format!("1{}", digits(&mut rng, 12)));
                        (gtin.clone(), gtin)
                    }
                };
                let (noun, category) = NOUNS[rng.usize(..NOUNS.len())];
                let brand = BRANDS[rng.usize(..BRANDS.len())];
                let adjective = ADJECTIVES[rng.usize(..ADJECTIVES.len())];
                Product {
                    index,
                    uuid,
                    gtin,
                    barcode,
                    name: format!("{brand} {adjective} {noun}"),
                    brand: brand.to_owned(),
                    category,
                    base_price_cents: rng.i64(199..=49_999),
                }
            })
            .collect();
        Catalog { seed, products }
    }

    /// The demo catalog.
    pub fn demo() -> Self {
        Catalog::generate(DEMO_SEED)
    }

    /// The product with this GTIN-14.
    pub fn by_gtin(&self, gtin: &str) -> Option<&Product> {
        self.products.iter().find(|p| p.gtin == gtin)
    }
}

fn digits(rng: &mut fastrand::Rng, n: usize) -> String {
    (0..n).map(|_| char::from(b'0' + rng.u8(0..10))).collect()
}

/// Appends the GS1 check digit to `body`.
pub fn with_check_digit(body: &str) -> String {
    crate::gtin::with_check_digit(body).expect("a generated GTIN body is digits")
}

/// Whether `code` is all digits with a valid GS1 check digit.
pub fn is_valid_gtin(code: &str) -> bool {
    code.len() >= 2
        && code.bytes().all(|b| b.is_ascii_digit())
        && with_check_digit(&code[..code.len() - 1]) == code
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_catalog() {
        let a = Catalog::generate(7);
        let b = Catalog::generate(7);
        assert_eq!(a.products, b.products);
        assert_ne!(a.products, Catalog::generate(8).products);
        assert!(a.products.len() >= 1000);
    }

    #[test]
    fn gtins_are_valid_unique_gtin14() {
        let c = Catalog::demo();
        let mut seen = std::collections::HashSet::new();
        for p in &c.products {
            assert_eq!(p.gtin.len(), 14, "{}", p.gtin);
            assert!(is_valid_gtin(&p.gtin), "{}", p.gtin);
            assert!(p.gtin.ends_with(&p.barcode));
            assert!(seen.insert(p.gtin.clone()));
        }
    }

    #[test]
    fn check_digit_matches_known_codes() {
        // UPC-A 036000291452, EAN-13 4006381333931.
        assert_eq!(with_check_digit("03600029145"), "036000291452");
        assert_eq!(with_check_digit("400638133393"), "4006381333931");
        assert!(is_valid_gtin("00036000291452"));
    }
}
