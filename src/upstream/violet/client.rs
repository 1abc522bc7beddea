//! The Violet connector. (Placeholder: being written.)

use std::sync::Arc;

use async_trait::async_trait;

use crate::error::UpstreamError;
use crate::model::{OfferKey, OfferKind, UpstreamKind};
use crate::upstream::{Connector, HttpClient, InstanceSpec, ListScope, Lookup, OfferPage};

/// Talks to one Violet instance.
pub struct VioletConnector {
    spec: InstanceSpec,
    #[allow(dead_code)]
    http: HttpClient,
}

impl VioletConnector {
    /// A connector for `spec` over the shared client.
    pub fn new(spec: InstanceSpec, http: HttpClient) -> Self {
        VioletConnector { spec, http }
    }
}

#[async_trait]
impl Connector for VioletConnector {
    fn name(&self) -> &Arc<str> {
        &self.spec.name
    }
    fn kind(&self) -> UpstreamKind {
        UpstreamKind::Violet
    }
    fn offer_kinds(&self) -> &'static [OfferKind] {
        &[OfferKind::Marketplace]
    }
    fn canonical_id(&self, _kind: OfferKind, raw: &str) -> Result<String, String> {
        Ok(raw.to_owned())
    }
    async fn fetch_offers(&self, _keys: &[OfferKey]) -> Vec<(OfferKey, Lookup)> {
        todo!("violet connector")
    }
    async fn list_offers(
        &self,
        _scope: &ListScope,
        _offset: u64,
        _limit: u32,
    ) -> Result<OfferPage, UpstreamError> {
        todo!("violet connector")
    }
    fn max_page_size(&self) -> u32 {
        100
    }
}
