//! ncmd-usb (skeleton; being written).
