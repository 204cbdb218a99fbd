"""Tests of the roomwire command."""
