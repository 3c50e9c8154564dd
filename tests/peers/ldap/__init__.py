"""A real OpenLDAP server for the directory sync tests."""
