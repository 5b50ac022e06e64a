# tools/dropin.mk: the rules of a generated single-file drop-in, for
# src/kernel/kernel.mk and src/rt/rt.mk (which include this file).
#
#   $(eval $(call dropin_rules,TARGET,DIR,NAME,INPUTS,ALLOWED))
#
# generates DIR/NAME.c and DIR/NAME.h with `tools/amalgamate.sh TARGET`, and
# installs them only after a copy, alone in DIR/check, compiles with exactly
#   gcc -std=gnu11 -O2 -ffreestanding -fno-builtin -nostdlib -c NAME.c
# and leaves no symbol undefined but those ALLOWED names (a grep -xE
# pattern; empty: none at all).
ifndef DROPIN_MK_INCLUDED
DROPIN_MK_INCLUDED := 1

define dropin_rules
$(2)/$(3).h: $(2)/$(3).c
$(2)/$(3).c: $(4)
	rm -rf $(2)/check
	sh tools/amalgamate.sh $(1) $(2)/check
	cd $(2)/check && gcc -std=gnu11 -O2 -ffreestanding -fno-builtin -nostdlib -c $(3).c -o $(3).o
	@extra=$$$$(nm -u $(2)/check/$(3).o | awk '{ print $$$$2 }' | grep -vxE '$(5)' || true); \
	if [ -n "$$$$extra" ]; then \
		echo "$(2)/$(3).c: references symbols it must not:" $$$$extra; exit 1; fi
	cp $(2)/check/$(3).h $(2)/$(3).h
	cp $(2)/check/$(3).c $(2)/$(3).c
endef

endif
