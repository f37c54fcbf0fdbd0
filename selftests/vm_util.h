/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The host side of the selftests that run guests.  A test VM is built by
 * userspace/lib/pvisor_boot from the test binary itself (/proc/self/exe, a
 * static non-PIE executable whose segments load at their own addresses),
 * with a guest_* function of the test as its entry point:
 *
 *	void guest_fn(uint64_t start_info, uint64_t arg0, uint64_t arg1)
 *
 * RDI is the start-info GPA of the boot protocol, RSI and RDX the test's
 * arguments.  vm_run() runs the vCPU until an exit other than console
 * output, collecting the console text; the VM_RUN_* macros assert the exit
 * and print it (kill reason, VMX exit, guest status and console) when it
 * is not the expected one.
 *
 * More vCPUs of the same VM: vm_vcpu_add() creates one with registers of
 * its own (entry, stack, arguments) and vCPU 0's control registers and
 * segments; vm_vcpus_run() runs vCPU 0 (vm_vcpu0()) and the others each
 * from a thread of its own until every one has left PVISOR_RUN, and stops
 * them all (immediate_exit and a signal) when one ends in anything but a
 * shutdown with status 0, or when the time is up.
 */
#ifndef PVISOR_VM_UTIL_H
#define PVISOR_VM_UTIL_H

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <time.h>

#include "pvisor_util.h"
#include "pvisor_boot.h"
#include "guest_util.h"

#define VM_MEM_SIZE	(64ULL << 20)
#define VM_CONSOLE_MAX	16384

struct test_vm {
	struct pvisor_vm vm;
	char console[VM_CONSOLE_MAX + 1];	/* what fit, NUL-terminated */
	size_t console_len;
	uint64_t console_total;			/* every byte received */
};

/* In a fixture setup or a test: SKIP unless pvisor can run guests here. */
#define PVISOR_VM_OR_SKIP() do {					\
	int __fd;							\
									\
	PVISOR_OPEN_OR_SKIP(__fd);					\
	if (ioctl(__fd, PVISOR_CHECK_EXTENSION, PVISOR_CAP_VM) <= 0) {	\
		close(__fd);						\
		SKIP(return, "pvisor.ko lacks PVISOR_CAP_VM");		\
	}								\
	close(__fd);							\
} while (0)

/* A test_vm that vm_destroy() may see before vm_start() ran. */
static inline void vm_init(struct test_vm *t)
{
	memset(t, 0, sizeof(*t));
	t->vm.sys_fd = -1;
	t->vm.vm_fd = -1;
	t->vm.vcpu_fd = -1;
}

static inline void vm_destroy(struct test_vm *t)
{
	pvisor_vm_destroy(&t->vm);
}

static inline void vm_console_clear(struct test_vm *t)
{
	t->console_len = 0;
	t->console_total = 0;
	t->console[0] = '\0';
}

/* Host pointer to @len bytes of guest memory at @gpa; asserts they exist. */
static inline void *vm_guest_ptr(struct __test_metadata *_metadata,
				 struct test_vm *t, uint64_t gpa, uint64_t len)
{
	void *p = pvisor_vm_gpa(&t->vm, gpa, len);

	ASSERT_NE(NULL, p) TH_LOG("GPA %#llx+%#llx is not guest memory",
				  (unsigned long long)gpa,
				  (unsigned long long)len);
	return p;
}

static inline void *vm_guest_var(struct __test_metadata *_metadata,
				 struct test_vm *t, const void *var,
				 uint64_t len)
{
	return vm_guest_ptr(_metadata, t, (uintptr_t)var, len);
}

/*
 * The guest's copy of a global of the test binary: the image is loaded at
 * its link addresses, so the host address of @var is its GPA.  For an
 * array, *GUEST_VAR() is the guest's array.
 */
#define GUEST_VAR(t, var)						\
	((__typeof__(var) *)vm_guest_var(_metadata, (t), &(var), sizeof(var)))

/*
 * Create a VM with @mem_size bytes of memory that starts at guest function
 * @entry with RSI = @a0 and RDX = @a1.  A guest function that returns
 * lands in guest_returned().
 */
static inline void vm_start_mem(struct __test_metadata *_metadata,
				struct test_vm *t, uint64_t mem_size,
				uint64_t entry, uint64_t a0, uint64_t a1)
{
	struct pvisor_regs regs;
	uint64_t *ret;

	ASSERT_EQ(0, pvisor_vm_create(&t->vm, mem_size))
		TH_LOG("%s", t->vm.err);
	ASSERT_EQ(0, pvisor_vm_load_elf(&t->vm, "/proc/self/exe"))
		TH_LOG("%s", t->vm.err);
	t->vm.entry = entry;
	ASSERT_EQ(0, pvisor_vm_setup_boot(&t->vm, NULL))
		TH_LOG("%s", t->vm.err);

	IOCTL_OK(t->vm.vcpu_fd, PVISOR_GET_REGS, &regs);
	regs.rsi = a0;
	regs.rdx = a1;
	IOCTL_OK(t->vm.vcpu_fd, PVISOR_SET_REGS, &regs);
	ret = vm_guest_ptr(_metadata, t, regs.rsp, sizeof(*ret));
	*ret = (uintptr_t)guest_returned;
	vm_console_clear(t);
}

#define vm_start(t, fn, a0, a1)						\
	vm_start_mem(_metadata, (t), VM_MEM_SIZE, (uintptr_t)(fn), (a0), (a1))

/* Add the output of a CONSOLE exit of @run to @console. */
static inline void vm_console_add(const struct pvisor_run *run, char *console,
				  size_t *console_len, uint64_t *total)
{
	uint32_t len = run->console.len;
	size_t room = VM_CONSOLE_MAX - *console_len;

	if (len > PVISOR_CONSOLE_MAX)
		len = PVISOR_CONSOLE_MAX;
	*total += run->console.len;
	if (len > room)
		len = room;
	memcpy(console + *console_len, run->console.data, len);
	*console_len += len;
	console[*console_len] = '\0';
}

static inline void vm_console_append(struct test_vm *t)
{
	vm_console_add(t->vm.run, t->console, &t->console_len,
		       &t->console_total);
}

/*
 * PVISOR_RUN until an exit other than PVISOR_EXIT_CONSOLE, whose output is
 * collected.  Returns 0, or -1 with errno from PVISOR_RUN.
 */
static inline int vm_run(struct test_vm *t)
{
	for (;;) {
		if (ioctl(t->vm.vcpu_fd, PVISOR_RUN, 0))
			return -1;
		if (t->vm.run->exit_reason != PVISOR_EXIT_CONSOLE)
			return 0;
		vm_console_append(t);
	}
}

static inline const char *vm_exit_name(uint32_t reason)
{
	static const char *const names[] = {
		[PVISOR_EXIT_NONE] = "NONE",
		[PVISOR_EXIT_CONSOLE] = "CONSOLE",
		[PVISOR_EXIT_SHUTDOWN] = "SHUTDOWN",
		[PVISOR_EXIT_KILLED] = "KILLED",
		[PVISOR_EXIT_INTR] = "INTR",
	};

	return reason < ARRAY_SIZE(names) ? names[reason] : "unknown";
}

/* 0 for a status the test chose, else the GUEST_* kind. */
static inline unsigned int guest_status_kind(uint64_t status)
{
	if ((status & GUEST_STATUS_MASK) != GUEST_STATUS_MAGIC)
		return 0;
	return (status >> 16) & 0xff;
}

static inline const char *guest_status_text(uint64_t status)
{
	static char buf[96];
	unsigned int value = status & 0xffff;

	switch (guest_status_kind(status)) {
	case GUEST_ASSERT_FAILED:
		snprintf(buf, sizeof(buf), " (guest assertion at line %u)",
			 value);
		break;
	case GUEST_EXCEPTION:
		snprintf(buf, sizeof(buf), " (unexpected guest exception %u)",
			 value);
		break;
	case GUEST_RETURNED:
		return " (the guest function returned)";
	case GUEST_SKIPPED:
		snprintf(buf, sizeof(buf), " (guest skipped at line %u)",
			 value);
		break;
	default:
		return "";
	}
	return buf;
}

/*
 * The last exit of @run and the guest's @console, for failure messages;
 * console lines become TAP diagnostics.  Not reentrant.
 */
static inline const char *vm_describe_run(const struct pvisor_run *run,
					  const char *console,
					  size_t console_len)
{
	static char buf[VM_CONSOLE_MAX * 2 + 512];
	size_t n = 0, i;

	if (!run)
		return "no vCPU mapping";
	switch (run->exit_reason) {
	case PVISOR_EXIT_SHUTDOWN:
		n = snprintf(buf, sizeof(buf), "exit SHUTDOWN, status %#llx%s",
			     (unsigned long long)run->shutdown.status,
			     guest_status_text(run->shutdown.status));
		break;
	case PVISOR_EXIT_KILLED:
		n = snprintf(buf, sizeof(buf),
			     "exit KILLED: %s (%u), VMX exit reason %u, qualification %#llx, RIP %#llx, data %#llx",
			     pvisor_kill_reason_name(run->killed.reason),
			     run->killed.reason, run->killed.vmx_exit_reason,
			     (unsigned long long)run->killed.qualification,
			     (unsigned long long)run->killed.rip,
			     (unsigned long long)run->killed.data);
		break;
	case PVISOR_EXIT_CONSOLE:
		n = snprintf(buf, sizeof(buf), "exit CONSOLE, %u bytes",
			     run->console.len);
		break;
	default:
		n = snprintf(buf, sizeof(buf), "exit %s (%u)",
			     vm_exit_name(run->exit_reason), run->exit_reason);
		break;
	}
	if (console_len && n < sizeof(buf))
		n += snprintf(buf + n, sizeof(buf) - n, "; guest console:\n# ");
	for (i = 0; i < console_len && n + 4 < sizeof(buf); i++) {
		char c = console[i];

		if (c == '\n' && i + 1 < console_len) {
			memcpy(buf + n, "\n# ", 3);
			n += 3;
		} else if (c != '\n') {
			buf[n++] = c >= ' ' && c < 127 ? c : '.';
		}
	}
	buf[n < sizeof(buf) ? n : sizeof(buf) - 1] = '\0';
	return buf;
}

static inline const char *vm_describe(struct test_vm *t)
{
	return vm_describe_run(t->vm.run, t->console, t->console_len);
}

/* The start of the console on one line, for a SKIP reason. */
static inline const char *vm_console_line(struct test_vm *t)
{
	static char buf[200];
	size_t i;

	for (i = 0; i < t->console_len && i < sizeof(buf) - 1; i++)
		buf[i] = t->console[i] >= ' ' && t->console[i] < 127 ?
			 t->console[i] : ' ';
	buf[i] = '\0';
	return buf;
}

/* The exit that the last PVISOR_RUN returned must be @reason. */
#define ASSERT_EXIT(t, reason)						\
	ASSERT_EQ((reason), (t)->vm.run->exit_reason)			\
		TH_LOG("expected exit %s, got %s", vm_exit_name(reason), \
		       vm_describe(t))

/* PVISOR_RUN must succeed (through console exits) with exit @reason. */
#define VM_RUN_TO_EXIT(t, reason) do {					\
	int __r = vm_run(t), __e = errno;				\
									\
	ASSERT_EQ(0, __r) TH_LOG("PVISOR_RUN: %s; %s", strerror(__e),	\
				 vm_describe(t));			\
	ASSERT_EXIT((t), (reason));					\
} while (0)

/*
 * Run to a shutdown whose status the test chose, and evaluate to it.  A
 * failure status of guest_util.h fails the test; GUEST_SKIP() skips it.
 */
#define VM_RUN_TO_SHUTDOWN(t) ({					\
	uint64_t __status;						\
									\
	VM_RUN_TO_EXIT((t), PVISOR_EXIT_SHUTDOWN);			\
	__status = (t)->vm.run->shutdown.status;			\
	if (guest_status_kind(__status) == GUEST_SKIPPED)		\
		SKIP(return, "guest: %s", vm_console_line(t));		\
	ASSERT_EQ(0, guest_status_kind(__status))			\
		TH_LOG("%s", vm_describe(t));				\
	__status;							\
})

/* Run to a kill with @kill_reason. */
#define VM_RUN_TO_KILL(t, kill_reason) do {				\
	VM_RUN_TO_EXIT((t), PVISOR_EXIT_KILLED);			\
	ASSERT_EQ((kill_reason), (t)->vm.run->killed.reason)		\
		TH_LOG("expected kill reason %s, got %s",		\
		       pvisor_kill_reason_name(kill_reason), vm_describe(t));	\
} while (0)

/* Every ioctl on a killed VM and its vCPU fails with EIO. */
static inline void vm_assert_dead(struct __test_metadata *_metadata,
				  struct test_vm *t)
{
	struct pvisor_memory_region region;
	struct pvisor_sregs sregs;
	struct pvisor_regs regs;

	memset(&region, 0, sizeof(region));
	memset(&regs, 0, sizeof(regs));
	regs.rflags = 2;
	region.slot = 1;
	IOCTL_ERR(t->vm.vcpu_fd, PVISOR_RUN, 0, EIO);
	IOCTL_ERR(t->vm.vcpu_fd, PVISOR_GET_REGS, &regs, EIO);
	IOCTL_ERR(t->vm.vcpu_fd, PVISOR_SET_REGS, &regs, EIO);
	IOCTL_ERR(t->vm.vcpu_fd, PVISOR_GET_SREGS, &sregs, EIO);
	IOCTL_ERR(t->vm.vm_fd, PVISOR_SET_MEMORY_REGION, &region, EIO);
	IOCTL_ERR(t->vm.vm_fd, PVISOR_CREATE_VCPU, 1UL, EIO);
}

/* A vCPU of a test VM, run by vm_vcpus_run() from a thread of its own. */
struct test_vcpu {
	uint32_t id;
	int fd;
	struct pvisor_run *run;
	size_t run_size;
	bool owned;		/* fd and run are this struct's, not t->vm's */

	pthread_t thread;
	bool started;
	bool done;		/* left PVISOR_RUN for good */
	bool stop;		/* asked to leave */
	int run_errno;		/* 0, or PVISOR_RUN's errno */
	char console[VM_CONSOLE_MAX + 1];
	size_t console_len;
	uint64_t console_total;
};

/* vCPU 0 of @t as a test_vcpu (its fd and run stay @t's). */
static inline void vm_vcpu0(struct test_vm *t, struct test_vcpu *v)
{
	memset(v, 0, sizeof(*v));
	v->id = 0;
	v->fd = t->vm.vcpu_fd;
	v->run = t->vm.run;
	v->run_size = t->vm.run_size;
}

/*
 * Create vCPU @id of @t's VM, starting at guest function @entry with RSI =
 * @a0, RDX = @a1 and the stack below guest address @stack_top (16-byte
 * aligned; a return lands in guest_returned()); control registers,
 * segments and descriptor tables are vCPU 0's, as vm_start() set them.
 */
static inline void vm_vcpu_add(struct __test_metadata *_metadata,
			       struct test_vm *t, struct test_vcpu *v,
			       uint32_t id, uint64_t entry, uint64_t a0,
			       uint64_t a1, uint64_t stack_top)
{
	struct pvisor_sregs sregs;
	struct pvisor_regs regs;
	uint64_t *ret;
	int size;

	memset(v, 0, sizeof(*v));
	v->id = id;
	v->fd = -1;
	v->fd = IOCTL_OK(t->vm.vm_fd, PVISOR_CREATE_VCPU, (unsigned long)id);
	v->owned = true;
	size = IOCTL_OK(t->vm.sys_fd, PVISOR_GET_VCPU_MMAP_SIZE, 0);
	v->run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd,
		      0);
	ASSERT_NE(MAP_FAILED, v->run) TH_LOG("mmap of vCPU %u: %s", id,
					     strerror(errno));
	v->run_size = size;

	IOCTL_OK(t->vm.vcpu_fd, PVISOR_GET_SREGS, &sregs);
	IOCTL_OK(v->fd, PVISOR_SET_SREGS, &sregs);
	IOCTL_OK(t->vm.vcpu_fd, PVISOR_GET_REGS, &regs);
	regs.rip = entry;
	regs.rsp = stack_top - 8;
	regs.rsi = a0;
	regs.rdx = a1;
	IOCTL_OK(v->fd, PVISOR_SET_REGS, &regs);
	ret = vm_guest_ptr(_metadata, t, regs.rsp, sizeof(*ret));
	*ret = (uintptr_t)guest_returned;
}

/* Close what vm_vcpu_add() opened; safe on a zeroed or wrapped vCPU. */
static inline void vm_vcpu_release(struct test_vcpu *v)
{
	if (!v->owned)
		return;
	if (v->run && v->run != MAP_FAILED)
		munmap(v->run, v->run_size);
	if (v->fd >= 0)
		close(v->fd);
	v->run = NULL;
	v->fd = -1;
	v->owned = false;
}

static inline const char *vm_vcpu_describe(struct test_vcpu *v)
{
	if (v->stop && v->run_errno == EINTR)
		return "stopped: another vCPU failed first, or the time is up";
	if (v->run_errno)
		return strerror(v->run_errno);
	return vm_describe_run(v->run, v->console, v->console_len);
}

static void vm_vcpu_signal(int sig)
{
}

static inline void *vm_vcpu_thread(void *arg)
{
	struct test_vcpu *v = arg;

	for (;;) {
		if (ioctl(v->fd, PVISOR_RUN, 0)) {
			if (errno == EINTR &&
			    !__atomic_load_n(&v->stop, __ATOMIC_ACQUIRE))
				continue;
			v->run_errno = errno;
			break;
		}
		if (v->run->exit_reason != PVISOR_EXIT_CONSOLE)
			break;
		vm_console_add(v->run, v->console, &v->console_len,
			       &v->console_total);
	}
	__atomic_store_n(&v->done, true, __ATOMIC_RELEASE);
	return NULL;
}

/* The vCPU ended in a shutdown with status 0. */
static inline bool vm_vcpu_is_clean(const struct test_vcpu *v)
{
	return !v->run_errno && v->run->exit_reason == PVISOR_EXIT_SHUTDOWN &&
	       !v->run->shutdown.status;
}

/*
 * Run @nr vCPUs until each has left PVISOR_RUN: every one must shut down
 * with status 0 within @timeout_s seconds.  When one does not, the others
 * are stopped and the test fails with what each vCPU did.
 */
static inline void vm_vcpus_run(struct __test_metadata *_metadata,
				struct test_vcpu *v, int nr, int timeout_s)
{
	const struct timespec tick = { .tv_nsec = 2000000 };
	struct timespec start, now;
	struct sigaction sa;
	bool failed = false, late = false;
	int i, left;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = vm_vcpu_signal;
	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (i = 0; i < nr; i++) {
		v[i].run->immediate_exit = 0;
		ASSERT_EQ(0, pthread_create(&v[i].thread, NULL, vm_vcpu_thread,
					    &v[i]));
		v[i].started = true;
	}
	for (;;) {
		left = 0;
		for (i = 0; i < nr; i++) {
			if (!__atomic_load_n(&v[i].done, __ATOMIC_ACQUIRE))
				left++;
			else if (!vm_vcpu_is_clean(&v[i]))
				failed = true;
		}
		if (!left)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		late = now.tv_sec - start.tv_sec >= timeout_s;
		if (failed || late)
			break;
		nanosleep(&tick, NULL);
	}
	/* Stop the rest: immediate_exit, and a signal to end a RUN. */
	for (i = 0; i < nr; i++) {
		if (__atomic_load_n(&v[i].done, __ATOMIC_ACQUIRE))
			continue;
		__atomic_store_n(&v[i].stop, true, __ATOMIC_RELEASE);
		v[i].run->immediate_exit = 1;
	}
	for (i = 0; i < nr; i++) {
		while (!__atomic_load_n(&v[i].done, __ATOMIC_ACQUIRE)) {
			pthread_kill(v[i].thread, SIGUSR1);
			nanosleep(&tick, NULL);
		}
		pthread_join(v[i].thread, NULL);
		v[i].started = false;
	}
	/* Braces: the harness's handler after EXPECT is a loop of its own. */
	for (i = 0; i < nr; i++) {
		EXPECT_TRUE(vm_vcpu_is_clean(&v[i]))
			TH_LOG("vCPU %u%s: %s", v[i].id,
			       late ? " (time is up)" : "",
			       vm_vcpu_describe(&v[i]));
	}
}

/* The fixture of tests that run one guest: TEST_F(vm, name). */
FIXTURE(vm) {
	struct test_vm t;
};

FIXTURE_SETUP(vm)
{
	vm_init(&self->t);
	PVISOR_VM_OR_SKIP();
}

FIXTURE_TEARDOWN(vm)
{
	vm_destroy(&self->t);
}

#endif /* PVISOR_VM_UTIL_H */
