"""Catalog adapter: reads the operator-editable catalog/models.yaml, validates it at the edge (pydantic
plus cross-checks such as price coverage) and hands the core the frozen types of ports/catalog.py.
Every problem becomes one ports.catalog.CatalogError naming the file, the model id and the field."""
