//! Medusa wire types, exactly as the API sends them. (Placeholder: being written.)
