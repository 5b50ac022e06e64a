# src/rt/rt.mk: the real-time heap's single-file drop-in, $(RT_C) and
# $(RT_H), generated from src/rt and include/mymalloc/rt.h by
# tools/amalgamate.sh. The rule installs them only after a copy, alone in a
# directory of its own, compiles with exactly
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
RT_CHECK_DIR := $(RT_DIR)/dropin-check
RT_INPUTS := tools/amalgamate.sh include/mymalloc/rt.h src/platform/memops.h $(wildcard src/rt/*.c src/rt/*.h)

$(RT_H): $(RT_C)
$(RT_C): $(RT_INPUTS)
	rm -rf $(RT_CHECK_DIR)
	sh tools/amalgamate.sh rt $(RT_CHECK_DIR)
	cd $(RT_CHECK_DIR) && gcc -std=gnu11 -O2 -ffreestanding -fno-builtin -nostdlib -c mymalloc_rt.c -o mymalloc_rt.o
	@undefined=$$(nm -u $(RT_CHECK_DIR)/mymalloc_rt.o | awk '{ print $$2 }'); \
	if [ -n "$$undefined" ]; then \
		echo "$(RT_C): references symbols it must not:" $$undefined; exit 1; fi
	cp $(RT_CHECK_DIR)/mymalloc_rt.h $(RT_H)
	cp $(RT_CHECK_DIR)/mymalloc_rt.c $(RT_C)

.DEFAULT_GOAL := $(rt_mk_default_goal)
endif
