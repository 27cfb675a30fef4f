# milter/delegation.mk: build glue for this area (owned by the area).
