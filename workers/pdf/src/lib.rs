//! The daa pdf agent (being written).
