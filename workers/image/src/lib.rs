//! The daa image agent (being written).
