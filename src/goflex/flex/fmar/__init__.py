"""Flexibility Market (FMAR): participants, orders, matching, contracts and settlement."""
