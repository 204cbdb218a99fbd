"""Tests of roomwire, one folder per package."""
