"""Use cases, one module per feature. Each handler takes the services, the turn and the callback
fields, and returns a Reply."""
