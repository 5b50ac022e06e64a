# tests/variants/rules.mk: every build variant of docs/BUILD.md's table,
# built from the sources into its own directory $(TB)/variants/NAME/, with
# its smoke test (included by tests/tests.mk; run by
# tests/variants/register.sh):
#
#   lib            the library as `make` builds it ($(LIB_A); with assertions
#                  under `make debug-test`, which register.sh sees)
#   lib-debug      the library's sources again with -DMM_DEBUG
#   lib-trusted    ... with -DMM_TRUSTED_FREE
#   lib-ecc-off    ... with -DECC_PROTECTION_OFF
#   lib-realtime   the real-time mode's objects ($(RT_LIB_OBJS), -DMM_REALTIME,
#                  src/rt/rtlib.mk) as an archive (as `lib` under debug-test)
#   m5, m5-debug, m5-trusted
#                  the M5 drop-in $(M5_C) compiled as its users compile it,
#                  plain, -DMM_DEBUG, -DMM_TRUSTED_FREE
#   kernel, kernel-single-lock, kernel-buddy-only, kernel-irq-hooks,
#   kernel-debug   the kernel drop-in $(KERNEL_C) likewise: plain,
#                  -DKALLOC_SINGLE_LOCK, -DKALLOC_BUDDY_ONLY, the embedder's
#                  KALLOC_IRQ_SAVE/RESTORE, -DMM_DEBUG with its
#                  KALLOC_ASSERT_FAILED
#   rt, rt-debug   the real-time heap's drop-in $(RT_C), plain and -DMM_DEBUG
# and the programs: core_smoke (per library and M5 variant), kernel_smoke
# (per kernel variant), rt_smoke (per rt variant, and rt-library on
# $(LIB_A)), ecc_smoke (ecc-secded and ecc-tmr on $(LIB_A), the second
# compiled with -DECC_DEFAULT_CODE=ECC_TMR; ecc-off on lib-ecc-off). Each
# smoke program is compiled with its variant's macros, since it reads the
# internal structures it plants faults in.
#
#   make test-variants-build   only these

-include src/kernel/kernel.mk
-include src/rt/rt.mk

TV := $(TB)/variants
VT_CFLAGS := $(TESTS_CFLAGS) -I$(TESTS_DIR)/variants
VT_HDRS := $(TESTS_DIR)/variants/variants.h $(TESTS_DIR)/check.h
# How the drop-ins' users compile them (the M5 lab's line; tools/dropin.mk).
VT_DROPIN_CFLAGS := -std=gnu11 -O2 -ffreestanding -fno-builtin -nostdlib

# ---- library variants ---------------------------------------------------------
VT_LIB_MACROS_debug := -DMM_DEBUG
VT_LIB_MACROS_trusted := -DMM_TRUSTED_FREE
VT_LIB_MACROS_ecc-off := -DECC_PROTECTION_OFF
VT_LIB_MACROS_realtime := -DMM_REALTIME
VT_LIB_MACROS_lib :=

# $(1) = variant (debug, trusted, ecc-off): the library's objects compiled
# again with its macros, with the Makefile's flags for each kind of source
# but for `make debug`'s -DMM_DEBUG (each variant has its macros only).
define vt_lib_rules
$(patsubst $(BUILD)/%,$(TV)/lib-$(1)/%,$(CORE_OBJS) $(MODULE_OBJS)): VT_BASE_FLAGS = $$(filter-out $$(DEBUG_CFLAGS),$$(CORE_CFLAGS))
$(patsubst $(BUILD)/%,$(TV)/lib-$(1)/%,$(HOSTED_SUPPORT_OBJS) $(VM_OBJ) $(HOSTED_API_OBJS)): VT_BASE_FLAGS = $$(filter-out $$(DEBUG_CFLAGS),$$(HOSTED_CFLAGS))
$(patsubst $(BUILD)/%,$(TV)/lib-$(1)/%,$(LIB_OBJS)): $(TV)/lib-$(1)/%.o: src/%.c $(CORE_HDRS) $(MODULE_HDRS) src/hosted/hosted.h
	@mkdir -p $$(dir $$@)
	$$(CC) $$(VT_BASE_FLAGS) $(VT_LIB_MACROS_$(1)) -c $$< -o $$@
$(TV)/lib-$(1)/libmymalloc.a: $(patsubst $(BUILD)/%,$(TV)/lib-$(1)/%,$(LIB_OBJS))
	@rm -f $$@
	ar rcs $$@ $$^
endef
$(foreach v,debug trusted ecc-off,$(eval $(call vt_lib_rules,$(v))))

$(TV)/lib-realtime/libmymalloc.a: $(RT_LIB_OBJS) | $(TV)/lib-realtime/.dir
	@rm -f $@
	ar rcs $@ $^
$(TV)/lib/libmymalloc.a: $(LIB_A) | $(TV)/lib/.dir
	cp $< $@

# core_smoke against each library variant.
VT_LIBS := lib lib-debug lib-trusted lib-realtime
$(foreach v,$(VT_LIBS),$(TV)/$(v)/core_smoke.o): $(TV)/%/core_smoke.o: $(TESTS_DIR)/variants/core_smoke.c $(VT_HDRS) $(CORE_HDRS) | $(TV)/%/.dir
	$(TESTS_CC) $(VT_CFLAGS) -DMM_PLATFORM_HOSTED $(VT_LIB_MACROS_$(patsubst lib-%,%,$*)) -c $< -o $@
$(foreach v,$(VT_LIBS),$(TV)/$(v)/core_smoke): $(TV)/%/core_smoke: $(TV)/%/core_smoke.o $(TV)/%/libmymalloc.a
	$(TESTS_CC) $^ -o $@ -lpthread

# ---- M5 drop-in variants ----------------------------------------------------------
VT_M5_MACROS_m5 :=
VT_M5_MACROS_m5-debug := -DMM_DEBUG
VT_M5_MACROS_m5-trusted := -DMM_TRUSTED_FREE
VT_M5 := m5 m5-debug m5-trusted
$(foreach v,$(VT_M5),$(TV)/$(v)/mymalloc.o): $(TV)/%/mymalloc.o: $(M5_C) $(M5_H) | $(TV)/%/.dir
	$(CC) $(VT_DROPIN_CFLAGS) $(VT_M5_MACROS_$*) -c $< -o $@
$(foreach v,$(VT_M5),$(TV)/$(v)/core_smoke.o): $(TV)/%/core_smoke.o: $(TESTS_DIR)/variants/core_smoke.c $(VT_HDRS) $(CORE_HDRS) | $(TV)/%/.dir
	$(TESTS_CC) $(VT_CFLAGS) -DVT_M5 -DMM_PLATFORM_FREESTANDING $(VT_M5_MACROS_$*) -c $< -o $@
$(foreach v,$(VT_M5),$(TV)/$(v)/core_smoke): $(TV)/%/core_smoke: $(TV)/%/core_smoke.o $(TV)/%/mymalloc.o $(TB)/m5/provider.o $(TB)/m5/testlib.o
	$(TESTS_CC) $^ -o $@ -lpthread

# ---- kernel drop-in variants --------------------------------------------------------
VT_KERNEL_HOOKS := -include $(TESTS_DIR)/variants/kernel_hooks.h
VT_KERNEL_MACROS_kernel :=
VT_KERNEL_MACROS_kernel-single-lock := -DKALLOC_SINGLE_LOCK
VT_KERNEL_MACROS_kernel-buddy-only := -DKALLOC_BUDDY_ONLY
VT_KERNEL_MACROS_kernel-irq-hooks := $(VT_KERNEL_HOOKS) '-DKALLOC_IRQ_SAVE()=vt_irq_save()' \
	'-DKALLOC_IRQ_RESTORE(saved)=vt_irq_restore(saved)'
VT_KERNEL_MACROS_kernel-debug := $(VT_KERNEL_HOOKS) -DMM_DEBUG \
	'-DKALLOC_ASSERT_FAILED(file,line,condition)=vt_assert_failed(file,line,condition)'
VT_KERNEL := kernel kernel-single-lock kernel-buddy-only kernel-irq-hooks kernel-debug
$(foreach v,$(VT_KERNEL),$(TV)/$(v)/kalloc.o): $(TV)/%/kalloc.o: $(KERNEL_C) $(KERNEL_H) $(TESTS_DIR)/variants/kernel_hooks.h | $(TV)/%/.dir
	$(CC) $(VT_DROPIN_CFLAGS) $(VT_KERNEL_MACROS_$*) -c $< -o $@
$(foreach v,$(VT_KERNEL),$(TV)/$(v)/kernel_smoke): $(TV)/%/kernel_smoke: $(TESTS_DIR)/variants/kernel_smoke.c $(TV)/%/kalloc.o $(VT_HDRS) $(TESTS_DIR)/variants/kernel_hooks.h $(wildcard src/kernel/*.h)
	$(TESTS_CC) $(VT_CFLAGS) -I$(KERNEL_DIR) -DMM_PLATFORM_KERNEL $(VT_KERNEL_MACROS_$*) \
		$< $(TV)/$*/kalloc.o -o $@ -lpthread

# ---- real-time heap variants ----------------------------------------------------------
VT_RT_MACROS_rt := -DMM_RT_STANDALONE
VT_RT_MACROS_rt-debug := -DMM_RT_STANDALONE -DMM_DEBUG
VT_RT := rt rt-debug
$(foreach v,$(VT_RT),$(TV)/$(v)/mymalloc_rt.o): $(TV)/%/mymalloc_rt.o: $(RT_C) $(RT_H) | $(TV)/%/.dir
	$(CC) $(VT_DROPIN_CFLAGS) $(filter-out -DMM_RT_STANDALONE,$(VT_RT_MACROS_$*)) -c $< -o $@
$(foreach v,$(VT_RT),$(TV)/$(v)/rt_smoke): $(TV)/%/rt_smoke: $(TESTS_DIR)/variants/rt_smoke.c $(TV)/%/mymalloc_rt.o $(VT_HDRS) $(wildcard src/rt/*.h)
	$(TESTS_CC) $(VT_CFLAGS) -I$(RT_DIR) $(VT_RT_MACROS_$*) $< $(TV)/$*/mymalloc_rt.o -o $@ -lpthread
$(TV)/rt-library/rt_smoke: $(TESTS_DIR)/variants/rt_smoke.c $(LIB_A) $(VT_HDRS) $(wildcard src/rt/*.h) | $(TV)/rt-library/.dir
	$(TESTS_CC) $(VT_CFLAGS) -DVT_RT_LIBRARY -DMM_PLATFORM_HOSTED $< $(LIB_A) -o $@ -lpthread

# ---- protected memory's choices ----------------------------------------------------------
$(TV)/ecc-secded/ecc_smoke: $(TESTS_DIR)/variants/ecc_smoke.c $(LIB_A) $(VT_HDRS) include/mymalloc/ecc.h | $(TV)/ecc-secded/.dir
	$(TESTS_CC) $(VT_CFLAGS) $< $(LIB_A) -o $@ -lpthread
$(TV)/ecc-tmr/ecc_smoke: $(TESTS_DIR)/variants/ecc_smoke.c $(LIB_A) $(VT_HDRS) include/mymalloc/ecc.h | $(TV)/ecc-tmr/.dir
	$(TESTS_CC) $(VT_CFLAGS) -DECC_DEFAULT_CODE=ECC_TMR $< $(LIB_A) -o $@ -lpthread
$(TV)/ecc-off/ecc_smoke: $(TESTS_DIR)/variants/ecc_smoke.c $(TV)/lib-ecc-off/libmymalloc.a $(VT_HDRS) include/mymalloc/ecc.h | $(TV)/ecc-off/.dir
	$(TESTS_CC) $(VT_CFLAGS) $< $(TV)/lib-ecc-off/libmymalloc.a -o $@ -lpthread

VT_BINS := $(foreach v,$(VT_LIBS) $(VT_M5),$(TV)/$(v)/core_smoke) \
	$(foreach v,$(VT_KERNEL),$(TV)/$(v)/kernel_smoke) \
	$(foreach v,$(VT_RT) rt-library,$(TV)/$(v)/rt_smoke) \
	$(foreach v,ecc-secded ecc-tmr ecc-off,$(TV)/$(v)/ecc_smoke)
TESTS_SUITE_BINS += $(VT_BINS)

.PHONY: test-variants-build
test-variants-build: $(VT_BINS)
