//! ncmd-sim (skeleton; being written).
