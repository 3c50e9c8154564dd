"""The controls the alignment report covers, with their published identifiers and sources.

Identifiers and titles are quoted from the publications listed in SOURCES (checked
against the published text; where secondary sources word a title differently, the
note says so).
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Source:
    key: str
    citation: str
    url: str


@dataclass(frozen=True)
class Control:
    key: str
    framework: str
    identifier: str
    title: str
    source: str
    ancestor: str = ""
    note: str = ""


SOURCES = {
    "csf2": Source(
        "csf2",
        "NIST, The NIST Cybersecurity Framework (CSF) 2.0, NIST CSWP 29, 26 February 2024",
        "https://doi.org/10.6028/NIST.CSWP.29",
    ),
    "csf11": Source(
        "csf11",
        "NIST, Framework for Improving Critical Infrastructure Cybersecurity, Version 1.1, 16 April 2018",
        "https://doi.org/10.6028/NIST.CSWP.04162018",
    ),
    "owasp-asi": Source(
        "owasp-asi",
        "OWASP GenAI Security Project, OWASP Top 10 for Agentic Applications for 2026, December 2025",
        "https://genai.owasp.org/resource/owasp-top-10-for-agentic-applications-for-2026/",
    ),
    "maestro": Source(
        "maestro",
        "Ken Huang, Agentic AI Threat Modeling Framework: MAESTRO, Cloud Security Alliance, 6 February 2025",
        "https://cloudsecurityalliance.org/blog/2025/02/06/agentic-ai-threat-modeling-framework-maestro",
    ),
}

CONTROLS = [
    Control(
        "pr-aa-05",
        "NIST CSF 2.0",
        "PR.AA-05",
        "Access permissions, entitlements, and authorizations are defined in a policy, managed, enforced, and "
        "reviewed, and incorporate the principles of least privilege and separation of duties",
        "csf2",
        ancestor="CSF 1.1 PR.AC-4: Access permissions and authorizations are managed, incorporating the principles "
        "of least privilege and separation of duties",
    ),
    Control(
        "pr-aa-01",
        "NIST CSF 2.0",
        "PR.AA-01",
        "Identities and credentials for authorized users, services, and hardware are managed by the organization",
        "csf2",
        ancestor="CSF 1.1 PR.AC-1: Identities and credentials are issued, managed, verified, revoked, and audited "
        "for authorized devices, users and processes",
    ),
    Control(
        "asi03",
        "OWASP Top 10 for Agentic Applications 2026",
        "ASI03",
        "Identity and Privilege Abuse",
        "owasp-asi",
        note="Some secondary sources write “Agent Identity & Privilege Abuse”; the identifier is the same.",
    ),
    Control(
        "asi02",
        "OWASP Top 10 for Agentic Applications 2026",
        "ASI02",
        "Tool Misuse and Exploitation",
        "owasp-asi",
    ),
    Control(
        "maestro-identity",
        "CSA MAESTRO",
        "Layer 7 (Agent Ecosystem)",
        "Agent Identity Attack, Agent Impersonation and Agent Tool Misuse",
        "maestro",
        note="MAESTRO names threats per layer rather than numbering them; these three are its agent identity "
        "and permission threats.",
    ),
]
