//! Processing pipelines: IR → IR rewrites read from pySigma pipeline YAML.
