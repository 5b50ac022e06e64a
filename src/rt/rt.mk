# src/rt/rt.mk: the real-time heap's single-file drop-in, $(RT_C) and
# $(RT_H), generated from src/rt and include/mymalloc/rt.h by
# tools/amalgamate.sh. tools/dropin.mk's rules install them only after a
# copy, alone in a directory of its own, compiles with exactly
#   gcc -std=gnu11 -O2 -ffreestanding -fno-builtin -nostdlib -c mymalloc_rt.c
# and leaves no symbol undefined at all. Included by the top-level Makefile
# and by tests/rt/rules.mk, whichever comes first; wherever it is included,
# it leaves the default goal as it was.
ifndef RT_MK_INCLUDED
RT_MK_INCLUDED := 1
rt_mk_default_goal := $(.DEFAULT_GOAL)

BUILD ?= build
RT_DIR := $(BUILD)/rt
RT_C := $(RT_DIR)/mymalloc_rt.c
RT_H := $(RT_DIR)/mymalloc_rt.h
RT_INPUTS := tools/amalgamate.sh include/mymalloc/rt.h src/platform/memops.h \
	$(wildcard src/rt/*.c src/rt/*.h)

include tools/dropin.mk
$(eval $(call dropin_rules,rt,$(RT_DIR),mymalloc_rt,$(RT_INPUTS),))

.DEFAULT_GOAL := $(rt_mk_default_goal)
endif
