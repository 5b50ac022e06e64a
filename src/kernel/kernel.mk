# src/kernel/kernel.mk: the kernel allocator's single-file drop-in,
# $(KERNEL_C) and $(KERNEL_H), generated from src/ by
# tools/amalgamate.sh. The rule installs them only after a copy,
# alone in a directory of its own, compiles with exactly
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
KERNEL_CHECK_DIR := $(KERNEL_DIR)/check
KERNEL_INPUTS := tools/amalgamate.sh include/mymalloc/kalloc.h \
	$(wildcard src/platform/* src/kernel/*.c src/kernel/*.h)

$(KERNEL_H): $(KERNEL_C)
$(KERNEL_C): $(KERNEL_INPUTS)
	rm -rf $(KERNEL_CHECK_DIR)
	sh tools/amalgamate.sh kernel $(KERNEL_CHECK_DIR)
	cd $(KERNEL_CHECK_DIR) && gcc -std=gnu11 -O2 -ffreestanding -fno-builtin -nostdlib -c kalloc.c -o kalloc.o
	@extra=$$(nm -u $(KERNEL_CHECK_DIR)/kalloc.o | awk '{ print $$2 }' | \
		grep -vxE 'kalloc_cpu_current|kalloc_cpu_count' || true); \
	if [ -n "$$extra" ]; then \
		echo "$(KERNEL_C): references symbols beyond the CPU hooks:" $$extra; exit 1; fi
	cp $(KERNEL_CHECK_DIR)/kalloc.h $(KERNEL_H)
	cp $(KERNEL_CHECK_DIR)/kalloc.c $(KERNEL_C)

.DEFAULT_GOAL := $(kernel_mk_default_goal)
endif
