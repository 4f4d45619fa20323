"""spfed's own JSON Schemas (Draft 2020-12, YAML-encoded), shipped as package data."""
