"""Benchmarks, submissions and evaluation runs of the verification service."""
