//! The daa web agent (being written).
