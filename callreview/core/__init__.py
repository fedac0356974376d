"""Tagging, the policy check, the review queue and the reviewers' web app.

The pure parts (`mentions`, `decisions`, `tagging`, `policy`, `rules`) are plain functions over plain
data: no database, no Prefect, no model download.
"""
