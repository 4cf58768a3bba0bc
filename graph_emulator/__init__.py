"""A local stand-in for the Microsoft identity platform (v2.0) and Microsoft Graph (v1.0).

Standalone: imports nothing from ``webapp/`` (nor from ``salesforce_emulator/``). See README.md.
"""
