"""Errors raised by the review layer; messages start with the file, then the problem."""
from __future__ import annotations


class ReviewError(Exception):
    """Base for everything the review layer raises on purpose."""


class InvalidDecisionLog(ReviewError, ValueError):
    def __init__(self, source: str, problem: str):
        self.source, self.problem = source, problem
        super().__init__(f"{source}: {problem}")


class InvalidRules(ReviewError, ValueError):
    def __init__(self, source: str, problem: str):
        self.source, self.problem = source, problem
        super().__init__(f"{source}: {problem}")


class InvalidCase(ReviewError, ValueError):
    def __init__(self, source: str, problem: str):
        self.source, self.problem = source, problem
        super().__init__(f"{source}: {problem}")
