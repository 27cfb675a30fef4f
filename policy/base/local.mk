# policy/base/local.mk: what every part uses: the clock, the text sanitizer.
# Their headers are public (include/stagemilter/), milter/ uses them too.
POLICY_BASE_FILES = policy/base/clock.c policy/base/text.c
