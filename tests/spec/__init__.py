"""Tests of roomwire.spec."""
