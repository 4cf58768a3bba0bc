"""Clients for outside systems. Only these modules know the other side's URLs and error shapes."""
