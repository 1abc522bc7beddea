//! The Closient connector. (Placeholder: being written.)

use std::sync::Arc;

use async_trait::async_trait;

use crate::error::UpstreamError;
use crate::model::{OfferKey, OfferKind, UpstreamKind};
use crate::upstream::{Connector, HttpClient, InstanceSpec, ListScope, Lookup, OfferPage};

/// Talks to one Closient instance.
pub struct ClosientConnector {
    spec: InstanceSpec,
    #[allow(dead_code)]
    http: HttpClient,
}

impl ClosientConnector {
    /// A connector for `spec` over the shared client.
    pub fn new(spec: InstanceSpec, http: HttpClient) -> Self {
        ClosientConnector { spec, http }
    }
}

#[async_trait]
impl Connector for ClosientConnector {
    fn name(&self) -> &Arc<str> {
        &self.spec.name
    }
    fn kind(&self) -> UpstreamKind {
        UpstreamKind::Closient
    }
    fn offer_kinds(&self) -> &'static [OfferKind] {
        &[OfferKind::Marketplace]
    }
    fn canonical_id(&self, _kind: OfferKind, raw: &str) -> Result<String, String> {
        Ok(raw.to_owned())
    }
    async fn fetch_offers(&self, _keys: &[OfferKey]) -> Vec<(OfferKey, Lookup)> {
        todo!("closient connector")
    }
    async fn list_offers(
        &self,
        _scope: &ListScope,
        _offset: u64,
        _limit: u32,
    ) -> Result<OfferPage, UpstreamError> {
        todo!("closient connector")
    }
    fn max_page_size(&self) -> u32 {
        100
    }
}
