# tests/unit/match.mk: unit tests of the policy match part.
