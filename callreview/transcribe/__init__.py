"""Audio in, segments out: decoding (pydub/ffmpeg), Whisper engines, transcript import.

Knows nothing about the database: every function here takes paths or samples and returns the plain
dataclasses of `callreview.transcribe.segments`.
"""
