"""A client generated from the service's own OpenAPI document, used as its users would.

Usage: generated_client_round_trip.py GENERATED_DIR BASE_URL VIDEO_FILE

GENERATED_DIR holds the package `hls_ladder_client`, made by openapi-python-client from
`BASE_URL/openapi.json` (tests/api/openapi_clients.rs generates it). Uploads VIDEO_FILE as a
raw body and as a multipart form, polls both to `completed`, lists them, deletes them and
reads them back as gone. Prints one JSON line of what it saw; raises on anything unexpected.
"""

import io
import json
import sys
import time

sys.path.insert(0, sys.argv[1])

from hls_ladder_client import Client  # noqa: E402
from hls_ladder_client.api.create_video import create_video  # noqa: E402
from hls_ladder_client.api.delete_video import delete_video  # noqa: E402
from hls_ladder_client.api.get_video import get_video  # noqa: E402
from hls_ladder_client.api.list_videos import list_videos  # noqa: E402
from hls_ladder_client.models.problem import Problem  # noqa: E402
from hls_ladder_client.models.upload_form import UploadForm  # noqa: E402
from hls_ladder_client.models.video_resource import VideoResource  # noqa: E402
from hls_ladder_client.models.video_status import VideoStatus  # noqa: E402
from hls_ladder_client.types import File  # noqa: E402

base_url, video_file = sys.argv[2], sys.argv[3]
client = Client(base_url=base_url, raise_on_unexpected_status=True, timeout=60.0)
data = open(video_file, "rb").read()


def upload(body):
    answer = create_video.sync_detailed(client=client, body=body)
    assert answer.status_code == 201, (answer.status_code, answer.content)
    assert isinstance(answer.parsed, VideoResource), answer.parsed
    return answer.parsed


def file():
    return File(payload=io.BytesIO(data), file_name="clip.mp4", mime_type="video/mp4")


raw = upload(file())
form = upload(UploadForm(file=file()))
seen = {}
for video in (raw, form):
    deadline = time.monotonic() + 240
    while True:
        now = get_video.sync(client=client, id=video.id)
        assert isinstance(now, VideoResource), now
        if now.status in (VideoStatus.COMPLETED, VideoStatus.FAILED, VideoStatus.CANCELED):
            break
        assert time.monotonic() < deadline, f"{video.id} still {now.status}"
        time.sleep(0.5)
    seen[str(video.id)] = {
        "status": now.status.value,
        "playback_url": now.playback_url if isinstance(now.playback_url, str) else None,
        "renditions": [r.name for r in now.renditions] if isinstance(now.renditions, list) else [],
        "original_filename": now.original_filename if isinstance(now.original_filename, str) else None,
    }

page = list_videos.sync(client=client, limit=100)
listed = [str(video.id) for video in page.items]

deleted = {}
for video in (raw, form):
    answer = delete_video.sync_detailed(client=client, id=video.id)
    gone = get_video.sync_detailed(client=client, id=video.id)
    code = gone.parsed.code if isinstance(gone.parsed, Problem) else None
    deleted[str(video.id)] = [answer.status_code, gone.status_code, getattr(code, "value", code)]

print(json.dumps({"videos": seen, "listed": listed, "deleted": deleted}))
