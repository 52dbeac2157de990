# common/ — libcommon.a, linked into every program.
COMMON_SRCS := $(wildcard common/cm_*.c)
COMMON_LIB  := $(BUILD)/lib/libcommon.a

$(COMMON_LIB): $(patsubst %.c,$(OBJ)/%.o,$(COMMON_SRCS))
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^
