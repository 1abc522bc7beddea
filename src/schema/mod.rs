//! The GraphQL schema: thin views over [`crate::model`], and the root query.

pub mod money;
