//! Evaluator: IR → compiled matchers, run on JSON events.
