//! ncmd-profile (skeleton; being written).
