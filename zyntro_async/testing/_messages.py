"""Every message the emulator answers with, documented or its own, in one place.

The five API pages word some rules (each endpoint's error table); :data:`WORDING`
holds the per-page wording of the rules all endpoints share. For everything the pages
leave unworded, the emulator answers with the messages of the second half of this
module. Those are part of its contract: the SDK maps each to an error code, and README
lists them under "Messages only the emulator sends". Change them only on purpose.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

__all__ = [
    "ADD_COMMS",
    "ADD_CONTACTS",
    "ADD_NOTES",
    "EMULATOR_MESSAGES",
    "ENDPOINTS",
    "FETCH_CONTACT",
    "MANAGE_ATTACHMENTS",
    "WORDING",
    "Rejected",
    "Wording",
]

ADD_CONTACTS = "crm/addContactsFull"
FETCH_CONTACT = "crm/fetchContact"
ADD_NOTES = "crm/addNotestoContact"
MANAGE_ATTACHMENTS = "crm/manageAttachments"
ADD_COMMS = "crm/addCommsHistory"
ENDPOINTS = (ADD_CONTACTS, FETCH_CONTACT, ADD_NOTES, MANAGE_ATTACHMENTS, ADD_COMMS)


class Rejected(Exception):
    """A request the API answers with an error envelope.

    Args:
        messages: The messages of the envelope's ``data`` list.
    """

    def __init__(self, *messages: str) -> None:
        super().__init__(*messages)
        self.messages = messages


# ----------------------------------------------------------------- documented


@attrs.frozen
class Wording:
    """One page's text for the rules every endpoint shares."""

    missing_api_key: str
    invalid_api_key: str
    missing_org: str
    missing_member: str


WORDING: Mapping[str, Wording] = {
    ADD_CONTACTS: Wording(
        "API key is required", "Invalid API key", "Missing org ID", "Missing member ID"
    ),
    FETCH_CONTACT: Wording(
        "Missing service instance", "Invalid API Key", "Missing org ID", "Missing member ID"
    ),
    ADD_NOTES: Wording(
        "Missing service instance", "Invalid API Key", "Missing org ID", "Missing member ID"
    ),
    MANAGE_ATTACHMENTS: Wording(
        "API key is required", "Invalid API key", "Missing org ID", "Missing member ID"
    ),
    ADD_COMMS: Wording(
        "API key is required", "Invalid API key", "org_id is required", "member_id is required"
    ),
}
"""Per endpoint, its page's wording of the shared rules (the pages differ)."""

USER_NOT_ACTIVE = "User is not active"
MISSING_DEVELOPER_SECRET = "Missing developer_secret"  # noqa: S105 (a message)
INVALID_DEVELOPER_SECRET = "Invalid developer_secret"  # noqa: S105 (a message)
IP_NOT_WHITELISTED = "IP address not whitelisted"
MEMBER_NOT_FOUND = "Member not found in this organization"
MISSING_BRAND = "Missing brand ID"
MISSING_CONTACT_ID = "Missing contact ID"
CONTACT_DOES_NOT_EXIST = "Contact does not exist"
CONTACT_NOT_IN_ORG = "Contact not found in this organization"
CONTACT_DATA_REQUIRED = "contact data is required"
VALIDATION_ERRORS = "Contact validation errors: "
CUSTOM_FIELD_ERRORS = "Contact custom field errors: "
NOT_FOUND_FOR_UPDATE = "Contact not found for update"
MISSING_NOTE = "Missing note"
NOTE_WRONG_ORG = (
    "You are trying to add a note to a contact that does not belong to your organization"
)
NOT_OWNER = "The API only supports notes being added by the member that owns the contact."
INVALID_ACTION = "action must be one of: insert, update, delete"
INVALID_ATT_TYPE = "att_type must be 'link' or 'file'"
INVALID_URL = "Invalid URL format in link_url"
INVALID_BASE64 = "Invalid base64 file data"
UNSUPPORTED_FILE = "Unsupported file type: {file_type}"
STORAGE_NOT_CONFIGURED = "Storage not configured for this account"
ATTACHMENT_NOT_FOUND = "Attachment not found"
COMMS_REQUIRED = "{field} is required"
INVALID_COMMS_TYPE = "comms_type must be one of: email, sms, call, message"

# ------------------------------------------------------------- emulator-only
# The pages leave these rules unworded (or the rule unstated): the emulator's own
# wording. Templates take the named fields. Stable: the SDK's error mapping keys on them.

UNKNOWN_ENDPOINT = "Unknown endpoint: {endpoint}"  # HTTP 404
METHOD_NOT_ALLOWED = "Method {method} not allowed: use POST"  # HTTP 405
NOT_A_JSON_OBJECT = "Request body must be a JSON object"  # HTTP 400
INTERNAL_ERROR = "Emulator internal error: {error}"  # HTTP 500, a bug in the emulator
TOO_MANY_REQUESTS = "Too many requests"  # HTTP 429, a rate limit or the RateLimited fault
NO_ORG_ACCESS = "API key does not have access to this organization"
BRAND_NOT_IN_ORG = "brand_id {brand_id} does not belong to this organization"
INVALID_MODE = "mode must be one of: insert, update, upsert"
INVALID_LOOKUP = "lookup_by must be one of: email, phone, contact_id"
SKIP_ENTITY_NOT_BOOLEAN = "skip_entity must be a boolean"
ENTITY_NOT_OBJECT = "entity must be an object"
CONTACT_EXISTS = "Contact already exists"  # mode "insert" and the lookup matched
MISSING_REQUIRED_FIELDS = "Missing required contact fields: {fields}"  # creating
NOTE_NOT_FOUND = "Note not found"  # note_id given, no such note on the contact
MISSING_ATT_ID = "Missing att_id"
MISSING_ATT_NAME = "Missing att_name"  # a link needs a name
MISSING_LINK_URL = "Missing att_content.link_url"
MISSING_FILE_DATA = "Missing file_data"
MISSING_FILE_TYPE = "Missing file_type"
LINK_URL_ON_FILE = "link_url can only be changed on link attachments"
INVALID_COMMS_DATA = "comms_data must be a string or a JSON object"
INVALID_COMMS_STATUS = "comms_status must be one of: pending, processed"
NOT_A_STRING = "{field} must be a string"  # note, note_id, att_name, att_context, comms_*
NOT_0_OR_1 = "{field} must be 0 or 1"  # note_visibility, note_editable
TOO_LONG = "{field} must be at most {limit} characters"  # att_name, comms_source
# Inside "Contact validation errors: ..." (VALIDATION_ERROR), joined with "; ":
FIELD_NOT_A_STRING = NOT_A_STRING  # contact fields, entity.<field>
FIELD_TOO_LONG = "{field} exceeds the maximum length of {limit} characters"
INVALID_EMAIL = "primaryEmail is not a valid email address: {value!r}"
INVALID_PHONE = "primaryPhone is not a valid phone number: {value!r}"
TAGS_NOT_STRINGS = "tags must be a list of strings"
TAGS_TOO_LONG = "tags exceed the maximum length of {limit} characters"
CUSTOM_FIELDS_NOT_OBJECT = "customFields must be an object"
# Inside "Contact custom field errors: ..." (CUSTOM_FIELD_ERROR), joined with "; ":
UNKNOWN_CUSTOM_FIELD = "unknown custom field '{field}' (defined fields: {defined})"
NOT_AN_OPTION = "{field} must be one of: {options} (got {value})"
CUSTOM_VALUE_TYPE = "{field} must be a string, number or boolean"

EMULATOR_MESSAGES: tuple[str, ...] = (
    UNKNOWN_ENDPOINT,
    METHOD_NOT_ALLOWED,
    NOT_A_JSON_OBJECT,
    INTERNAL_ERROR,
    TOO_MANY_REQUESTS,
    NO_ORG_ACCESS,
    BRAND_NOT_IN_ORG,
    INVALID_MODE,
    INVALID_LOOKUP,
    SKIP_ENTITY_NOT_BOOLEAN,
    ENTITY_NOT_OBJECT,
    CONTACT_EXISTS,
    MISSING_REQUIRED_FIELDS,
    NOTE_NOT_FOUND,
    MISSING_ATT_ID,
    MISSING_ATT_NAME,
    MISSING_LINK_URL,
    MISSING_FILE_DATA,
    MISSING_FILE_TYPE,
    LINK_URL_ON_FILE,
    INVALID_COMMS_DATA,
    INVALID_COMMS_STATUS,
    NOT_A_STRING,
    NOT_0_OR_1,
    TOO_LONG,
    FIELD_TOO_LONG,
    INVALID_EMAIL,
    INVALID_PHONE,
    TAGS_NOT_STRINGS,
    TAGS_TOO_LONG,
    CUSTOM_FIELDS_NOT_OBJECT,
    UNKNOWN_CUSTOM_FIELD,
    NOT_AN_OPTION,
    CUSTOM_VALUE_TYPE,
)
"""The emulator's own messages (templates), for the SDK's error mapping and README."""
