# tests/delegation/local.mk: build glue for this area (owned by the area).
