"""One module per API area; each method builds a request model, sends it, structures the result."""

from __future__ import annotations

from zyntro_async.resources.attachments import Attachments
from zyntro_async.resources.comms import Comms
from zyntro_async.resources.contacts import Contacts
from zyntro_async.resources.notes import Notes

__all__ = ["Attachments", "Comms", "Contacts", "Notes"]
