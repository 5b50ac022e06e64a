# src/rt/rtlib.mk: the library's real-time mode, $(RT_LIB_SO) =
# build/libmymalloc-rt.so: the objects of the hosted library (core, modules,
# hosted layer, page provider) compiled again with -DMM_REALTIME into
# $(BUILD)/rtlib/ and linked as $(LIB_SO) is (docs/REALTIME.md, "The
# library's real-time mode"). `make rt-lib` builds it. Included by the
# top-level Makefile after its own variables (and by tests/rtmode/rules.mk,
# whichever comes first); leaves the default goal as it was.
ifndef RTLIB_MK_INCLUDED
RTLIB_MK_INCLUDED := 1
rtlib_mk_default_goal := $(.DEFAULT_GOAL)

RT_LIB_SO := $(BUILD)/libmymalloc-rt.so
RT_LIB_DIR := $(BUILD)/rtlib
RT_LIB_OBJS := $(patsubst $(BUILD)/%,$(RT_LIB_DIR)/%,$(LIB_OBJS))

$(RT_LIB_DIR)/core/%.o $(RT_LIB_DIR)/platform/prim.o: RT_LIB_FLAGS = $(CORE_CFLAGS)
$(patsubst $(BUILD)/%,$(RT_LIB_DIR)/%,$(MODULE_OBJS)): RT_LIB_FLAGS = $(CORE_CFLAGS)
$(RT_LIB_DIR)/hosted/%.o $(RT_LIB_DIR)/platform/hosted.o: RT_LIB_FLAGS = $(HOSTED_CFLAGS)

$(RT_LIB_OBJS): $(RT_LIB_DIR)/%.o: src/%.c $(CORE_HDRS) $(MODULE_HDRS) src/hosted/hosted.h
	@mkdir -p $(dir $@)
	$(CC) $(RT_LIB_FLAGS) -DMM_REALTIME -c $< -o $@

$(RT_LIB_SO): $(RT_LIB_OBJS)
	$(CC) -shared -Wl,-z,nodelete -Wl,-z,noseparate-code -o $@ $^ -lpthread

.PHONY: rt-lib
rt-lib: $(RT_LIB_SO)

.DEFAULT_GOAL := $(rtlib_mk_default_goal)
endif
