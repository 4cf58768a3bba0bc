"""A local stand-in for Zoom's user-level OAuth and Meetings API v2 (see README.md)."""
