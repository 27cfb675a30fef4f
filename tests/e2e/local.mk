# tests/e2e/local.mk: build glue for this area (owned by the area).
