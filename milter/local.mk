# milter/local.mk: the daemon. Adapts libmilter callbacks to the engine.
MILTER_FILES =
