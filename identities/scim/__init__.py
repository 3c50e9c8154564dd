"""SCIM 2.0 inbound provisioning (RFC 7643 / RFC 7644)."""
