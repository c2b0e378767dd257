"""webvtt-py (from PyPI, unchanged) reading a WebVTT file, as a player's parser would.

    python read_vtt.py FILE.vtt

Prints one JSON list of the cues: start and end as the file has them (hh:mm:ss.ttt) and the
payload. A file the parser refuses ends the script with its error and a non-zero status.
"""

import json
import sys

import webvtt

cues = [
    {"start": cue.start, "end": cue.end, "text": cue.text}
    for cue in webvtt.read(sys.argv[1])
]
print(json.dumps(cues))
