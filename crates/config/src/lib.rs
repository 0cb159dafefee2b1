//! ncmd-config (skeleton; being written).
