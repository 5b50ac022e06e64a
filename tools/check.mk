# tools/check.mk: `make check`, the static checks: cppcheck and clang-tidy
# over every source of src/, in each configuration the sources are built
# in, with the flags that build gives them (included at the end of the
# Makefile, after the variables it reads). It prints the findings, then one
# line `make check: N findings ...`, and fails if N is not 0.
#
#   configuration   sources                          flags
#   lib             core, platform/prim.c, modules   CORE_CFLAGS
#   hosted          hosted layer, platform/hosted.c  HOSTED_CFLAGS
#   m5              core, platform/prim.c            the M5 drop-in's (freestanding platform)
#   kernel          kernel, platform/kernel.c        the kernel drop-in's (kernel platform)
#   rt-dropin       rt                               the rt drop-in's (MM_RT_STANDALONE)
# and their variants: NAME-debug (+ MM_DEBUG: the assertions and lock-order
# checks), lib-rt and hosted-rt (+ MM_REALTIME, build/libmymalloc-rt.so's
# flags: the files that test it), kernel-single and kernel-buddy (+
# KALLOC_SINGLE_LOCK, + KALLOC_BUDDY_ONLY, as tests/kernel builds them).
# cppcheck checks every configuration, clang-tidy too; its static analyzer,
# which takes most of its time, runs in the -debug configurations (the
# paths of the others, with the assertions' code added) and in lib-rt and
# hosted-rt; in m5-debug only on the files that test the platform's macros
# (the rest is lib-debug's code). ecc/codec.c, with no assertion or
# real-time code of its own, is checked in lib only (clang-tidy spends 10 s
# of CPU on its preprocessor-built tables). The drop-ins are checked file by
# file, as the sources are before tools/amalgamate.sh pastes them together,
# so that findings name src/.
#
# The tools' configuration is committed: .clang-tidy (the checks; why each
# one left out is) and tools/cppcheck-suppressions.txt (false positives,
# each with its reason); a false positive tied to one line is suppressed on
# that line instead (`NOLINT(check)` with the reason beside it). Results are
# kept per file under $(BUILD)/check/CONFIGURATION/ (with the tools' notes),
# so a second `make check` checks only what changed. Files run in parallel
# (nproc jobs unless make was given -j); from nothing it takes about 70 s of
# CPU (clang-tidy 65, cppcheck 3). Needs cppcheck and clang-tidy (Debian: apt-get install cppcheck
# clang-tidy; versions 2.10 and 14 are the ones it was tuned on).

STATIC_CHECK_DIR := $(BUILD)/check
STATIC_CHECK_TIDY ?= clang-tidy
STATIC_CHECK_CPPCHECK ?= cppcheck
STATIC_CHECK_SUPPRESSIONS := tools/cppcheck-suppressions.txt
STATIC_CHECK_JOBS ?= $(shell nproc 2>/dev/null || echo 2)

# How tools/dropin.mk compiles a drop-in.
STATIC_CHECK_DROPIN_CFLAGS := -std=gnu11 -O2 -ffreestanding -fno-builtin -Iinclude -Isrc $(WARNINGS)

scheck_configs := lib lib-debug lib-rt hosted hosted-debug hosted-rt m5 m5-debug \
	kernel kernel-debug kernel-single kernel-buddy rt-dropin rt-dropin-debug

# The sources among $(2) that test a macro matching $(1) (a grep pattern).
scheck_testing = $(shell grep -l 'defined($(1))' $(2))

scheck_lib_srcs := $(CORE_SRCS) $(MODULE_SRCS)
scheck_srcs_lib := $(scheck_lib_srcs)
scheck_srcs_lib-debug := $(scheck_lib_srcs)
scheck_srcs_lib-rt := $(call scheck_testing,MM_REALTIME,$(scheck_lib_srcs))
scheck_flags_lib := $(CORE_CFLAGS)
scheck_flags_lib-debug := $(CORE_CFLAGS) -DMM_DEBUG
scheck_flags_lib-rt := $(CORE_CFLAGS) -DMM_REALTIME
scheck_tidy_skip_lib-debug := src/ecc/codec.c
scheck_tidy_skip_lib-rt := src/ecc/codec.c

scheck_hosted_srcs := $(HOSTED_SUPPORT_SRCS) $(HOSTED_API_SRCS) src/platform/hosted.c
scheck_srcs_hosted := $(scheck_hosted_srcs)
scheck_srcs_hosted-debug := $(scheck_hosted_srcs)
scheck_srcs_hosted-rt := $(call scheck_testing,MM_REALTIME,$(scheck_hosted_srcs))
scheck_flags_hosted := $(HOSTED_CFLAGS)
scheck_flags_hosted-debug := $(HOSTED_CFLAGS) -DMM_DEBUG
scheck_flags_hosted-rt := $(HOSTED_CFLAGS) -DMM_REALTIME

scheck_srcs_m5 := $(CORE_SRCS)
scheck_srcs_m5-debug := $(CORE_SRCS)
scheck_flags_m5 := $(STATIC_CHECK_DROPIN_CFLAGS) -DMM_PLATFORM_FREESTANDING
scheck_flags_m5-debug := $(scheck_flags_m5) -DMM_DEBUG
scheck_tidy_skip_m5-debug := $(filter-out \
	$(call scheck_testing,MM_IDENTITY_[A-Z]*\|MM_PLATFORM_[A-Z]*,$(CORE_SRCS)),$(CORE_SRCS))

scheck_kernel_srcs := $(wildcard src/kernel/*.c) src/platform/kernel.c
scheck_srcs_kernel := $(scheck_kernel_srcs)
scheck_srcs_kernel-debug := $(scheck_kernel_srcs)
scheck_srcs_kernel-single := $(scheck_kernel_srcs)
scheck_srcs_kernel-buddy := $(scheck_kernel_srcs)
scheck_flags_kernel := $(STATIC_CHECK_DROPIN_CFLAGS) -DMM_PLATFORM_KERNEL
scheck_flags_kernel-debug := $(scheck_flags_kernel) -DMM_DEBUG
scheck_flags_kernel-single := $(scheck_flags_kernel) -DKALLOC_SINGLE_LOCK
scheck_flags_kernel-buddy := $(scheck_flags_kernel) -DKALLOC_BUDDY_ONLY

# The rt drop-in pastes its public header first (scheck_first_*: a header
# read before the source, -include for clang, --include for cppcheck).
scheck_srcs_rt-dropin := $(wildcard src/rt/*.c)
scheck_srcs_rt-dropin-debug := $(scheck_srcs_rt-dropin)
scheck_flags_rt-dropin := $(STATIC_CHECK_DROPIN_CFLAGS) -DMM_RT_STANDALONE
scheck_flags_rt-dropin-debug := $(scheck_flags_rt-dropin) -DMM_DEBUG
scheck_first_rt-dropin := include/mymalloc/rt.h
scheck_first_rt-dropin-debug := include/mymalloc/rt.h

# The configurations whose clang-tidy run leaves out the static analyzer.
scheck_no_analyzer := lib hosted m5 kernel kernel-single kernel-buddy rt-dropin

# Every result depends on every header: coarse, but a header's change
# reaches every file.
scheck_headers := $(wildcard src/*/*.h include/*.h include/mymalloc/*.h)
scheck_header_filter := ^(src|include)/|^$(CURDIR)/(src|include)/
# cppcheck takes the preprocessor's part of the flags; it is told the
# compiler and target the code tests for, which it does not assume.
scheck_cppcheck_flags = $(filter -D% -U% -I%,$(scheck_flags_$(1))) \
	$(addprefix --include=,$(scheck_first_$(1))) -D__GNUC__ -D__x86_64__
# A finding of src/ or include/ (the tools also report into system headers:
# glibc's prototypes of the functions src/hosted/libc.c defines).
scheck_finding := ^($(CURDIR)/)?(src|include)/[^ :]+:[0-9]+:[0-9]+: (warning|error|style|performance|portability):

# A tool that fails without a finding (a crash, a file it cannot parse)
# leaves one of its own: `FILE:1:1: error: TOOL exited N`.
scheck_results :=
define scheck_config_rules
scheck_results += $(patsubst src/%.c,$(STATIC_CHECK_DIR)/$(1)/%.tidy,$(filter-out $(scheck_tidy_skip_$(1)),$(scheck_srcs_$(1))))
scheck_results += $(patsubst src/%.c,$(STATIC_CHECK_DIR)/$(1)/%.cppcheck,$(scheck_srcs_$(1)))

$(STATIC_CHECK_DIR)/$(1)/%.tidy: src/%.c .clang-tidy tools/check.mk $(scheck_headers)
	@mkdir -p $$(dir $$@)
	@$(STATIC_CHECK_TIDY) --quiet --header-filter='$(scheck_header_filter)' \
		$(if $(filter $(1),$(scheck_no_analyzer)),--checks=-clang-analyzer-*) $$< -- \
		$(scheck_flags_$(1)) $(addprefix -include ,$(scheck_first_$(1))) >$$@.tmp 2>$$@.err || \
	{ rc=$$$$?; grep -qE '$(scheck_finding)' $$@.tmp || \
		{ cat $$@.err; echo "$$<:1:1: error: clang-tidy exited $$$$rc [$(1)]"; } >>$$@.tmp; }
	@mv $$@.tmp $$@

$(STATIC_CHECK_DIR)/$(1)/%.cppcheck: src/%.c $(STATIC_CHECK_SUPPRESSIONS) tools/check.mk $(scheck_headers)
	@mkdir -p $$(dir $$@)
	@$(STATIC_CHECK_CPPCHECK) -q --std=c11 --enable=warning,style,performance,portability \
		--inline-suppr --suppressions-list=$(STATIC_CHECK_SUPPRESSIONS) --error-exitcode=1 \
		--template='{file}:{line}:{column}: {severity}: {message} [{id}]' \
		$(call scheck_cppcheck_flags,$(1)) $$< >$$@.tmp 2>&1 || \
	{ rc=$$$$?; grep -qE '$(scheck_finding)' $$@.tmp || \
		echo "$$<:1:1: error: cppcheck exited $$$$rc [$(1)]" >>$$@.tmp; }
	@mv $$@.tmp $$@
endef
$(foreach c,$(scheck_configs),$(eval $(call scheck_config_rules,$(c))))

.PHONY: check check-tools
check-tools:
	@for t in $(STATIC_CHECK_TIDY) $(STATIC_CHECK_CPPCHECK); do command -v $$t >/dev/null || \
		{ echo "make check: $$t is missing (apt-get install cppcheck clang-tidy)"; exit 1; }; done

# The longest file first, so that it does not run alone at the end.
.PHONY: check-results
check-results: $(filter %/ecc/codec.tidy,$(scheck_results)) \
	$(filter-out %/ecc/codec.tidy,$(scheck_results))
	@:

# Each finding once, however many files and configurations reach it; the
# tools' whole output (notes, the code) is in $(STATIC_CHECK_DIR)/CONFIGURATION/.
check: check-tools
	@start=$$(date +%s); \
	$(MAKE) --no-print-directory $(if $(findstring jobserver,$(MAKEFLAGS)),,-j$(STATIC_CHECK_JOBS)) \
		check-results || exit 1; \
	findings=$$(cat $(scheck_results) | grep -E '$(scheck_finding)' | sed 's|^$(CURDIR)/||' | \
		sort -u -t: -k1,1 -k2,2n -k3,3n -k4); \
	n=$$(printf '%s' "$$findings" | grep -c . || true); \
	[ -z "$$findings" ] || printf '%s\n' "$$findings"; \
	echo "make check: $$n findings (cppcheck, clang-tidy; $(words $(scheck_configs)) configurations," \
		"$(words $(scheck_results)) file checks, $$(( $$(date +%s) - start )) s)"; \
	[ "$$n" = 0 ]
