//! zoo.cfg parsing.
