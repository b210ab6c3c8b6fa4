"""The application: config, campaign rules, services, assembly of the PTB applications."""
