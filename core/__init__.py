"""The pure domain core: menus, drafts, pricing, balances, the job lifecycle. Imports ports/ and the
standard library only (tests/test_architecture.py)."""
