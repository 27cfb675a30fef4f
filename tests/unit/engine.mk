# tests/unit/engine.mk: unit tests of the policy engine part.
