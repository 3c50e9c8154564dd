"""ServiceNow Table API fake, after https://www.servicenow.com/docs/r/api-reference/rest-apis/c_TableAPI.html"""

import re

from .base import Fake, _basic

# The Table API's documented query parameters; anything else is refused, as a typo would be.
SYSPARMS = {
    "sysparm_query",
    "sysparm_fields",
    "sysparm_limit",
    "sysparm_offset",
    "sysparm_display_value",
    "sysparm_exclude_reference_link",
    "sysparm_view",
    "sysparm_no_count",
    "sysparm_query_category",
    "sysparm_query_no_domain",
    "sysparm_suppress_pagination_header",
    "sysparm_input_display_value",
    "sysparm_suppress_auto_sys_field",
}


class ServiceNowFake(Fake):
    base_url = "https://acme.service-now.test"
    credential = "mandate.integration:snow-password"

    def __init__(self):
        super().__init__()
        self.tables = {"incident": {}, "sys_audit": {}, "sys_user": {}}
        self.notes = {}

    def authorised(self, headers):
        return _basic(headers) == self.credential

    def server_error(self):
        return {"error": {"message": "Internal server error", "detail": ""}, "status": "failure"}

    def unauthorised(self):
        return {
            "error": {"message": "User Not Authenticated", "detail": "Required to provide Auth information"},
            "status": "failure",
        }

    def add_person(self, person):
        sys_id = f"u{next(self.ids):031d}"
        self.tables["sys_user"][sys_id] = {
            "sys_id": sys_id,
            "user_name": person["user_name"],
            "email": person["email"],
            "name": person["name"],
        }

    def act(self, sys_id, value, person, field="approval"):
        """A person sets the approval field in the ServiceNow UI; the platform audits it."""
        record = self.tables["incident"][sys_id]
        old, record[field] = record.get(field, ""), value
        audit_id = f"a{next(self.ids):031d}"
        self.tables["sys_audit"][audit_id] = {
            "sys_id": audit_id,
            "tablename": "incident",
            "documentkey": sys_id,
            "fieldname": field,
            "oldvalue": old,
            "newvalue": value,
            "user": person["user_name"],
            "sys_created_on": f"2026-01-01 10:{len(self.tables['sys_audit']):02d}:00",
        }

    @staticmethod
    def _matches(record, query):
        for clause in filter(None, query.split("^")):
            if clause.startswith("ORDERBY"):
                continue
            field, _, value = clause.partition("=")
            if str(record.get(field, "")) != value:
                return False
        return True

    def _select(self, record, fields):
        return {k: v for k, v in record.items() if not fields or k in fields.split(",")}

    def handle(self, method, path, query, body):
        unknown = set(query) - SYSPARMS
        if unknown:
            return 400, {
                "error": {"message": f"Invalid parameter {sorted(unknown)[0]}", "detail": ""},
                "status": "failure",
            }
        match = re.match(r"^/api/now/table/([a-z_]+)(?:/([0-9a-z]+))?$", path)
        if not match or match.group(1) not in self.tables:
            return 400, {"error": {"message": "Invalid table", "detail": ""}, "status": "failure"}
        table, sys_id = self.tables[match.group(1)], match.group(2)
        fields = query.get("sysparm_fields", "")
        if sys_id is None and method == "GET":
            rows = [r for r in table.values() if self._matches(r, query.get("sysparm_query", ""))]
            if "ORDERBYDESC" in query.get("sysparm_query", ""):
                rows.reverse()
            limit = int(query.get("sysparm_limit", 10000))
            return 200, {"result": [self._select(r, fields) for r in rows[:limit]]}
        if sys_id is None and method == "POST":
            new_id = f"{next(self.ids):032x}"
            table[new_id] = {
                **{k: str(v) for k, v in body.items()},
                "sys_id": new_id,
                "number": f"INC{len(table):07d}",
                "state": "1",
                "active": "true",
            }
            self.notes[new_id] = []
            return 201, {"result": table[new_id]}
        if sys_id not in table:
            return 404, {"error": {"message": "No Record found", "detail": "Record doesn't exist"}, "status": "failure"}
        record = table[sys_id]
        if method == "GET":
            return 200, {"result": self._select(record, fields)}
        if method == "PATCH":
            for key, value in body.items():
                if key == "work_notes":
                    self.notes[sys_id].append(value)
                else:
                    record[key] = str(value)
            if record.get("state") in ("6", "7"):
                record["active"] = "false"
            return 200, {"result": record}
        return 405, {"error": {"message": "Method not supported", "detail": ""}, "status": "failure"}

    def tickets(self):
        return list(self.tables["incident"])

    def comments(self, key):
        return list(self.notes[key])

    def status(self, key):
        record = self.tables["incident"][key]
        return "closed" if record["active"] == "false" else record.get("approval", "")

    def text(self, key):
        record = self.tables["incident"][key]
        return record["short_description"] + "\n" + record["description"]
