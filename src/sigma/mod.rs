//! Sigma front end: Sigma YAML (rules, correlations, filters, multi-document collections) → IR.
