# tests/unit/loader.mk: unit tests of the policy loader part.
