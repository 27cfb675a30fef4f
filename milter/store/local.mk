# milter/store/local.mk: the quarantine store (Maildir folders under the
# workdir) and the --quarantine admin commands.
MILTER_STORE_FILES = milter/store/quarantine.c milter/store/quarantine.h \
	milter/store/quarantine_admin.c milter/store/quarantine_admin.h
