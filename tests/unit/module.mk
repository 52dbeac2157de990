# tests/unit/ — cmocka unit tests, one file per class: test_<class>.c.
#
# test_cm_*     links libcommon.a
# test_<d>_*    also links daemon <d>'s objects except its main.c
#               (d = sipd, mediad, callbackd, cdrd, webd)
UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

.PHONY: unit-bins
unit-bins: $(UNIT_TESTS)

# Objects of daemon $(1) without its main.c and minicdr.
unit_daemon_objs = $(patsubst %.c,$(OBJ)/%.o,$(filter-out $(1)/main.c $(1)/minicdr%.c,$(wildcard $(1)/*.c)))
unit_prefix = $(word 2,$(subst _, ,$(notdir $(1))))

define UNIT_template
$(BUILD)/tests/$(1): $(OBJ)/tests/unit/$(1).o $$(if $$(filter sipd mediad callbackd cdrd webd,$$(call unit_prefix,$(1))),$$(call unit_daemon_objs,$$(call unit_prefix,$(1)))) $(COMMON_LIB)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS) $$(shell pkg-config --libs cmocka) $$(EXTRA_TEST_LIBS)
endef
$(foreach t,$(patsubst tests/unit/%.c,%,$(UNIT_SRCS)),$(eval $(call UNIT_template,$(t))))
