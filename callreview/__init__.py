"""callreview: review recorded ICE assistance calls against the commanding officer's logged decision.

Layers, bottom to top (DESIGN.md): storage, transcribe < core < service < flows, cli, web.
"""
