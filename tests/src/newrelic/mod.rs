//! A stateful New Relic NerdGraph stand-in.
