# rules.mk: builds what the real-program tests (tests/programs) and
# bench/programs.sh run besides Debian's programs: tools/measure and the
# multithreaded C++ churn program, both into $(BUILD)/tests/programs/.
# Included by tests/tests.mk, which makes test-build depend on
# TESTS_SUITE_BINS.

PROGRAMS_DIR := $(BUILD)/tests/programs
PROGRAMS_CXX ?= g++

$(PROGRAMS_DIR)/measure: tools/measure.c | $(PROGRAMS_DIR)/.dir
	$(CC) -std=gnu11 -O2 -Wall -Wextra $< -o $@

$(PROGRAMS_DIR)/cxx_churn: tests/programs/cxx_churn.cc | $(PROGRAMS_DIR)/.dir
	$(PROGRAMS_CXX) -std=c++17 -O2 -Wall -Wextra -pthread $< -o $@

TESTS_SUITE_BINS += $(PROGRAMS_DIR)/measure $(PROGRAMS_DIR)/cxx_churn
