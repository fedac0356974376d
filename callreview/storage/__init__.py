"""SQLModel tables, the engine, the audit log and the content-addressed audio archive.

The bottom layer: imports nothing from transcribe/, review/ or flows/.
"""
