"""Registry changes that widen access: proposed by one person, applied when another approves.

`models` holds `RegistryChange`; `proposals` classifies a change as widening or narrowing
and records the proposal; `decisions` approves (and applies), denies or withdraws one;
`selectors` answers "which changes may this person decide".
"""
