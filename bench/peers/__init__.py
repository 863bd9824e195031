"""Peer bots and the one driver that measures them against ours and the floor (compare.py)."""
