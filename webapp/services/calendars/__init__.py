"""The calendar core (K1-K6): connections, the busy store, sync rules, write-back and grace.

Providers plug in as adapters (`providers.py`); nothing here knows a provider's protocol.
"""
