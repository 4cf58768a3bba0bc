"""The admin side of Salesforce: the connection and its keys, the describe cache, 事前確認, a page's
settings and the field mapping (C1-C9, P1-P5, M1-M5)."""
