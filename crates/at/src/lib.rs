//! ncmd-at (skeleton; being written).
