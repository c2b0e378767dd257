"""tus-py-client (tuspy, from PyPI, unchanged) uploading a file to the service: it stops part
way (as a program killed mid-upload would), then a second uploader finds the upload's URL in
its URL storage, asks where to go on (HEAD) and finishes it.

    BASE_URL=http://127.0.0.1:PORT FILE=/abs/clip.mp4 [API_KEY=...] python tuspy_upload.py

Prints one JSON line: the upload's URL, where the first uploader stopped, the offset the
second one started from, and the size.
"""

import json
import os
import sys
import tempfile

from tusclient import client
from tusclient.storage import filestorage

base, path, key = os.environ["BASE_URL"], os.environ["FILE"], os.environ.get("API_KEY")
headers = {"Authorization": f"Bearer {key}"} if key else {}
size = os.path.getsize(path)
chunk = 2 * 1024 * 1024

with tempfile.TemporaryDirectory() as temp:
    storage = filestorage.FileStorage(os.path.join(temp, "urls.json"))
    tus = client.TusClient(f"{base.rstrip('/')}/v1/uploads", headers=headers)
    metadata = {"filename": os.path.basename(path), "filetype": "video/mp4"}

    first = tus.uploader(path, chunk_size=chunk, metadata=metadata,
                         store_url=True, url_storage=storage)
    first.upload(stop_at=size // 2)
    stopped_at = first.offset

    second = tus.uploader(path, chunk_size=chunk, metadata=metadata,
                          store_url=True, url_storage=storage)
    resumed_from = second.get_offset()
    if second.url != first.url:
        sys.exit(f"the second uploader made a new upload: {second.url} != {first.url}")
    second.upload()
    print(json.dumps({"url": second.url, "stopped_at": stopped_at,
                      "resumed_from": resumed_from, "offset": second.offset, "size": size}))
