"""The demo organisation's people: data only.

`load_demo` creates these accounts; in demo mode the sign-in page lists them, so this
module must stay free of demo code (request handling imports it).
"""

DEMO_PASSWORD = "mandate-demo"

PEOPLE = [
    # username, display name, role, superuser
    ("olivia", "Olivia Owens", "Control owner (support and engineering workflows)", False),
    ("fiona", "Fiona Fernandes", "Control owner (finance and incident workflows)", False),
    ("bruno", "Bruno Becker", "Backup owner of every workflow", False),
    ("ada", "Ada Auditor", "Security auditor (reads everything, changes nothing)", False),
    ("rachel", "Rachel Reyes", "Requester (engineer asking for access)", False),
    ("admin", "Mandate Admin", "Administrator", True),
]
