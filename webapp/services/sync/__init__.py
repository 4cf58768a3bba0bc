"""The sync engine (S1-S8): one booking's changes written into the organization's Salesforce.

``run`` runs one sync record (lease and attempt), ``state`` is the record's life cycle, ``plan``
the pure decisions and payloads, ``writes`` the Salesforce calls, ``values`` the answers as
Salesforce values, ``errors`` what an error means, ``sweeper`` what needs a worker again, and
``wording`` the sync log's sentences.
"""
