"""The calendar core (K1-K6): connections, the busy store, sync rules, write-back and grace.

Providers plug in as adapters through the calendar port (webapp/integrations/calendar_port.py),
registered once per app (`registry.py`); nothing here knows a provider's protocol.
"""
