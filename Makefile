# SPDX-License-Identifier: GPL-2.0
#
# make             build pvisor.ko (against KDIR), the launcher, the example
#                  guests and the selftests
# make check       every test: lint, then all lanes of the emulated lab
# make demo        boot the lab and show the module loaded with VMX on
# make lint        W=1 and sparse builds, checkpatch --strict
# make bench       boot the bench lane: pvisor beside KVM (EPT and shadow
#                  paging), path lengths in emulated cycles (not in check)
#
# KDIR defaults to the running kernel's build tree.  The lab kernel's tree is
# printed by selftests/lab/build-kernel.

KDIR ?= /lib/modules/$(shell uname -r)/build
SRC_TAR := /usr/src/linux-source-6.1.tar.xz
BUILD := $(CURDIR)/build
KSFT := $(BUILD)/ksft

CC ?= gcc
USER_CFLAGS := -O2 -g -Wall -Wextra -Werror -I$(CURDIR)/uapi
# kselftest_harness.h is written for -Wall, not -Wextra.  Guest code runs
# inside the test binaries (selftests/guest_util.h): no stack protector (a
# guest has no TLS), no red zone (exceptions land on the interrupted stack),
# no loop-to-memset rewriting (a guest has no C library).
TEST_CFLAGS := -O2 -g -Wall -Werror -D_GNU_SOURCE -I$(CURDIR)/uapi \
	-I$(CURDIR)/userspace/lib -fno-stack-protector -mno-red-zone \
	-fno-tree-loop-distribute-patterns
# Static: the lab's initramfs has no C library.
USER_LDFLAGS := -static -pthread

SELFTESTS := $(patsubst %.c,%,$(wildcard selftests/*_test.c))

# The benchmark: host and guest halves in one static binary like the
# selftests; the guest half without vector registers (its page-fault
# handler saves only the general ones).
BENCH_DIR := selftests/bench
BENCH_PROG := $(BENCH_DIR)/pvisor_bench
BENCH_HOST_SRC := $(BENCH_DIR)/pvisor_bench.c $(BENCH_DIR)/bench_kvm.c
BENCH_GUEST_OBJ := $(BENCH_DIR)/bench_guest.o
BENCH_DEPS := $(wildcard $(BENCH_DIR)/*.h) selftests/guest_util.h
BENCH_CFLAGS := $(TEST_CFLAGS) -Wextra -I$(CURDIR)/selftests

# Builds a guest from userspace, for the launcher (and the selftests).
BOOT_OBJ := userspace/lib/pvisor_boot.o
BOOT_DEPS := userspace/lib/pvisor_boot.h uapi/linux/pvisor.h uapi/linux/pvisor_para.h

# The guest kit: freestanding 64-bit code linked at 1 MiB by guest.ld.
# No SSE, so that handlers never clobber the vector registers of the code
# they interrupt; no loop-to-memset rewriting, or string.c would recurse;
# __printf(), __section() and __aligned() as the kernel's
# compiler_attributes.h has them.
GUEST_DIR := userspace/guest
GUEST_CFLAGS := -O2 -g -Wall -Wextra -Werror -I$(CURDIR)/uapi \
	-ffreestanding -fno-pic -fno-pie -mno-red-zone -fno-stack-protector \
	-fno-asynchronous-unwind-tables -mgeneral-regs-only \
	-fno-tree-loop-distribute-patterns \
	'-D__printf(a, b)=__attribute__((format(printf, a, b)))' \
	'-D__section(s)=__attribute__((__section__(s)))' \
	'-D__aligned(x)=__attribute__((__aligned__(x)))'
GUEST_LDFLAGS := -nostdlib -static -no-pie -Wl,-T,$(GUEST_DIR)/guest.ld \
	-Wl,--build-id=none
GUEST_KIT := $(addprefix $(GUEST_DIR)/,entry.S start.c irq.c smp.c chan.c console.c blk.c net.c args.c \
	string.c page_alloc.c paging.c)
GUEST_DEPS := $(GUEST_KIT) $(wildcard $(GUEST_DIR)/*.h) $(GUEST_DIR)/guest.ld \
	uapi/linux/pvisor_para.h
GUESTS := $(GUEST_DIR)/hello.elf $(GUEST_DIR)/exit_status.elf \
	$(GUEST_DIR)/pt_check.elf $(GUEST_DIR)/echo.elf \
	$(GUEST_DIR)/disk_check.elf $(GUEST_DIR)/blk_bench.elf \
	$(GUEST_DIR)/smp_count.elf $(GUEST_DIR)/netdemo.elf \
	$(GUEST_DIR)/spin.elf

.PHONY: all module userspace guests selftests bench-prog lab-stage lint check \
	demo bench clean

all: module userspace guests selftests bench-prog

module:
	@if [ ! -d "$(KDIR)" ]; then \
		echo "make: no kernel build tree at $(KDIR): apt-get install linux-headers-$$(uname -r), or build the lab kernel: make KDIR=\$$(selftests/lab/build-kernel)"; \
		exit 1; \
	fi
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

userspace: userspace/pvisor

# The launcher: commands and vCPU threads, channels and their I/O threads.
LAUNCHER_SRC := userspace/pvisor.c userspace/channels.c userspace/cgroup.c \
	userspace/control.c userspace/resources.c
LAUNCHER_HDR := userspace/channels.h userspace/cgroup.h userspace/control.h \
	userspace/resources.h

userspace/pvisor: $(LAUNCHER_SRC) $(LAUNCHER_HDR) $(BOOT_OBJ) $(BOOT_DEPS)
	$(CC) $(USER_CFLAGS) -D_GNU_SOURCE -o $@ $(LAUNCHER_SRC) $(BOOT_OBJ) $(USER_LDFLAGS)

$(BOOT_OBJ): userspace/lib/pvisor_boot.c $(BOOT_DEPS)
	$(CC) $(USER_CFLAGS) -c -o $@ $<

guests: $(GUESTS)

$(GUEST_DIR)/%.elf: $(GUEST_DIR)/%.c $(GUEST_DEPS)
	$(CC) $(GUEST_CFLAGS) -o $@ $< $(GUEST_KIT) $(GUEST_LDFLAGS)

# The lab's shell checks use it for the host's clock and a UDP receiver.
LABTOOL := userspace/tools/labtool

selftests: $(SELFTESTS) $(LABTOOL)

$(LABTOOL): $(LABTOOL).c
	$(CC) $(USER_CFLAGS) -D_GNU_SOURCE -o $@ $< $(USER_LDFLAGS)

# kselftest's harness comes from Debian's linux-source-6.1.
$(KSFT)/kselftest_harness.h:
	@test -f $(SRC_TAR) || { echo "make: $(SRC_TAR) missing: apt-get install linux-source-6.1"; exit 1; }
	mkdir -p $(KSFT)
	tar -xJf $(SRC_TAR) -C $(KSFT) --strip-components=4 \
		linux-source-6.1/tools/testing/selftests/kselftest_harness.h \
		linux-source-6.1/tools/testing/selftests/kselftest.h

# The launcher's resource control, without the module.
LAUNCHER_TEST_SRC := userspace/resources.c userspace/cgroup.c userspace/control.c \
	userspace/channels.c

selftests/launcher_test: selftests/launcher_test.c $(LAUNCHER_TEST_SRC) $(LAUNCHER_HDR) $(KSFT)/kselftest_harness.h
	$(CC) $(TEST_CFLAGS) -I$(KSFT) -I$(CURDIR)/userspace -o $@ $< $(LAUNCHER_TEST_SRC) $(USER_LDFLAGS)

selftests/%_test: selftests/%_test.c $(wildcard selftests/*.h) $(BOOT_OBJ) $(BOOT_DEPS) $(KSFT)/kselftest_harness.h
	$(CC) $(TEST_CFLAGS) -I$(KSFT) -o $@ $< $(BOOT_OBJ) $(USER_LDFLAGS)

bench-prog: $(BENCH_PROG) $(BENCH_DIR)/io_bench

$(BENCH_DIR)/io_bench: $(BENCH_DIR)/io_bench.c
	$(CC) $(USER_CFLAGS) -o $@ $< $(USER_LDFLAGS)

$(BENCH_GUEST_OBJ): $(BENCH_DIR)/bench_guest.c $(BENCH_DEPS) uapi/linux/pvisor_para.h
	$(CC) $(BENCH_CFLAGS) -mgeneral-regs-only -c -o $@ $<

$(BENCH_PROG): $(BENCH_HOST_SRC) $(BENCH_GUEST_OBJ) $(BENCH_DEPS) $(BOOT_OBJ) $(BOOT_DEPS)
	$(CC) $(BENCH_CFLAGS) -o $@ $(BENCH_HOST_SRC) $(BENCH_GUEST_OBJ) $(BOOT_OBJ) $(USER_LDFLAGS)

# Used by the lab runner: STAGE=dir KDIR=tree.
lab-stage: userspace selftests guests bench-prog
	selftests/lab/stage $(STAGE) $(KDIR)

lint: userspace selftests
	selftests/lab/lint

check:
	selftests/lab/deps
	$(MAKE) userspace selftests guests
	selftests/lab/check-all --lint

demo:
	selftests/lab/deps
	$(MAKE) userspace selftests guests
	selftests/lab/run-lane demo

# The table comes from the lane's BENCH lines, also kept in
# build/lab/bench/results.txt.
bench:
	selftests/lab/deps
	$(MAKE) userspace selftests guests bench-prog
	selftests/lab/run-lane bench
	@sed -n 's/^# \(BENCH .*\)/\1/p' $(BUILD)/lab/bench/tap >$(BUILD)/lab/bench/results.txt
	@echo
	@$(BENCH_PROG) report $(BUILD)/lab/bench/results.txt
	@echo
	@sed -n 's/^# \(block .*\|net.*\|netdemo: sent.*\)/\1/p' $(BUILD)/lab/bench/tap

clean:
	rm -rf $(BUILD) userspace/pvisor $(BOOT_OBJ) $(GUESTS) $(SELFTESTS) \
		$(BENCH_PROG) $(BENCH_GUEST_OBJ) $(BENCH_DIR)/io_bench $(LABTOOL)
	rm -f kmod/*.o kmod/*.ko kmod/*.mod kmod/*.mod.c kmod/.*.cmd \
		kmod/modules.order .*.cmd Module.symvers modules.order
