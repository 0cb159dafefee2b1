//! ncmd-link (skeleton; being written).
