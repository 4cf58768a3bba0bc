"""A local stand-in for Google OAuth 2.0 and the Google Calendar API v3 (see README.md)."""
