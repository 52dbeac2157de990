# sipd/ — SIP registrar and B2BUA.
PROGRAMS += sipd
sipd_SRCS := $(wildcard sipd/*.c)

# mimalloc as sipd's allocator: libosip2 allocates and frees dozens of small
# objects per SIP message (parse, clone, serialize), where glibc's malloc/free
# took ~30 % of sipd's instructions; with mimalloc a call costs ~25 % fewer
# instructions (bench/profile.sh calls). Memory: VmRSS at rest with 10,000
# bindings is ~1 MB higher (19.4 vs 18.3 MB, goal <= 20 MB). Not with
# sanitizers (they replace malloc themselves); left out when not installed
# (Debian: libmimalloc-dev, in tests/tools/deps.sh) or with SIPD_MALLOC=glibc.
SIPD_MALLOC ?= mimalloc
ifeq ($(SIPD_MALLOC),mimalloc)
ifneq ($(SANITIZE),1)
ifneq ($(wildcard $(shell $(CC) -print-file-name=libmimalloc.so)),)
sipd_LIBS += -lmimalloc
endif
endif
endif
