//! The daa structured agent (being written).
