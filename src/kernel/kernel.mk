# src/kernel/kernel.mk: the kernel allocator's single-file drop-in,
# $(KERNEL_C) and $(KERNEL_H), generated from src/ by
# tools/amalgamate.sh. tools/dropin.mk's rules install them only after a
# copy, alone in a directory of its own, compiles with exactly
#   gcc -std=gnu11 -O2 -ffreestanding -fno-builtin -nostdlib -c kalloc.c
# and leaves no symbol undefined but kalloc_cpu_current and
# kalloc_cpu_count. Included by the top-level Makefile and by
# tests/kernel/rules.mk, whichever comes first; wherever it is included, it
# leaves the default goal as it was.
ifndef KERNEL_MK_INCLUDED
KERNEL_MK_INCLUDED := 1
kernel_mk_default_goal := $(.DEFAULT_GOAL)

BUILD ?= build
KERNEL_DIR := $(BUILD)/kernel
KERNEL_C := $(KERNEL_DIR)/kalloc.c
KERNEL_H := $(KERNEL_DIR)/kalloc.h
KERNEL_INPUTS := tools/amalgamate.sh include/mymalloc/kalloc.h \
	$(wildcard src/platform/* src/kernel/*.c src/kernel/*.h)

include tools/dropin.mk
$(eval $(call dropin_rules,kernel,$(KERNEL_DIR),kalloc,$(KERNEL_INPUTS),kalloc_cpu_current|kalloc_cpu_count))

.DEFAULT_GOAL := $(kernel_mk_default_goal)
endif
