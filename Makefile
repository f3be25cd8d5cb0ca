# SPDX-License-Identifier: GPL-2.0-or-later
# vcts - virtio conformance test suite.
#
#   make               build the vcts CLI and its library
#   make check         build, then run the suite's own tests (prove -r t/)
#   make conformance   run the conformance suites, TAP into reports/
#                      (VCTS_SHARD=I/N: shard I of N only, for N CI jobs)
#   make bench         throughput of the in-process transport
#   make guests        Debian kernel + initramfs with the in-guest agent
#                      (build/guests/; GUEST_KERNEL=6.1.0-NN-amd64 picks one)
#   make deps          install missing Debian packages (root) or say how
#   make clean
#
# SANITIZE=1 builds with AddressSanitizer + UndefinedBehaviorSanitizer into
# build-san/.  CC=clang works too.

CC       ?= cc
SANITIZE ?=
ifeq ($(SANITIZE),1)
BUILD    ?= build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT      := -O1
else
BUILD    ?= build
SANFLAGS :=
OPT      := -O2
endif

CFLAGS   ?= $(OPT) -g
WARN     := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -Wstrict-prototypes -Wmissing-prototypes
ALL_CFLAGS := -std=gnu11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(SANFLAGS) -pthread -I. \
	      -MMD -MP -DVCTS_SRCDIR='"$(CURDIR)"'
LDLIBS   := -lcunit -lpci -lpthread
ALL_LDFLAGS := $(LDFLAGS) $(SANFLAGS) -pthread

LIB_SRC  := $(wildcard harness/*.c harness/device/*.c harness/transport/*.c harness/qemu/*.c \
		       harness/matrix/*.c harness/report/*.c \
		       drivers-under-test/reference/*.c drivers-under-test/mutants/*.c \
		       drivers-under-test/dpdk-virtio-user/*.c suites/*.c)
LIB_SRC  := $(filter-out harness/vcts.c harness/bench.c,$(LIB_SRC))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC := $(wildcard t/unit/*.c)
UNIT_BIN := $(UNIT_SRC:t/unit/%.c=$(BUILD)/t/%)

VCTS     := $(BUILD)/vcts
BENCH    := $(BUILD)/vcts-bench
LIBVCTS  := $(BUILD)/libvcts.a

.PHONY: all check conformance bench deps clean clause-check units guests
all: $(VCTS) $(BENCH) $(UNIT_BIN) clause-check

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIBVCTS): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(VCTS): $(BUILD)/harness/vcts.o $(LIBVCTS)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

$(BENCH): $(BUILD)/harness/bench.o $(LIBVCTS)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/t/%: $(BUILD)/t/unit/%.o $(LIBVCTS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

units: $(UNIT_BIN)

# The in-guest agent (guests/agent/): one static binary that needs nothing
# but libc, built without sanitizers whatever SANITIZE says.  The harness
# files it shares are linked with --gc-sections, so the parts of them it
# never calls (and what those would pull in) stay out.
AGENT_CC  ?= gcc
AGENT     := build/guests/agent
AGENT_SRC := $(wildcard guests/agent/*.c) harness/tap.c harness/verdict.c \
	     harness/transport/pci_check.c harness/transport/virtio_pci.c
AGENT_OBJ := $(AGENT_SRC:%.c=build/guests/obj/%.o)
AGENT_CFLAGS := -std=gnu11 -D_GNU_SOURCE $(WARN) -O2 -I. -ffunction-sections \
		-fdata-sections -MMD -MP

build/guests/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(AGENT_CC) $(AGENT_CFLAGS) -c -o $@ $<

$(AGENT): $(AGENT_OBJ)
	$(AGENT_CC) -static -s -Wl,--gc-sections -o $@ $^

# every build has the agent, so guest tests can run from any build tree
all: $(AGENT)

-include $(AGENT_OBJ:.o=.d)

# A bootable guest: the kernel, cached per version outside the tree, and an
# initramfs holding the agent.  Prints the vmlinux= and initrd= paths.
guests: deps $(AGENT)
	guests/build.sh --agent $(AGENT) $(if $(GUEST_KERNEL),--kernel $(GUEST_KERNEL))

# Every rule id quoted in the sources must exist in the registry.
clause-check: $(VCTS)
	@harness/check-clauses.sh spec/normative-sections.tsv spec/invariants.tsv

deps:
	@harness/deps.sh

check: deps all
	VCTS_BUILD=$(CURDIR)/$(BUILD) prove -r t/

conformance: deps all
	@mkdir -p reports
	VCTS_BUILD=$(CURDIR)/$(BUILD) VCTS_SHARD=$(VCTS_SHARD) harness/conformance.sh reports

bench: deps all
	$(BENCH)
	VCTS_BUILD=$(CURDIR)/$(BUILD) harness/bench-qtest.sh
	VCTS_BUILD=$(CURDIR)/$(BUILD) harness/bench-guest.sh

clean:
	rm -rf build build-san

.SECONDARY:

-include $(LIB_OBJ:.o=.d) $(BUILD)/harness/vcts.d $(BUILD)/harness/bench.d \
	 $(UNIT_SRC:t/unit/%.c=$(BUILD)/t/unit/%.d)
