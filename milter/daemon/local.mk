# milter/daemon/local.mk: the process: command line, signals, reload,
# privileges, the milter socket, logging, statistics, and --trace.
MILTER_DAEMON_FILES = milter/daemon/main.c milter/daemon/log.c milter/daemon/log.h \
	milter/daemon/socket.c milter/daemon/socket.h milter/daemon/trace.c \
	milter/daemon/trace.h milter/daemon/stats.c milter/daemon/stats.h \
	milter/daemon/privileges.c milter/daemon/privileges.h milter/daemon/reload.c \
	milter/daemon/reload.h milter/daemon/signals.c milter/daemon/signals.h
