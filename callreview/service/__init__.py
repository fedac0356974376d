"""Use cases: each takes a session and the actor, does the action and writes its audit event in one transaction."""
