//! The daa quality agent (being written).
