"""The campaign's rules: phases and calendar, limits, roles, flood control, money and phones, the
services that apply them and the results. No messenger and no database driver here: the services
reach storage only through its interface (storage/interface.py), and what they return is the
vocabulary of domain/ (import-linter checks both, see pyproject.toml)."""
