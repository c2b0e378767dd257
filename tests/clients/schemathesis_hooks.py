"""Schemathesis hooks for hls-ladder (tests/api/openapi_clients.rs loads them).

tus sends its bytes as `application/offset+octet-stream`; to Schemathesis that is an unknown
media type, so the tus PATCH and creation-with-upload could not be generated at all. Its bytes
are sent as any binary body is.
"""

import schemathesis

schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")
