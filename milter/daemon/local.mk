# milter/daemon/local.mk: the process: command line, signals, reload,
# privileges, the milter socket, and --trace.
MILTER_DAEMON_FILES = milter/daemon/main.c milter/daemon/socket.c milter/daemon/socket.h \
	milter/daemon/trace.c milter/daemon/trace.h milter/daemon/privileges.c \
	milter/daemon/privileges.h milter/daemon/reload.c milter/daemon/reload.h \
	milter/daemon/signals.c milter/daemon/signals.h
