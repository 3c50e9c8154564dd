"""The registry as code: registry files (YAML) exported, planned, applied and compared.

schema (the JSON Schema), documents (reading files, with `file:line` problems), export
(the live registry in the format, its fingerprint), plan (what would change, what widens
access), apply (through the registry services, in one transaction), drift (what changed
since the last apply, and who changed it), models (the applications).
"""
