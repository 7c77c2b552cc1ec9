"""Refuse oversized uploads before they fill the disk.

The declared Content-Length is checked before anything is read; the stream is
then counted as it arrives, so a client that lies (or sends chunks) is cut off
at the limit. The refusal is left on the request for the view to answer with
a clear 400.
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import QueryDict
from django.utils.datastructures import MultiValueDict

# Room for the form fields and multipart boundaries around the file itself.
FORM_OVERHEAD = 64 * 1024


def limit_text() -> str:
    limit = settings.MAX_UPLOAD_BYTES
    size = f"{limit / 1024 / 1024:.1f} MiB" if limit >= 1024 * 1024 else f"{limit} bytes"
    return f"The upload is larger than the limit of {size} (MAX_UPLOAD_BYTES); submit a smaller file."


class SizeCapUploadHandler(FileUploadHandler):
    def __init__(self, request=None):
        super().__init__(request)
        self.received = 0

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length and content_length > settings.MAX_UPLOAD_BYTES + FORM_OVERHEAD:
            self.request.upload_refused = limit_text()
            return QueryDict(mutable=True), MultiValueDict()  # parsed as empty: the body is never read
        return None

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > settings.MAX_UPLOAD_BYTES:
            self.request.upload_refused = limit_text()
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size):
        return None


def cap_uploads(request) -> None:
    """Install the cap on a Django request; call it before anything reads request.POST or FILES."""
    request.upload_refused = ""
    request.upload_handlers.insert(0, SizeCapUploadHandler(request))


def declared_too_large(request) -> bool:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    return length > settings.MAX_UPLOAD_BYTES + FORM_OVERHEAD
