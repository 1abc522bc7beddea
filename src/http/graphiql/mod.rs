//! GraphiQL, served entirely by the gateway: it works offline, behind a
//! proxy and under a strict content-security policy.
//!
//! - The page (`GET /graphql` from a browser, see [`page`]) is written
//!   here: no inline script, only files of the gateway's own origin, and
//!   the settings as a JSON data block that `boot.js` reads. Its
//!   [`CONTENT_SECURITY_POLICY`] allows nothing else.
//! - Its files are embedded in the binary and served under
//!   `/graphiql/assets/<name>.<hash>.<ext>` ([`routes`]): each name
//!   carries the first 16 hex digits of the file's SHA-256, so that the
//!   answers can be cached for a year as immutable.
//! - React, ReactDOM (18, production builds) and GraphiQL (4, its browser
//!   build) are the published packages' files, byte for byte, in
//!   `vendor/` with their licenses; `vendor/refresh.sh` writes them and
//!   `vendor/manifest.tsv` from `npm pack`, and a test checks the embedded
//!   bytes against the manifest. They are never edited by hand.
//! - The example queries of `examples/` are GraphiQL's default tabs, the
//!   product page first; `GET /graphql?example=<name>` opens that example
//!   (the tab holding it, or a new one) even when the browser kept other
//!   tabs from an earlier visit.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use sha2::{Digest, Sha256};

/// The page's content-security policy: scripts, styles and requests only
/// to the gateway's own origin, the `data:` fonts and images that
/// GraphiQL's stylesheet embeds, no frames, forms or plugins.
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; font-src 'self' data:; img-src 'self' data:; connect-src 'self'; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Where the assets are served, relative to the site root.
const ASSETS_PATH: &str = "graphiql/assets";

/// How long a browser or a shared cache may keep an asset: a year, as
/// immutable (a changed file gets another name).
const ASSET_CACHE_CONTROL: &str = "public, max-age=31536000, immutable";

/// The example queries of `examples/`, by file name without `.graphql`:
/// GraphiQL's default tabs, in this order (the first one opens first).
pub(crate) const EXAMPLES: &[(&str, &str)] = &[
    (
        "product_page",
        include_str!("../../../examples/product_page.graphql"),
    ),
    (
        "search_products",
        include_str!("../../../examples/search_products.graphql"),
    ),
    (
        "compare_offers",
        include_str!("../../../examples/compare_offers.graphql"),
    ),
    (
        "marketplace_offer",
        include_str!("../../../examples/marketplace_offer.graphql"),
    ),
    (
        "online_offers_page",
        include_str!("../../../examples/online_offers_page.graphql"),
    ),
    (
        "offers_by_id",
        include_str!("../../../examples/offers_by_id.graphql"),
    ),
];

/// A file the page loads, embedded in the binary.
struct Asset {
    /// Its path in this folder (`vendor/…` for a vendored file, as in
    /// `vendor/manifest.tsv`).
    file: &'static str,
    /// Its content.
    bytes: &'static [u8],
    /// Its `Content-Type`.
    content_type: &'static str,
}

/// JavaScript's media type.
const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
/// CSS's media type.
const CSS: &str = "text/css; charset=utf-8";

/// React, loaded first: GraphiQL's browser build expects it as `React`.
static REACT: Asset = Asset {
    file: "vendor/react/react.production.min.js",
    bytes: include_bytes!("vendor/react/react.production.min.js"),
    content_type: JAVASCRIPT,
};
/// ReactDOM, as `ReactDOM`.
static REACT_DOM: Asset = Asset {
    file: "vendor/react-dom/react-dom.production.min.js",
    bytes: include_bytes!("vendor/react-dom/react-dom.production.min.js"),
    content_type: JAVASCRIPT,
};
/// GraphiQL's browser build, as `GraphiQL`.
static GRAPHIQL: Asset = Asset {
    file: "vendor/graphiql/graphiql.min.js",
    bytes: include_bytes!("vendor/graphiql/graphiql.min.js"),
    content_type: JAVASCRIPT,
};
/// GraphiQL's stylesheet.
static GRAPHIQL_CSS: Asset = Asset {
    file: "vendor/graphiql/graphiql.min.css",
    bytes: include_bytes!("vendor/graphiql/graphiql.min.css"),
    content_type: CSS,
};
/// The page's own script: starts GraphiQL with the page's settings.
static BOOT: Asset = Asset {
    file: "boot.js",
    bytes: include_bytes!("boot.js"),
    content_type: JAVASCRIPT,
};
/// The page's own stylesheet: GraphiQL fills the window.
static PAGE_CSS: Asset = Asset {
    file: "page.css",
    bytes: include_bytes!("page.css"),
    content_type: CSS,
};

/// Every asset, with the name it is served under, named once.
static ASSETS: LazyLock<Vec<(String, &'static Asset)>> = LazyLock::new(|| {
    [
        &REACT,
        &REACT_DOM,
        &GRAPHIQL,
        &GRAPHIQL_CSS,
        &BOOT,
        &PAGE_CSS,
    ]
    .into_iter()
    .map(|asset| (served_name(asset), asset))
    .collect()
});

/// `dir/name.ext` served as `name.<first 16 hex digits of its SHA-256>.ext`.
fn served_name(asset: &Asset) -> String {
    let base = asset.file.rsplit('/').next().unwrap_or(asset.file);
    let (stem, ext) = base.rsplit_once('.').unwrap_or((base, ""));
    let hash = hex::encode(Sha256::digest(asset.bytes));
    format!("{stem}.{}.{ext}", &hash[..16])
}

/// The URL of `asset`, relative to the page (`/graphql`), so that the page
/// also works behind a proxy that serves the gateway under a path prefix.
fn url(asset: &'static Asset) -> String {
    let name = ASSETS
        .iter()
        .find(|(_, a)| a.file == asset.file)
        .map_or("", |(name, _)| name.as_str());
    format!("{ASSETS_PATH}/{name}")
}

/// The routes of the assets (open like `/healthz`: they are public files).
pub(crate) fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route(&format!("/{ASSETS_PATH}/{{name}}"), get(asset))
}

/// An asset by its served name; 404 for any other name.
async fn asset(Path(name): Path<String>) -> Response {
    let Some((_, asset)) = ASSETS.iter().find(|(served, _)| *served == name) else {
        return (StatusCode::NOT_FOUND, "no such GraphiQL asset\n").into_response();
    };
    (
        [
            (header::CONTENT_TYPE, asset.content_type),
            (header::CACHE_CONTROL, ASSET_CACHE_CONTROL),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        asset.bytes,
    )
        .into_response()
}

/// What `boot.js` reads from the page.
#[derive(serde::Serialize)]
struct Settings {
    /// GraphiQL's default tabs: the examples.
    tabs: Vec<Tab>,
    /// The query to open, from `?example=`.
    #[serde(skip_serializing_if = "Option::is_none")]
    query: Option<&'static str>,
}

/// One of GraphiQL's default tabs.
#[derive(serde::Serialize)]
struct Tab {
    /// The tab's query.
    query: &'static str,
}

/// The GraphiQL page, for `GET /graphql` from a browser; `raw_query` is
/// the request's query string, where `example=<name>` opens that example.
/// An unknown example is 404, with the names of the known ones.
pub(crate) fn page(raw_query: Option<&str>) -> Response {
    let example = url::form_urlencoded::parse(raw_query.unwrap_or("").as_bytes())
        .find(|(key, _)| key == "example")
        .map(|(_, value)| value.into_owned());
    let query = match example {
        None => None,
        Some(name) => match EXAMPLES.iter().find(|(known, _)| *known == name) {
            Some((_, query)) => Some(*query),
            None => {
                let names: Vec<&str> = EXAMPLES.iter().map(|(name, _)| *name).collect();
                return (
                    StatusCode::NOT_FOUND,
                    [(header::X_CONTENT_TYPE_OPTIONS, "nosniff")],
                    format!("no such example; the examples are: {}\n", names.join(", ")),
                )
                    .into_response();
            }
        },
    };
    let settings = Settings {
        tabs: EXAMPLES.iter().map(|(_, query)| Tab { query }).collect(),
        query,
    };
    let mut response = (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        html(&settings),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The page's HTML.
fn html(settings: &Settings) -> String {
    // A `<` inside the JSON could close the data block: JSON reads `\u003c`
    // as the same character.
    let settings = serde_json::to_string(settings)
        .expect("the settings are strings")
        .replace('<', "\\u003c");
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>offer-gateway · GraphiQL</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{graphiql_css}">
<link rel="stylesheet" href="{page_css}">
<script id="graphiql-settings" type="application/json">{settings}</script>
<script src="{react}" defer></script>
<script src="{react_dom}" defer></script>
<script src="{graphiql}" defer></script>
<script src="{boot}" defer></script>
</head>
<body>
<div id="graphiql"><p class="loading">Loading GraphiQL…</p></div>
<noscript>GraphiQL needs JavaScript. Without it, send queries with POST /graphql.</noscript>
</body>
</html>
"#,
        graphiql_css = url(&GRAPHIQL_CSS),
        page_css = url(&PAGE_CSS),
        react = url(&REACT),
        react_dom = url(&REACT_DOM),
        graphiql = url(&GRAPHIQL),
        boot = url(&BOOT),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `vendor/manifest.tsv`'s rows: file, package@version, path in the
    /// tarball, sha256.
    fn manifest() -> Vec<[&'static str; 4]> {
        include_str!("vendor/manifest.tsv")
            .lines()
            .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
            .map(|line| {
                let fields: Vec<&str> = line.split('\t').collect();
                assert_eq!(fields.len(), 5, "a manifest row has 5 fields: {line}");
                [fields[0], fields[1], fields[2], fields[3]]
            })
            .collect()
    }

    fn vendor_dir() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http/graphiql/vendor")
    }

    #[test]
    fn embedded_vendor_files_are_the_ones_the_manifest_records() {
        let rows = manifest();
        let vendored: Vec<&Asset> = ASSETS
            .iter()
            .map(|(_, asset)| *asset)
            .filter(|asset| asset.file.starts_with("vendor/"))
            .collect();
        assert_eq!(vendored.len(), 4);
        for asset in vendored {
            let file = asset.file.trim_start_matches("vendor/");
            let row = rows
                .iter()
                .find(|row| row[0] == file)
                .unwrap_or_else(|| panic!("{file} is not in vendor/manifest.tsv"));
            assert_eq!(
                hex::encode(Sha256::digest(asset.bytes)),
                row[3],
                "{file} is not the file {} of {} (run vendor/refresh.sh)",
                row[2],
                row[1]
            );
        }
    }

    #[test]
    fn every_vendored_file_is_in_the_manifest_with_its_license() {
        let rows = manifest();
        for row in &rows {
            let bytes = std::fs::read(vendor_dir().join(row[0])).expect("a manifest file exists");
            assert_eq!(hex::encode(Sha256::digest(&bytes)), row[3], "{}", row[0]);
        }
        let mut packages: Vec<&str> = rows.iter().map(|row| row[1]).collect();
        packages.dedup();
        for package in packages {
            assert!(
                rows.iter()
                    .any(|row| row[1] == package && row[0].ends_with("/LICENSE")),
                "{package} has no LICENSE in vendor/"
            );
        }
        for dir in std::fs::read_dir(vendor_dir()).expect("vendor/ is there") {
            let dir = dir.expect("a directory entry").path();
            if !dir.is_dir() {
                continue;
            }
            for file in std::fs::read_dir(&dir).expect("a package directory") {
                let path = file.expect("a directory entry").path();
                let relative = path
                    .strip_prefix(vendor_dir())
                    .expect("under vendor/")
                    .to_string_lossy()
                    .into_owned();
                assert!(
                    rows.iter().any(|row| row[0] == relative),
                    "{relative} is in vendor/ but not in its manifest"
                );
            }
        }
    }

    #[test]
    fn every_example_file_is_a_default_tab() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .expect("examples/ is there")
            .map(|entry| entry.expect("a directory entry").path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "graphql"))
            .map(|path| {
                let stem = path.file_stem().expect("a file name");
                stem.to_string_lossy().into_owned()
            })
            .collect();
        files.sort();
        let mut names: Vec<String> = EXAMPLES.iter().map(|(name, _)| name.to_string()).collect();
        names.sort();
        assert_eq!(names, files);
        assert_eq!(
            EXAMPLES[0].0, "product_page",
            "the product page opens first"
        );
    }

    #[test]
    fn settings_cannot_close_their_script_element() {
        static TRICKY: &str = "# </script><script>alert(1)</script>\n{ __typename }";
        let page = html(&Settings {
            tabs: vec![Tab { query: TRICKY }],
            query: Some(TRICKY),
        });
        assert_eq!(page.matches("</script>").count(), 5, "{page}");
        let start = page.find("application/json\">").expect("the data block") + 18;
        let end = start + page[start..].find("</script>").expect("its end");
        let settings: serde_json::Value =
            serde_json::from_str(&page[start..end]).expect("JSON settings");
        assert_eq!(settings["query"], TRICKY);
    }
}
