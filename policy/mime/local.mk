# policy/mime/local.mk: what is inside a message (decoded MIME, archives,
# URLs, types from the content), with GMime, libarchive and libmagic.
POLICY_MIME_FILES = policy/mime/mime.h policy/mime/mime_walk.h policy/mime/mime_parse.c \
	policy/mime/mime_text.c policy/mime/mime_magic.c policy/mime/mime_archive.c
