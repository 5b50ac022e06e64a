# tests/examples/rules.mk: the examples (examples/examples.mk) as a suite of
# the test kit, so that `make test` builds and runs them (register.sh).
include examples/examples.mk
TESTS_SUITE_BINS += $(EXAMPLES_BINS)
