// SPDX-License-Identifier: GPL-2.0
/*
 * The C side of entry.S: the handler every exception ends in, and the way
 * out of the guest.  An exception is fatal: report it on the console and
 * shut down with status 128 + vector, like a shell reports a signal.
 */
#include "console.h"
#include "cpu.h"
#include "hypercall.h"
#include "kit.h"

/* What the exception stubs in entry.S leave on the stack. */
struct exception_frame {
	uint64_t vector;
	uint64_t error;		/* 0 where the CPU pushes none */
	uint64_t rip, cs, rflags, rsp, ss;
};

static const char *const exception_names[32] = {
	"divide error", "debug", "NMI", "breakpoint", "overflow",
	"bound range exceeded", "invalid opcode", "device not available",
	"double fault", "coprocessor segment overrun", "invalid TSS",
	"segment not present", "stack fault", "general protection",
	"page fault", "reserved", "x87 FP error", "alignment check",
	"machine check", "SIMD FP error", "virtualization exception",
	"control protection", "reserved", "reserved", "reserved", "reserved",
	"reserved", "reserved", "hypervisor injection", "VMM communication",
	"security exception", "reserved",
};

/* Called by the stubs in entry.S, on the stack of the faulting code. */
noreturn void exception_handler(const struct exception_frame *f)
{
	printf("guest: exception %s (vector %lu) error 0x%lx at rip 0x%lx, cr2 0x%lx\n",
	       exception_names[f->vector], f->vector, f->error, f->rip,
	       read_cr2());
	guest_exit(128 + f->vector);
}

noreturn void guest_exit(int status)
{
	console_flush();
	for (;;)
		pvisor_hc_shutdown(status);
}
