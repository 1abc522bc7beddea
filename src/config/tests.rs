use std::time::Duration;

use super::*;
use crate::pricing::Currency;
use crate::rates::RatesSpec;
use crate::secret::Secret;
use crate::upstream::closient;
use crate::upstream::{
    BreakerSettings, CacheSettings, Credentials, RetrySettings, DEFAULT_CACHE_STALE_IF_ERROR,
    DEFAULT_DEADLINE,
};

fn env(name: &str) -> Option<String> {
    match name {
        "CLOSIENT_KEY" => Some("csb_secret".into()),
        "MERCUR_PASSWORD" => Some("pw".into()),
        "VIOLET_SECRET" => Some("app-secret".into()),
        "VIOLET_PASSWORD" => Some("vpw".into()),
        _ => None,
    }
}

const FULL: &str = r#"
    listen = "127.0.0.1:8080"

    [upstreams.closient]
    kind = "closient"
    base_url = "https://www.closient.com"
    request_timeout = "3s"
    credentials = { api_key_env = "CLOSIENT_KEY" }

    [upstreams.mercur-eu]
    kind = "medusa"
    base_url = "http://localhost:9000/prefix"
    max_batch_size = 20
    credentials = { username = "admin@example.com", password_env = "MERCUR_PASSWORD" }

    [upstreams.violet]
    kind = "violet"
    base_url = "https://sandbox-api.violet.io"
    [upstreams.violet.credentials]
    app_id = 10001
    app_secret_env = "VIOLET_SECRET"
    username = "dev@example.com"
    password_env = "VIOLET_PASSWORD"
"#;

/// One Closient instance `a`, for tests of instance settings.
const ONE: &str = "[upstreams.a]\nkind = \"closient\"\nbase_url = \"http://x\"\ncredentials = { api_key_env = \"CLOSIENT_KEY\" }\n";

fn error_of(text: &str) -> String {
    Config::from_toml(text, env).unwrap_err().to_string()
}

#[test]
fn loads_a_full_file_in_its_order() {
    let config = Config::from_toml(FULL, env).unwrap();
    assert_eq!(config.listen, "127.0.0.1:8080".parse().unwrap());
    let names: Vec<&str> = config.instances.iter().map(|i| &*i.name).collect();
    assert_eq!(names, ["closient", "mercur-eu", "violet"]);
    let closient = &config.instances[0];
    assert_eq!(closient.settings.request_timeout, Duration::from_secs(3));
    assert_eq!(
        closient.credentials,
        Credentials::Closient(closient::Credentials {
            api_key: Secret::new("csb_secret")
        })
    );
    let medusa = &config.instances[1];
    assert_eq!(medusa.settings.max_batch_size, 20);
    assert_eq!(
        medusa.url("/admin/offers").as_str(),
        "http://localhost:9000/prefix/admin/offers"
    );
    assert_eq!(
        config.instances[2].kind(),
        crate::model::UpstreamKind::Violet
    );
}

#[test]
fn unknown_keys_are_named() {
    let err = error_of(&format!("{ONE}timeout = \"1s\"\n"));
    assert!(
        err.starts_with("upstreams.a: unknown field `timeout`"),
        "{err}"
    );
    let err = error_of("lisen = \"127.0.0.1:1\"");
    assert!(err.contains("unknown field `lisen`"), "{err}");
    let err = error_of(&format!("{ONE}[upstreams.a.retry]\nattempts = 2\n"));
    assert!(
        err.starts_with("upstreams.a: unknown field `attempts`"),
        "{err}"
    );
    // The old flat format says what is wrong.
    let err = error_of("[[upstream]]\nname = \"a\"\n");
    assert!(err.contains("unknown field `upstream`"), "{err}");
}

#[test]
fn a_request_timeout_within_an_upstream_deadline_is_refused() {
    let slow = ONE.replace("[upstreams.a]", "[upstreams.slow]") + "deadline = \"10s\"\n";
    let err = error_of(&format!("{slow}[limits]\nrequest_timeout = \"10s\"\n"));
    assert!(err.starts_with("limits.request_timeout:"), "{err}");
    assert!(err.contains("`slow` (10s)"), "{err}");
    assert!(
        Config::from_toml(&format!("{slow}[limits]\nrequest_timeout = \"11s\"\n"), env).is_ok()
    );
}

#[test]
fn invalid_values_are_named() {
    let err = error_of(&ONE.replace("http://x", "ftp://x"));
    assert!(err.starts_with("upstreams.a.base_url:"), "{err}");
    let err = error_of(&format!("{ONE}max_concurrency = 0\n"));
    assert!(err.starts_with("upstreams.a.max_concurrency:"), "{err}");
    let err = error_of(&format!("{ONE}request_timeout = \"soon\"\n"));
    assert!(err.starts_with("upstreams.a:"), "{err}");
    let err = error_of(&ONE.replace("\"closient\"", "\"shopify\""));
    assert!(err.starts_with("upstreams.a.kind: \"shopify\""), "{err}");
    let err = error_of(&ONE.replace("CLOSIENT_KEY", "MISSING"));
    assert_eq!(
        err,
        "upstreams.a.credentials.api_key_env: the environment variable MISSING is not set"
    );
    let err = error_of(&ONE.replace("api_key_env", "app_id = 3, api_key_env"));
    assert!(
        err.starts_with("upstreams.a.credentials: unknown field `app_id`"),
        "{err}"
    );
    let err = error_of(&ONE.replace("[upstreams.a]", "[upstreams.\"Bad Name\"]"));
    assert!(err.starts_with("upstreams.Bad Name:"), "{err}");
    let err = error_of("[upstreams.a]\nkind = \"medusa\"\nbase_url = \"http://x\"\n");
    assert!(
        err.starts_with("upstreams.a.credentials: give either"),
        "{err}"
    );
}

#[test]
fn cache_settings_have_defaults_and_are_checked() {
    let config = Config::from_toml(FULL, env).unwrap();
    assert_eq!(config.instances[0].settings.cache, CacheSettings::default());
    let config = Config::from_toml(
        &format!("{ONE}[upstreams.a.cache]\nenabled = false\nttl = \"5m\"\nnot_found_ttl = \"1s\"\nmax_bytes = 1024\n"),
        env,
    )
    .unwrap();
    assert_eq!(
        config.instances[0].settings.cache,
        CacheSettings {
            enabled: false,
            ttl: Duration::from_secs(300),
            not_found_ttl: Duration::from_secs(1),
            stale_if_error: DEFAULT_CACHE_STALE_IF_ERROR,
            max_bytes: 1024,
        }
    );
    let err = error_of(&format!("{ONE}cache = {{ max_bytes = 0 }}\n"));
    assert!(err.starts_with("upstreams.a.cache.max_bytes:"), "{err}");
    let err = error_of(&format!("{ONE}cache = {{ ttl = \"0s\" }}\n"));
    assert!(err.starts_with("upstreams.a.cache.ttl:"), "{err}");
}

#[test]
fn resilience_settings_have_defaults_and_are_checked() {
    let config = Config::from_toml(FULL, env).unwrap();
    let settings = &config.instances[0].settings;
    assert_eq!(settings.retry, RetrySettings::default());
    assert_eq!(settings.breaker, BreakerSettings::default());
    assert_eq!(settings.deadline, DEFAULT_DEADLINE);
    let config = Config::from_toml(
        &format!(
            "{ONE}deadline = \"2s\"\nconnect_timeout = \"300ms\"\n\
             [upstreams.a.retry]\nmax_attempts = 1\nbase_backoff = \"5ms\"\nretry_after_cap = \"1s\"\nbudget_percent = 0.5\n\
             [upstreams.a.breaker]\nenabled = false\nfailure_threshold = 2\ncool_down = \"1s\"\n"
        ),
        env,
    )
    .unwrap();
    let settings = &config.instances[0].settings;
    assert_eq!(settings.deadline, Duration::from_secs(2));
    assert_eq!(settings.connect_timeout, Some(Duration::from_millis(300)));
    assert_eq!(settings.retry.max_attempts, 1);
    assert_eq!(settings.retry.base_backoff, Duration::from_millis(5));
    assert_eq!(settings.retry.retry_after_cap, Duration::from_secs(1));
    assert_eq!(settings.retry.budget_percent, 0.5);
    assert_eq!(
        settings.breaker,
        BreakerSettings {
            enabled: false,
            failure_threshold: 2,
            cool_down: Duration::from_secs(1)
        }
    );
    for (bad, key) in [
        ("retry = { max_attempts = 0 }", "retry.max_attempts"),
        ("retry = { budget_percent = 1.5 }", "retry.budget_percent"),
        (
            "breaker = { failure_threshold = 0 }",
            "breaker.failure_threshold",
        ),
        ("deadline = \"0s\"", "deadline"),
    ] {
        let err = error_of(&format!("{ONE}{bad}\n"));
        assert!(err.starts_with(&format!("upstreams.a.{key}:")), "{err}");
    }
}

#[test]
fn rates_come_from_a_table_or_a_violet_upstream() {
    // None given: the first Violet-style instance, chosen when the gateway is built.
    assert_eq!(Config::from_toml(FULL, env).unwrap().options.rates, None);
    let table = Config::from_toml(
        &format!("{FULL}\n[rates]\nbase = \"EUR\"\nas_of = \"2026-11-01\"\ntable = {{ USD = \"1.087\", JPY = \"163.5\" }}\n"),
        env,
    )
    .unwrap();
    let Some(RatesSpec::Static(table)) = table.options.rates else {
        panic!("a static table")
    };
    assert_eq!(table.base().code(), "EUR");
    assert_eq!(
        table.rate(Currency::parse("JPY").unwrap()),
        Some("163.5".parse().unwrap())
    );
    assert_eq!(table.as_of(), "2026-11-01");
    let upstream =
        Config::from_toml(&format!("{FULL}\n[rates]\nupstream = \"violet\"\n"), env).unwrap();
    assert!(
        matches!(&upstream.options.rates, Some(RatesSpec::Upstream { name, .. }) if name == "violet")
    );
    for (rates, key) in [
        (
            "table = { EUR = 0.92 }",
            "rates.table.EUR: write the rate as a decimal string",
        ),
        ("table = { EUR = \"abc\" }", "rates.table.EUR:"),
        ("table = { XYZ = \"1\" }", "rates.table.XYZ:"),
        ("table = { EUR = \"-1\" }", "rates.table:"),
        (
            "upstream = \"closient\"",
            "rates.upstream: `closient` is not a violet upstream",
        ),
        (
            "upstream = \"nope\"",
            "rates.upstream: no upstream named `nope`",
        ),
        ("base = \"XX\"\nupstream = \"violet\"", "rates.base:"),
        ("", "rates: give `table` or `upstream`"),
    ] {
        let err = error_of(&format!("{FULL}\n[rates]\n{rates}\n"));
        assert!(err.starts_with(key), "{rates}: {err}");
    }
}

#[test]
fn limits_have_safe_defaults_and_are_checked() {
    let config = Config::from_toml(FULL, env).unwrap();
    assert_eq!(config.options.limits, Limits::default());
    assert!(!config.options.limits.introspection);
    let config = Config::from_toml(
        &format!("{FULL}\n[limits]\nmax_depth = 8\nmax_ids = 10\nintrospection = true\nrequest_timeout = \"15s\"\n"),
        env,
    )
    .unwrap();
    let limits = &config.options.limits;
    assert_eq!((limits.max_depth, limits.max_ids), (8, 10));
    assert!(limits.introspection);
    assert_eq!(limits.request_timeout, Duration::from_secs(15));
    let err = error_of(&format!("{FULL}\n[limits]\nmax_depth = 0\n"));
    assert!(err.starts_with("limits.max_depth:"), "{err}");
    let err = error_of(&format!("{FULL}\n[limits]\nmax_dept = 3\n"));
    assert!(err.contains("unknown field `max_dept`"), "{err}");
}

#[test]
fn server_and_persisted_query_settings_are_checked() {
    let err = error_of("[server]\ncors_allowed_origins = [\"https://a.example/path\"]\n");
    assert!(err.starts_with("server.cors_allowed_origins[0]:"), "{err}");
    let err = error_of("[server]\nclient_key_hashes = [\"nothex\"]\n");
    assert!(err.contains("not hex"), "{err}");
    let err = error_of("[persisted_queries]\nmode = \"allow_list\"\n");
    assert!(
        err.starts_with("persisted_queries.manifest: required"),
        "{err}"
    );
    let err = error_of("[persisted_queries]\nmode = \"sometimes\"\n");
    assert!(err.contains("unknown variant `sometimes`"), "{err}");
    let config = Config::from_toml("[persisted_queries]\nmode = \"off\"\n", env).unwrap();
    assert_eq!(
        config.options.persisted.mode,
        crate::http::persisted::Mode::Off
    );
}

#[test]
fn environment_variables_override_settings() {
    let vars = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let config = Config::from_toml_with_overrides(
        FULL,
        env,
        &vars(&[
            ("OFFER_GATEWAY__LISTEN", "127.0.0.1:9999"),
            ("OFFER_GATEWAY__LIMITS__MAX_DEPTH", "9"),
            (
                "OFFER_GATEWAY__SERVER__CORS_ALLOWED_ORIGINS",
                "[\"https://a.example\"]",
            ),
            ("OFFER_GATEWAY__UPSTREAMS__MERCUR_EU__REQUEST_TIMEOUT", "7s"),
            ("OFFER_GATEWAY__UPSTREAMS__VIOLET__CACHE__ENABLED", "false"),
            (
                "OFFER_GATEWAY__UPSTREAMS__CLOSIENT__CREDENTIALS__API_KEY_ENV",
                "MERCUR_PASSWORD",
            ),
        ]),
    )
    .unwrap();
    assert_eq!(config.listen, "127.0.0.1:9999".parse().unwrap());
    assert_eq!(config.options.limits.max_depth, 9);
    assert_eq!(
        config.options.server.cors_allowed_origins,
        ["https://a.example"]
    );
    assert_eq!(
        config.instances[1].settings.request_timeout,
        Duration::from_secs(7)
    );
    assert!(!config.instances[2].settings.cache.enabled);
    assert_eq!(
        config.instances[0].credentials,
        Credentials::Closient(closient::Credentials {
            api_key: Secret::new("pw")
        })
    );
    let err = Config::from_toml_with_overrides(
        FULL,
        env,
        &vars(&[("OFFER_GATEWAY__LIMITS__MAX_DEPHT", "9")]),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("unknown field `max_depht`"), "{err}");
    let err = Config::from_toml_with_overrides(
        FULL,
        env,
        &vars(&[("OFFER_GATEWAY__UPSTREAMS__NOPE__CACHE__ENABLED", "false")]),
    )
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("upstreams.nope.kind: required"), "{err}");
    let err = Config::from_toml_with_overrides(FULL, env, &vars(&[("OFFER_GATEWAY__", "1")]))
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("OFFER_GATEWAY__: not a setting"), "{err}");
}

#[test]
fn secrets_can_come_from_files() {
    let path = std::env::temp_dir().join(format!("offer-gateway-secret-{}", std::process::id()));
    std::fs::write(&path, "csb_from_a_file\n").unwrap();
    let text = format!(
        "[upstreams.a]\nkind = \"closient\"\nbase_url = \"http://x\"\ncredentials = {{ api_key_file = {:?} }}\n",
        path.display().to_string()
    );
    let config = Config::from_toml(&text, env).unwrap();
    assert_eq!(
        config.instances[0].credentials,
        Credentials::Closient(closient::Credentials {
            api_key: Secret::new("csb_from_a_file")
        })
    );
    let both = text.replace(
        "api_key_file",
        "api_key_env = \"CLOSIENT_KEY\", api_key_file",
    );
    let err = error_of(&both);
    assert!(
        err.starts_with("upstreams.a.credentials.api_key_file: give either"),
        "{err}"
    );
    std::fs::remove_file(&path).unwrap();
    let err = error_of(&text);
    assert!(
        err.starts_with("upstreams.a.credentials.api_key_file: cannot read"),
        "{err}"
    );
}

#[test]
fn secrets_are_not_in_errors_or_debug() {
    let config = Config::from_toml(FULL, env).unwrap();
    let debug = format!("{config:?}");
    assert!(
        !debug.contains("csb_secret") && !debug.contains("app-secret"),
        "{debug}"
    );
}

/// The configuration `text` as loaded, for comparing two loads (secrets
/// print redacted).
fn loaded(text: &str, env: &dyn Fn(&str) -> Option<String>) -> String {
    match Config::from_toml(text, env) {
        Ok(config) => format!("{config:?}"),
        Err(err) => panic!("{err}\n{text}"),
    }
}

/// Sets `value` at the dotted `path` of a TOML tree, creating tables.
fn set(table: &mut toml::Table, path: &str, value: toml::Value) {
    let parts: Vec<&str> = path.split('.').collect();
    let (last, tables) = parts.split_last().expect("a path");
    let mut table = table;
    for part in tables {
        table = table
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .expect("a table");
    }
    table.insert(last.to_string(), value);
}

#[test]
fn every_default_the_readme_documents_is_the_codes() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    // Every instance at its defaults, and rates from an upstream.
    let base = FULL
        .replace("listen = \"127.0.0.1:8080\"", "")
        .replace("request_timeout = \"3s\"", "")
        .replace("max_batch_size = 20", "")
        + "\n[rates]\nupstream = \"violet\"\n";
    let expected = loaded(&base, &env);
    let mut checked = Vec::new();
    for line in readme.lines() {
        // | `path` | `default` | meaning |
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let (Some(path), Some(default)) = (cells.get(1), cells.get(2)) else {
            continue;
        };
        let (Some(path), Some(default)) = (
            path.strip_prefix('`').and_then(|p| p.strip_suffix('`')),
            default.strip_prefix('`').and_then(|d| d.strip_suffix('`')),
        ) else {
            continue;
        };
        let Ok(mut value) = toml::from_str::<toml::Table>(&format!("v = {default}")) else {
            continue;
        };
        let value = value.remove("v").expect("v");
        if path.contains(' ') || path.contains('*') {
            continue;
        }
        // A key that only some styles take says so first (`violet: ...`):
        // it is set on the instances of those styles only.
        let styles: Option<Vec<&str>> = cells
            .get(3)
            .and_then(|meaning| meaning.split_once(':'))
            .map(|(styles, _)| styles.split(',').map(str::trim).collect::<Vec<_>>())
            .filter(|styles| {
                styles
                    .iter()
                    .all(|s| ["closient", "medusa", "violet"].contains(s))
            });
        let mut table: toml::Table = toml::from_str(&base).expect("TOML");
        for (name, style) in [
            ("closient", "closient"),
            ("mercur-eu", "medusa"),
            ("violet", "violet"),
        ] {
            if styles
                .as_ref()
                .is_some_and(|styles| !styles.contains(&style))
            {
                continue;
            }
            let path = path.replace("<name>", name);
            set(&mut table, &path, value.clone());
        }
        let text = toml::to_string(&table).expect("TOML");
        assert_eq!(
            loaded(&text, &env),
            expected,
            "README's default of `{path}`"
        );
        checked.push(path.to_owned());
    }
    // The table is read: the defaults of every section are among those checked.
    for path in [
        "listen",
        "limits.max_depth",
        "limits.request_timeout",
        "server.compression",
        "persisted_queries.max_bytes",
        "rates.refresh",
        "upstreams.<name>.deadline",
        "upstreams.<name>.cache.ttl",
        "upstreams.<name>.retry.budget_percent",
        "upstreams.<name>.breaker.cool_down",
        "upstreams.<name>.base_currency",
    ] {
        assert!(
            checked.iter().any(|c| c == path),
            "{path} not checked: {checked:?}"
        );
    }
}

#[test]
fn every_default_the_example_file_shows_is_the_codes() {
    let example = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/gateway.toml"
    ))
    .expect("examples/gateway.toml");
    let env = |name: &str| {
        name.ends_with("_KEY") || name.ends_with("_SECRET") || name.ends_with("_PASSWORD")
    };
    let env = move |name: &str| env(name).then(|| "example".to_owned());
    let expected = loaded(&example, &env);
    let mut checked = 0;
    for (i, line) in example.lines().enumerate() {
        // `#key = value  # default...`: uncommented, it changes nothing.
        let Some(setting) = line
            .strip_prefix('#')
            .filter(|rest| rest.starts_with(|c: char| c.is_ascii_lowercase()))
            .filter(|rest| rest.contains("# default"))
        else {
            continue;
        };
        let mut lines: Vec<&str> = example.lines().collect();
        lines[i] = setting;
        assert_eq!(
            loaded(&lines.join("\n"), &env),
            expected,
            "examples/gateway.toml line {}: {setting}",
            i + 1
        );
        checked += 1;
    }
    assert!(checked >= 25, "only {checked} defaults found");
}

#[test]
fn sync_settings_have_defaults_per_style_and_are_checked() {
    let config = Config::from_toml(ONE, env).unwrap();
    let sync = &config.instances[0].settings.sync;
    assert!(sync.enabled);
    assert_eq!(sync.interval, crate::upstream::DEFAULT_SYNC_INTERVAL);
    assert_eq!(sync.budget, None);
    assert!(sync.organizations.is_empty());
    assert_eq!(
        config.options.data_dir.as_deref(),
        Some(std::path::Path::new(DEFAULT_DATA_DIR))
    );

    let text = format!(
        "data_dir = \"/var/lib/gateway\"\n{ONE}[upstreams.a.sync]\ninterval = \"1h\"\npage_size = 50\n\
         organizations = [\"YdduYBYqSi77bPyG7XevUT\"]\n\
         budget = [{{ requests = 100, per = \"1m\" }}, {{ requests = 3000, per = \"1d\" }}]\n"
    );
    let config = Config::from_toml(&text, env).unwrap();
    let sync = &config.instances[0].settings.sync;
    assert_eq!(sync.interval, Duration::from_secs(3600));
    assert_eq!(sync.page_size, Some(50));
    assert_eq!(sync.organizations, ["YdduYBYqSi77bPyG7XevUT"]);
    assert_eq!(
        sync.budget,
        Some(vec![
            crate::upstream::BudgetWindow {
                requests: 100,
                per: Duration::from_secs(60)
            },
            crate::upstream::BudgetWindow {
                requests: 3000,
                per: Duration::from_secs(86_400)
            },
        ])
    );
    assert_eq!(
        config.options.data_dir.as_deref(),
        Some(std::path::Path::new("/var/lib/gateway"))
    );

    for (bad, key) in [
        ("interval = \"0s\"", "upstreams.a.sync.interval"),
        ("page_size = 0", "upstreams.a.sync.page_size"),
        (
            "budget = [{ requests = 0, per = \"1m\" }]",
            "upstreams.a.sync.budget.requests",
        ),
        (
            "budget = [{ requests = 1, per = \"0s\" }]",
            "upstreams.a.sync.budget.per",
        ),
    ] {
        let err = error_of(&format!("{ONE}[upstreams.a.sync]\n{bad}\n"));
        assert!(err.starts_with(key), "{bad}: {err}");
    }
    let err = error_of(&format!("{ONE}[upstreams.a.sync]\nevery = \"1h\"\n"));
    assert!(err.contains("unknown field `every`"), "{err}");
}

#[test]
fn violet_base_currency_is_usd_unless_set_and_must_be_an_iso_code() {
    use crate::upstream::{violet, StyleSettings};
    let in_currency = |code: &str| {
        StyleSettings::Violet(violet::Settings {
            base_currency: Currency::parse(code).unwrap(),
        })
    };
    // Stated explicitly: Violet's own default, never left to the upstream.
    let config = Config::from_toml(FULL, env).unwrap();
    assert_eq!(config.instances[2].settings.style, in_currency("USD"));
    assert_eq!(config.instances[0].settings.style, StyleSettings::None);
    let with = |line: &str| {
        FULL.replace(
            "base_url = \"https://sandbox-api.violet.io\"",
            &format!("base_url = \"https://sandbox-api.violet.io\"\n{line}"),
        )
    };
    let config = Config::from_toml(&with("base_currency = \"eur\""), env).unwrap();
    assert_eq!(config.instances[2].settings.style, in_currency("EUR"));
    let overridden = Config::from_toml_with_overrides(
        FULL,
        env,
        &[(
            "OFFER_GATEWAY__UPSTREAMS__VIOLET__BASE_CURRENCY".into(),
            "JPY".into(),
        )],
    )
    .unwrap();
    assert_eq!(overridden.instances[2].settings.style, in_currency("JPY"));

    for bad in ["\"US\"", "\"ZZZ\"", "\"XAU\"", "\"\"", "\"€\""] {
        let err = error_of(&with(&format!("base_currency = {bad}")));
        assert_eq!(
            err,
            format!(
                "upstreams.violet.base_currency: {bad} is not an ISO 4217 currency code \
                 with a minor unit; write a three-letter code such as \"USD\", \"EUR\" or \"JPY\""
            )
        );
    }
    let err = error_of(&with("base_currency = 978"));
    assert!(
        err.starts_with("upstreams.violet.base_currency: invalid type: integer `978`"),
        "{err}"
    );
    // Only Violet-style instances take it.
    let err = error_of(&FULL.replace(
        "request_timeout = \"3s\"",
        "request_timeout = \"3s\"\nbase_currency = \"USD\"",
    ));
    assert!(
        err.starts_with("upstreams.closient: unknown field `base_currency`"),
        "{err}"
    );
}

#[test]
fn the_demo_allows_local_dev_servers_unless_the_environment_says_otherwise() {
    let demo = Config::demo_with_overrides(&[]).unwrap();
    let server = &demo.options.server;
    assert!(demo.options.limits.introspection);
    assert!(demo.instances.is_empty());
    for origin in [
        "http://localhost:5173",
        "http://127.0.0.1:8080",
        "http://localhost",
    ] {
        assert!(server.allows_origin(origin), "{origin}");
    }
    for origin in [
        "https://localhost:5173",
        "http://localhost:",
        "http://localhost:80x",
        "http://localhost.evil.example",
        "http://127.0.0.10:80",
    ] {
        assert!(!server.allows_origin(origin), "{origin}");
    }
    let replaced = Config::demo_with_overrides(&[(
        "OFFER_GATEWAY__SERVER__CORS_ALLOWED_ORIGINS".into(),
        r#"["https://app.example"]"#.into(),
    )])
    .unwrap();
    assert!(replaced.options.server.allows_origin("https://app.example"));
    assert!(!replaced
        .options
        .server
        .allows_origin("http://localhost:5173"));
}

#[test]
fn an_any_port_origin_names_no_port_and_no_path() {
    for bad in [
        "http://localhost:80:*",
        "http://localhost/app:*",
        "localhost:*",
    ] {
        let err = error_of(&format!("[server]\ncors_allowed_origins = [\"{bad}\"]\n"));
        assert!(
            err.starts_with("server.cors_allowed_origins[0]:"),
            "{bad}: {err}"
        );
    }
}
