"""webvtt-py (from PyPI, unchanged) reading a WebVTT file, as a player's parser would.

    python read_vtt.py FILE.vtt

Prints one JSON list of the cues: start and end as the file has them (hh:mm:ss.ttt) and the
payload as a player shows it (character references such as &amp; decoded). A file the parser
refuses ends the script with its error and a non-zero status.
"""

import html
import json
import sys

import webvtt

cues = [
    {"start": cue.start, "end": cue.end, "text": html.unescape(cue.text)}
    for cue in webvtt.read(sys.argv[1])
]
print(json.dumps(cues))
