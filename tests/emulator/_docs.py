# ruff: noqa: E501  (the documented bodies are kept verbatim, long lines included)
"""The request bodies of the API documentation, verbatim, with credentials substituted.

Each constant is the JSON text of a ``curl -d`` payload or "Request Body Example" from
``api-docs/``. The only edit: the documents show e-mail addresses as the page-scraper
artefact ``[email protected]``; they are replaced by a real address.
"""

from __future__ import annotations

import json
from typing import Any

from zyntro_async.testing import EmulatorCredentials

DOC_CONTACT_ID = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
DOC_ATT_ID = "d4e5f6a7-b8c9-0123-defg-456789012345"
DOC_EMAIL = "jane.smith@acme.com"

# 00-overview.txt, "Example: Fetching a Contact"
OVERVIEW_FETCH_CONTACT = """{
"api_key": "UYUJH-XXXXXXXXXXXX-XXXXXXXXXXXX-XXXXX",
"developer_secret": "zdk_your_developer_secret",
"org_id": "42cc1aca-3aa5-4339-98d2-480b5b89937b",
"brand_id": "1",
"member_id": "f2470c7f-60b1-4491-b117-8ba0e3e2a53b",
"contact_id": "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
}"""

# crm-addContactsFull.txt, "Request Body Example"
CONTACTS_EXAMPLE = """{
"mode": "upsert",
"entity": {
"name": "Acme Corp",
"label": "Company",
"status": "Active",
"website": "https://acme.com"
},
"org_id": "YOUR_ORG_ID",
"api_key": "YOUR_API_KEY",
"contact": {
"tags": [
"prospect",
"enterprise"
],
"source": "API Import",
"status": "Active",
"lastName": "Smith",
"firstName": "Jane",
"roleLabel": "Decision Maker",
"customFields": {
"industry": "Technology",
"company_size": "50-200"
},
"primaryEmail": "[email protected]",
"primaryPhone": "+1-555-0123"
},
"lookup_by": "email",
"member_id": "YOUR_MEMBER_ID",
"developer_secret": "YOUR_DEVELOPER_SECRET"
}"""

# crm-addContactsFull.txt, "Code Samples"
CONTACTS_CURL = """{
"api_key": "YOUR_API_KEY",
"developer_secret": "YOUR_DEVELOPER_SECRET",
"org_id": "YOUR_ORG_ID",
"member_id": "YOUR_MEMBER_ID",
"mode": "upsert",
"contact": {
"firstName": "Jane",
"lastName": "Smith",
"primaryEmail": "[email protected]",
"source": "API Import",
"status": "Active"
},
"entity": {
"name": "Acme Corp",
"status": "Active"
}
}"""

# crm-addNotestoContact.txt, "Request Body Example"
NOTES_EXAMPLE = """{
"note": "Had a great demo call. Interested in the enterprise plan. Follow up next week.",
"org_id": "YOUR_ORG_ID",
"api_key": "YOUR_API_KEY",
"member_id": "YOUR_MEMBER_ID",
"contact_id": "a1b2c3d4-e5f6-7890-abcd-ef1234567890",
"note_editable": 0,
"note_visibility": 1,
"developer_secret": "YOUR_DEVELOPER_SECRET"
}"""

# crm-addNotestoContact.txt, "Code Samples"
NOTES_CURL = """{
"api_key": "YOUR_API_KEY",
"developer_secret": "YOUR_DEVELOPER_SECRET",
"org_id": "YOUR_ORG_ID",
"member_id": "YOUR_MEMBER_ID",
"contact_id": "a1b2c3d4-e5f6-7890-abcd-ef1234567890",
"note": "Had a great demo call. Interested in the enterprise plan.",
"note_visibility": 1
}"""

# crm-manageAttachments.txt, "Code Samples" (three of them)
ATTACHMENT_LINK_CURL = """{
    "api_key": "YOUR_API_KEY",
    "developer_secret": "YOUR_DEVELOPER_SECRET",
    "org_id": "YOUR_ORG_ID",
    "member_id": "YOUR_MEMBER_ID",
    "action": "insert",
    "contact_id": "a1b2c3d4-e5f6-7890-abcd-ef1234567890",
    "att_type": "link",
    "att_name": "Proposal Document",
    "att_content": { "link_url": "https://docs.google.com/d/abc123" },
    "att_context": "Enterprise pricing proposal sent 2026-04-01"
  }"""

# The documented file_data ("JVBERi0xLjQKMSAwIG9iago8PC...") is elided with "...", which
# is not base64: the emulator must reject it verbatim (see test_errors).
ATTACHMENT_FILE_CURL = """{
    "api_key": "YOUR_API_KEY",
    "developer_secret": "YOUR_DEVELOPER_SECRET",
    "org_id": "YOUR_ORG_ID",
    "member_id": "YOUR_MEMBER_ID",
    "action": "insert",
    "contact_id": "a1b2c3d4-e5f6-7890-abcd-ef1234567890",
    "att_type": "file",
    "att_name": "signed-contract.pdf",
    "file_data": "JVBERi0xLjQKMSAwIG9iago8PC...",
    "file_type": "application/pdf"
  }"""

ATTACHMENT_DELETE_CURL = """{
    "api_key": "YOUR_API_KEY",
    "developer_secret": "YOUR_DEVELOPER_SECRET",
    "org_id": "YOUR_ORG_ID",
    "member_id": "YOUR_MEMBER_ID",
    "action": "delete",
    "att_id": "d4e5f6a7-b8c9-0123-defg-456789012345"
  }"""

# crm-addCommsHistory.txt, "Request Body Example"
COMMS_EXAMPLE = """{
    "org_id": "YOUR_ORG_ID",
    "api_key": "YOUR_API_KEY",
    "member_id": "YOUR_MEMBER_ID",
    "comms_data": "Sent a follow-up email about the enterprise pricing proposal. Contact requested a revised quote by Friday.",
    "comms_next": "Send revised quote by 2026-04-04",
    "comms_type": "email",
    "contact_id": "a1b2c3d4-e5f6-7890-abcd-ef1234567890",
    "comms_source": "Gmail",
    "comms_sentiment": "positive",
    "developer_secret": "YOUR_DEVELOPER_SECRET"
}"""

# crm-addCommsHistory.txt, "Code Samples"
COMMS_CURL = """{
    "api_key": "YOUR_API_KEY",
    "developer_secret": "YOUR_DEVELOPER_SECRET",
    "org_id": "YOUR_ORG_ID",
    "member_id": "YOUR_MEMBER_ID",
    "contact_id": "a1b2c3d4-e5f6-7890-abcd-ef1234567890",
    "comms_type": "call",
    "comms_data": "15-minute discovery call. Discussed pain points with current CRM.",
    "comms_source": "Phone",
    "comms_sentiment": "positive"
  }"""


def doc_body(text: str, creds: EmulatorCredentials) -> dict[str, Any]:
    """Substitute the demo credentials into a documented body and decode it."""
    replacements = {
        "YOUR_API_KEY": creds.api_key,
        "YOUR_DEVELOPER_SECRET": creds.developer_secret,
        "YOUR_ORG_ID": creds.org_id,
        "YOUR_MEMBER_ID": creds.member_id,
        "UYUJH-XXXXXXXXXXXX-XXXXXXXXXXXX-XXXXX": creds.api_key,
        "zdk_your_developer_secret": creds.developer_secret,
        "42cc1aca-3aa5-4339-98d2-480b5b89937b": creds.org_id,
        "f2470c7f-60b1-4491-b117-8ba0e3e2a53b": creds.member_id,
        "[email protected]": DOC_EMAIL,
    }
    for placeholder, value in replacements.items():
        text = text.replace(placeholder, value)
    body: dict[str, Any] = json.loads(text)
    return body
