"""Ports: Protocols and the frozen dataclasses that cross the boundary. Standard library only."""
