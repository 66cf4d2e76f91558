"""A side-by-side replay of Pebble's /v1 API: request sequences as data
(sequences/), what a real Pebble v1.32.1 answered to them (expected/, made
by `python -m tests.replay.record`), and the tools that run them against
Pebble and Shoal (`python -m tests.replay.compare`)."""
