# sipserver — top-level, non-recursive GNU Makefile.
#
# Every program lands in build/bin/, objects in build/obj/. Each component
# lists its sources in <dir>/module.mk; this file only knows the rules.

VERSION    := 0.1.0
PREFIX     ?= /usr/local
DESTDIR    ?=
BUILD      := build
# Sanitizer objects never mix with plain ones: SANITIZE=1 builds in
# build/san unless BUILD is given.
ifeq ($(SANITIZE)$(origin BUILD),1file)
BUILD      := build/san
endif
BIN        := $(BUILD)/bin
OBJ        := $(BUILD)/obj

CC         ?= cc
PKGS       := libczmq libzmq jansson inih libsystemd libosip2 sqlite3 libcrypto
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN       := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wformat=2 \
              -Wno-unused-parameter
CFLAGS     ?= -O2 -g
CFLAGS     += -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
              -DSIPSERVER_VERSION=\"$(VERSION)\" $(WARN) -MMD -MP \
              -I common $(PKG_CFLAGS)
ifeq ($(CI),true)
CFLAGS     += -Werror
endif
ifeq ($(SANITIZE),1)
CFLAGS     += -fsanitize=address,undefined -fno-omit-frame-pointer
LDFLAGS    += -fsanitize=address,undefined
endif
LDLIBS     += $(PKG_LIBS) -lm -lpthread

PROGRAMS   :=
UNIT_TESTS :=

.PHONY: all
all:

include $(sort $(wildcard */module.mk))
include tests/unit/module.mk

all: $(addprefix $(BIN)/,$(PROGRAMS))

# Generic object rule: build/obj/<dir>/<file>.o from <dir>/<file>.c
$(OBJ)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

# Programs: each module.mk defines <prog>_SRCS.
define PROGRAM_template
$(BIN)/$(1): $$(patsubst %.c,$(OBJ)/%.o,$$($(1)_SRCS)) $(COMMON_LIB)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$($(1)_LIBS) $$(LDLIBS)
endef
$(foreach p,$(PROGRAMS),$(eval $(call PROGRAM_template,$(p))))

-include $(shell find $(OBJ) -name '*.d' 2>/dev/null)

# ---------------------------------------------------------------------------
# Set-up, run, test

.PHONY: deps run test unit integration bench fuzz lint install clean docs
deps:
	@tests/tools/deps.sh

# run, test and bench build in a second make: pkg-config (PKG_CFLAGS,
# PKG_LIBS) and the mimalloc check in sipd/module.mk are evaluated when make
# reads this file, which on a fresh machine is before `deps` installed the
# libraries.
run: deps
	@$(MAKE) --no-print-directory all
	@mkdir -p var
	@tests/tools/run-suite.sh etc/sipserver.conf

test: deps
	@$(MAKE) --no-print-directory all unit-bins
	@BUILD=$(BUILD) SANITIZE=$(SANITIZE) tests/tools/run-tests.sh

unit: all unit-bins
	@BUILD=$(BUILD) SANITIZE=$(SANITIZE) tests/tools/run-tests.sh --unit-only

bench: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) bench/run-all.sh

fuzz: all
	@tests/fuzz/run.sh

lint:
	@clang-format --dry-run -Werror $$(git ls-files '*.c' '*.h')
	@cppcheck --quiet --error-exitcode=1 --inline-suppr \
	    --suppress=missingIncludeSystem -I common $$(git ls-files '*.c')

docs: all
	@$(BIN)/sipd --config-doc > docs/config.md

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/etc/sipserver
	install -m 755 $(addprefix $(BIN)/,$(PROGRAMS)) $(DESTDIR)$(PREFIX)/bin/
	install -m 640 etc/sipserver.conf $(DESTDIR)$(PREFIX)/etc/sipserver/
	install -d $(DESTDIR)$(PREFIX)/share/sipserver/sql
	install -m 644 cdrd/sql/*.sql $(DESTDIR)$(PREFIX)/share/sipserver/sql/
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system
	for unit in deploy/systemd/*; do \
	    sed 's|@PREFIX@|$(PREFIX)|g' $$unit > $(DESTDIR)$(PREFIX)/lib/systemd/system/$$(basename $$unit); \
	done

clean:
	rm -rf $(BUILD)
