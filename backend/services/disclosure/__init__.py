"""Disclosure during enforcement (亮证): each concept of the officer credential in its own module."""
