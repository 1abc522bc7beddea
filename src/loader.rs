//! Batched by-id lookups: one async-graphql [`DataLoader`] per upstream
//! instance.
//!
//! Every `node`, `offer` and `offers` resolution goes through the loader of
//! the offer's upstream instance. Keys asked for in the same tick (list
//! items, aliases, concurrent requests) are collected into one batch and
//! handed to [`Connector::fetch_offers`], which makes one multi-get call
//! where the style has one (Medusa) and bounded concurrent single calls
//! where it does not (Closient, Violet). Duplicate keys in a batch are
//! fetched once.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};

use crate::error::UpstreamError;
use crate::model::{Offer, OfferKey};
use crate::upstream::{Connector, Upstreams};

/// The answer for one key: the offer, or the upstream failure. A key that
/// is absent from the loader's answer was not found.
pub type Loaded = Result<Offer, UpstreamError>;

/// Loads offers of one upstream instance.
pub struct OfferLoader {
    connector: Arc<dyn Connector>,
}

impl Loader<OfferKey> for OfferLoader {
    type Value = Loaded;
    type Error = Infallible;

    async fn load(&self, keys: &[OfferKey]) -> Result<HashMap<OfferKey, Loaded>, Infallible> {
        tracing::debug!(upstream = %self.connector.name(), keys = keys.len(), "loading offers");
        let answers = self.connector.fetch_offers(keys).await;
        Ok(answers
            .into_iter()
            .filter_map(|(key, lookup)| match lookup {
                Ok(Some(offer)) => Some((key, Ok(offer))),
                Ok(None) => None,
                Err(err) => Some((key, Err(err))),
            })
            .collect())
    }
}

/// The loaders of all upstream instances, by instance name.
pub struct Loaders {
    by_upstream: HashMap<Arc<str>, DataLoader<OfferLoader>>,
}

impl Loaders {
    /// One loader per configured instance.
    pub fn new(upstreams: &Upstreams) -> Self {
        let by_upstream = upstreams
            .iter()
            .map(|connector| {
                let loader = DataLoader::new(
                    OfferLoader {
                        connector: connector.clone(),
                    },
                    tokio::spawn,
                );
                (connector.name().clone(), loader)
            })
            .collect();
        Loaders { by_upstream }
    }

    /// Loads one offer of the instance `upstream`: `Ok(None)` when the
    /// upstream does not have it.
    pub async fn load(
        &self,
        upstream: &str,
        key: OfferKey,
    ) -> Result<Option<Offer>, UpstreamError> {
        let Some(loader) = self.by_upstream.get(upstream) else {
            return Ok(None);
        };
        match loader.load_one(key).await {
            Ok(Some(Ok(offer))) => Ok(Some(offer)),
            Ok(Some(Err(err))) => Err(err),
            Ok(None) => Ok(None),
            Err(never) => match never {},
        }
    }
}
