"""A local stand-in for Salesforce: OAuth on a login origin, REST data API on an instance origin.

Start it with ``python -m salesforce_emulator --login-port P --instance-port Q``; see README.md.
"""

__version__ = "1.0.0"
