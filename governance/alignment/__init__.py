"""The framework alignment report: for each control, the evidence Mandate holds and what
is missing, computed from the data of one workflow or of the whole portfolio."""
