"""Use cases, one module per feature. Each handler takes the services, the turn and, for a pressed button,
its typed payload (core/callback_data.py), and returns a Reply. The middlewares declared for its route
(core/routes.py, core/middleware.py) have already loaded the user, refused a banned one and, on an admin
route, anyone who is not an admin."""
