//! Violet wire types to the domain model. (Placeholder: being written.)
