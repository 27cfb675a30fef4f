# policy/base/local.mk: what every part uses: the clock, the text sanitizer,
# the diagnostics (FILE:LINE:COLUMN problems of the loader and of lists), the
# rule for queue names, spool files (milter.spool). Their headers are public (include/stagemilter/),
# milter/ uses them too.
POLICY_BASE_FILES = policy/base/clock.c policy/base/text.c policy/base/diag.c policy/base/names.c \
	policy/base/spool.c
