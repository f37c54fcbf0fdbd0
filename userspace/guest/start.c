// SPDX-License-Identifier: GPL-2.0
/*
 * The C side of entry.S: the IDT, the kit's setup before main(), the
 * handler every exception ends in, and the way out of the guest.  An
 * exception is fatal: report it on the console and shut down with status
 * 128 + vector, like a shell reports a signal.  The console belongs to
 * vCPU 0, so another vCPU reports through PVISOR_HC_CONSOLE_WRITE alone.
 */
#include "console.h"
#include "cpu.h"
#include "hypercall.h"
#include "irq.h"
#include "kit.h"
#include "page_alloc.h"
#include "smp.h"

#define GATE_INTR	0x8e00	/* present, DPL 0, 64-bit interrupt gate */

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

static void set_gate(struct idt_gate *g, uint64_t handler, uint16_t cs)
{
	g->offset_low = handler;
	g->selector = cs;
	g->flags = GATE_INTR;
	g->offset_mid = handler >> 16;
	g->offset_high = handler >> 32;
	g->reserved = 0;
}

/* Called by entry.S on vCPU 0, before it loads the IDT. */
void idt_fill(void)
{
	uint16_t cs = read_cs();
	unsigned int v;

	for (v = 0; v < PVISOR_IRQ_VECTOR_MIN; v++)
		set_gate(&idt[v], exception_stubs[v], cs);
	for (; v < NR_VECTORS; v++)
		set_gate(&idt[v], (uintptr_t)irq_stubs +
			 (v - PVISOR_IRQ_VECTOR_MIN) * IRQ_STUB_SIZE, cs);
}

void kit_init(const struct pvisor_start_info *si)
{
	irq_init();
	page_alloc_init(si);
	smp_init(si);
	console_init();
}

static bool on_boot_vcpu(void)
{
	return smp_nr_cpus() == 1 || smp_cpu_id() == 0;
}

/* "guest: exception on vCPU <hex> vector <hex> at rip <hex>", unbuffered. */
static void report_secondary(const struct exception_frame *f)
{
	static const char *const parts[] = {
		"guest: exception on vCPU 0x", " vector 0x", " at rip 0x",
	};
	uint64_t vals[] = { smp_cpu_id(), f->vector, f->rip };
	char line[128];
	unsigned int i, n = 0;
	const char *p;
	int shift;

	for (i = 0; i < ARRAY_SIZE(parts); i++) {
		for (p = parts[i]; *p; p++)
			line[n++] = *p;
		for (shift = 60; shift >= 0; shift -= 4)
			line[n++] = "0123456789abcdef"[(vals[i] >> shift) & 0xf];
	}
	line[n++] = '\n';
	pvisor_hc_console_write((uintptr_t)line, n);
}

/* Called by the stubs in entry.S, on the stack of the faulting code. */
noreturn void exception_handler(const struct exception_frame *f)
{
	if (!on_boot_vcpu()) {
		report_secondary(f);
		for (;;)
			pvisor_hc_shutdown(128 + f->vector);
	}
	printf("guest: exception %s (vector %lu) error 0x%lx at rip 0x%lx, cr2 0x%lx\n",
	       exception_names[f->vector], f->vector, f->error, f->rip,
	       read_cr2());
	guest_exit(128 + f->vector);
}

noreturn void guest_exit(int status)
{
	if (on_boot_vcpu())
		console_flush();
	for (;;)
		pvisor_hc_shutdown(status);
}
