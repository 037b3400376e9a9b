//! The daa neural agent (being written).
