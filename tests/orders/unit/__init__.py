"""Unit tests of the orders service: domain and handlers with a fake unit of work."""
