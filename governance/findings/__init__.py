"""Findings: governance problems recomputed from data, each with a link to fix it."""
