"""The media plane: ingest, recording, segment index, retention, live view, playback, clips."""
