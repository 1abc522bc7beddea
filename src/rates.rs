//! Where exchange rates come from: a static table from the configuration,
//! or a Violet-style instance's `GET /v1/currencies/latest`, cached for a
//! refresh period and refreshed in the background; when a refresh fails the
//! last good table is kept.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, Instant};

use crate::error::UpstreamError;
use crate::pricing::convert::RateTable;
use crate::pricing::Currency;
use crate::upstream::{CallContext, Instance, Upstreams};

/// Default time between refreshes of upstream rates.
pub(crate) const DEFAULT_REFRESH: Duration = Duration::from_secs(600);

/// The `[rates]` table of the configuration: a static table, or an
/// upstream that publishes rates. [`RatesConfig::resolve`] checks it into a
/// [`RatesSpec`].
#[derive(Clone, Debug, Default, PartialEq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RatesConfig {
    /// The base currency the rates are quoted against (default USD).
    pub base: Option<String>,
    /// Units of each currency per one unit of the base, as decimal strings
    /// (`EUR = "0.92"`), never floats.
    pub table: Option<std::collections::BTreeMap<String, toml::Value>>,
    /// With `table`: when the rates are as of (shown with conversions).
    pub as_of: Option<String>,
    /// The name of a Violet-style instance whose `/v1/currencies/latest` to use.
    pub upstream: Option<String>,
    /// With `upstream`: time between refreshes (default 10m).
    #[serde(with = "humantime_serde")]
    pub refresh: Option<Duration>,
}

impl RatesConfig {
    /// Checks the table; `kind_of` tells the style of a configured
    /// instance by name.
    pub fn resolve(
        &self,
        kind_of: impl Fn(&str) -> Option<crate::model::UpstreamKind>,
    ) -> Result<RatesSpec, crate::error::InvalidSetting> {
        use crate::error::InvalidSetting as Invalid;
        let base = match &self.base {
            None => Currency::parse("USD").expect("USD is an ISO code"),
            Some(code) => Currency::parse(code).map_err(|_| {
                Invalid::new("rates.base", format!("{code:?} is not an ISO 4217 code"))
            })?,
        };
        match (&self.table, &self.upstream) {
            (Some(table), None) => {
                if self.refresh.is_some() {
                    return Err(Invalid::new("rates.refresh", "only with `upstream`"));
                }
                let mut rates = Vec::new();
                for (code, value) in table {
                    let key = format!("rates.table.{code}");
                    let currency = Currency::parse(code)
                        .map_err(|_| Invalid::new(&key, "not an ISO 4217 code"))?;
                    let toml::Value::String(text) = value else {
                        return Err(Invalid::new(
                            &key,
                            format!("write the rate as a decimal string, e.g. {code} = \"0.92\" (floats are not exact)"),
                        ));
                    };
                    let rate = text
                        .parse::<crate::pricing::JsonNumber>()
                        .ok()
                        .and_then(|n| crate::pricing::exact_decimal(&n).ok())
                        .ok_or_else(|| {
                            Invalid::new(&key, format!("{text:?} is not a decimal number"))
                        })?;
                    rates.push((currency, rate));
                }
                let as_of = self
                    .as_of
                    .clone()
                    .unwrap_or_else(|| "configuration".to_owned());
                RateTable::new(base, rates, as_of, "configuration")
                    .map(RatesSpec::Static)
                    .map_err(|problem| Invalid::new("rates.table", problem))
            }
            (None, Some(name)) => {
                if self.as_of.is_some() {
                    return Err(Invalid::new("rates.as_of", "only with `table`"));
                }
                let refresh = self.refresh.unwrap_or(DEFAULT_REFRESH);
                Invalid::positive("rates.refresh", refresh)?;
                match kind_of(name) {
                    Some(crate::model::UpstreamKind::Violet) => Ok(RatesSpec::Upstream {
                        name: name.clone(),
                        base,
                        refresh,
                    }),
                    Some(_) => Err(Invalid::new(
                        "rates.upstream",
                        format!("`{name}` is not a violet upstream (only those publish rates)"),
                    )),
                    None => Err(Invalid::new(
                        "rates.upstream",
                        format!("no upstream named `{name}`"),
                    )),
                }
            }
            (Some(_), Some(_)) => Err(Invalid::new(
                "rates",
                "give either `table` or `upstream`, not both",
            )),
            (None, None) => Err(Invalid::new("rates", "give `table` or `upstream`")),
        }
    }
}

/// The configured source of rates.
#[derive(Clone, Debug, PartialEq)]
pub enum RatesSpec {
    /// No rates: only amounts already in the requested currency can be used.
    None,
    /// A fixed table.
    Static(RateTable),
    /// The rates of an upstream instance that publishes them.
    Upstream {
        /// The instance's name.
        name: String,
        /// The base currency to ask for.
        base: Currency,
        /// Time between refreshes.
        refresh: Duration,
    },
}

impl RatesSpec {
    /// The default: the first Violet-style instance's rates against USD, if
    /// there is one.
    pub fn default_for(upstreams: &Upstreams) -> Self {
        upstreams
            .iter()
            .find(|c| c.kind() == crate::model::UpstreamKind::Violet)
            .map(|c| RatesSpec::of_upstream(c.name()))
            .unwrap_or(RatesSpec::None)
    }

    /// The rates of the instance `name` against USD, refreshed every
    /// [`DEFAULT_REFRESH`].
    pub fn of_upstream(name: &str) -> Self {
        RatesSpec::Upstream {
            name: name.to_owned(),
            base: Currency::parse("USD").expect("USD is an ISO code"),
            refresh: DEFAULT_REFRESH,
        }
    }
}

/// Why no rate table can be given.
#[derive(Clone, Debug, thiserror::Error)]
pub(crate) enum RatesError {
    /// No source of rates is configured.
    #[error("no exchange rates are configured")]
    NotConfigured,
    /// The upstream failed and no earlier table is known.
    #[error("exchange rates could not be loaded from `{upstream}`: {cause}")]
    Upstream {
        /// The instance.
        upstream: Arc<str>,
        /// What went wrong.
        cause: UpstreamError,
    },
}

/// The current exchange rates.
pub(crate) struct ExchangeRates {
    current: RwLock<Option<(Arc<RateTable>, Instant)>>,
    source: Source,
    refresher_started: AtomicBool,
    loading: tokio::sync::Mutex<()>,
    /// Told when a loaded table differs from the current one.
    epochs: Arc<crate::freshness::Epochs>,
}

enum Source {
    None,
    Static,
    Upstream {
        connector: Arc<Instance>,
        base: Currency,
        refresh: Duration,
    },
}

impl ExchangeRates {
    /// Rates from `spec`; an upstream source must be among `upstreams`
    /// (configuration checks that first).
    pub(crate) fn new(
        spec: &RatesSpec,
        upstreams: &Upstreams,
        epochs: Arc<crate::freshness::Epochs>,
    ) -> Arc<Self> {
        let (current, source) = match spec {
            RatesSpec::None => (None, Source::None),
            RatesSpec::Static(table) => (
                Some((Arc::new(table.clone()), Instant::now())),
                Source::Static,
            ),
            RatesSpec::Upstream {
                name,
                base,
                refresh,
            } => match upstreams.get(name) {
                Some(connector) => (
                    None,
                    Source::Upstream {
                        connector: connector.clone(),
                        base: *base,
                        refresh: *refresh,
                    },
                ),
                None => (None, Source::None),
            },
        };
        Arc::new(ExchangeRates {
            current: RwLock::new(current),
            source,
            refresher_started: AtomicBool::new(false),
            loading: tokio::sync::Mutex::new(()),
            epochs,
        })
    }

    /// The current table: loaded on first use, then refreshed in the
    /// background every refresh period.
    pub(crate) async fn table(self: &Arc<Self>) -> Result<Arc<RateTable>, RatesError> {
        if let Some(table) = self.cached() {
            return Ok(table);
        }
        let Source::Upstream { connector, .. } = &self.source else {
            return Err(RatesError::NotConfigured);
        };
        // One load at a time; later callers find its table.
        let _loading = self.loading.lock().await;
        if let Some(table) = self.cached() {
            return Ok(table);
        }
        match self.load().await {
            Ok(table) => {
                self.start_refresher();
                Ok(table)
            }
            Err(cause) => Err(RatesError::Upstream {
                upstream: connector.name().clone(),
                cause,
            }),
        }
    }

    fn cached(&self) -> Option<Arc<RateTable>> {
        self.current
            .read()
            .expect("rates lock poisoned")
            .as_ref()
            .map(|(table, _)| table.clone())
    }

    /// Loads the upstream's table and makes it current. A failure leaves
    /// the current table as it was.
    async fn load(&self) -> Result<Arc<RateTable>, UpstreamError> {
        let Source::Upstream {
            connector, base, ..
        } = &self.source
        else {
            return self
                .cached()
                .ok_or(UpstreamError::BadResponse("no rate source".to_owned()));
        };
        // A background refresh, made for no request and with the
        // instance's own credentials.
        let table = connector
            .exchange_rates(&CallContext::default(), *base)
            .await?
            .ok_or_else(|| UpstreamError::Rejected {
                status: 0,
                detail: format!(
                    "upstream `{}` does not publish exchange rates",
                    connector.name()
                ),
            })?;
        let table = Arc::new(table);
        let previous = self
            .current
            .write()
            .expect("rates lock poisoned")
            .replace((table.clone(), Instant::now()));
        if previous.is_none_or(|(old, _)| *old != *table) {
            // Answers converted with the old rates (or none) are outdated.
            self.epochs.data_changed();
        }
        tracing::info!(upstream = %connector.name(), currencies = table.len(), as_of = table.as_of(), "exchange rates loaded");
        Ok(table)
    }

    /// Refreshes the table every refresh period while the rates are in use;
    /// keeps the last good table when a refresh fails.
    fn start_refresher(self: &Arc<Self>) {
        let Source::Upstream {
            refresh, connector, ..
        } = &self.source
        else {
            return;
        };
        if self.refresher_started.swap(true, Ordering::SeqCst) {
            return;
        }
        let every = *refresh;
        let name = connector.name().clone();
        let rates: Weak<Self> = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let Some(rates) = rates.upgrade() else {
                    return;
                };
                if let Err(err) = rates.load().await {
                    tracing::warn!(upstream = %name, cause = %err, "exchange rate refresh failed; keeping the last good rates");
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(feature = "sim")]
    use crate::sim::Simulators;

    #[cfg(feature = "sim")]
    #[tokio::test]
    async fn rates_come_from_the_violet_instance_and_survive_its_failures() {
        let sims = Simulators::start_demo().await.expect("simulators");
        let upstreams = Upstreams::new(sims.instance_specs(), Duration::from_secs(2), None);
        let spec = RatesSpec::Upstream {
            name: "violet".into(),
            base: Currency::parse("USD").unwrap(),
            refresh: Duration::from_millis(20),
        };
        let rates = ExchangeRates::new(&spec, &upstreams, crate::freshness::Epochs::new());
        let table = rates.table().await.expect("loaded");
        assert_eq!(table.base().code(), "USD");
        assert!(table.rate(Currency::parse("JPY").unwrap()).is_some());
        assert_eq!(sims.violet.control.count("GET /v1/currencies/latest"), 1);
        // Cached: no second call.
        rates.table().await.expect("cached");
        assert_eq!(sims.violet.control.count("GET /v1/currencies/latest"), 1);
        // Refreshes fail: the last good table stays.
        sims.violet.control.inject(
            Some("GET /v1/currencies/latest"),
            crate::sim::fault::Fault::Status(500),
            None,
        );
        while sims.violet.control.count("GET /v1/currencies/latest") < 3 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(rates.table().await.expect("kept").as_of(), table.as_of());
    }

    #[tokio::test]
    async fn without_a_source_there_are_no_rates() {
        let rates = ExchangeRates::new(
            &RatesSpec::None,
            &Upstreams::default(),
            crate::freshness::Epochs::new(),
        );
        assert!(matches!(
            rates.table().await,
            Err(RatesError::NotConfigured)
        ));
    }
}
