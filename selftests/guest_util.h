/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The guest side of the selftests: code that runs inside a pvisor guest
 * loaded from the test binary itself (vm_util.h loads /proc/self/exe).
 *
 * Guest code runs at CPL 0 on the launcher's identity map, so a pointer to
 * a global or to the stack is also its guest-physical address.  It must not
 * call the C library, touch TLS or use the stack protector (TEST_CFLAGS has
 * -fno-stack-protector and -mno-red-zone, the latter because exceptions are
 * taken on the interrupted stack).  Guest functions and data are named
 * guest_*; the host reads guest globals through vm_util.h's GUEST_VAR().
 *
 * A guest reports through hypercalls: the console, and the shutdown status,
 * where GUEST_STATUS_* values mark a failed assertion, an unexpected
 * exception, a guest function that returned, or a missing CPU feature.
 *
 * Exceptions: guest_idt_setup() installs an IDT whose 256 stubs save the
 * registers, the x87/SSE state and call guest_isr_dispatch().  That records
 * the exception in guest_exc and then either calls guest_exc_hook, or, inside
 * guest_try(), returns from the faulting probe with GUEST_FAULTED, or reports
 * the exception and shuts down.
 */
#ifndef PVISOR_GUEST_UTIL_H
#define PVISOR_GUEST_UTIL_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdnoreturn.h>

#include <linux/pvisor_para.h>

#ifndef BIT_ULL
#define BIT_ULL(nr)	(1ULL << (nr))
#endif

#define GUEST_STR2(x)	#x
#define GUEST_STR(x)	GUEST_STR2(x)

#define GUEST_PAGE_SIZE	0x1000ULL

/*
 * Shutdown statuses of the test machinery: "guest" in the top five bytes,
 * the kind in bits 23:16, a line number or vector in bits 15:0.
 */
#define GUEST_STATUS_MAGIC	0x6775657374000000ULL
#define GUEST_STATUS_MASK	0xffffffffff000000ULL
#define GUEST_ASSERT_FAILED	1	/* GUEST_ASSERT*(), value: line */
#define GUEST_EXCEPTION		2	/* unexpected exception, value: vector */
#define GUEST_RETURNED		3	/* the guest function returned */
#define GUEST_SKIPPED		4	/* GUEST_SKIP(), value: line */
#define GUEST_STATUS(kind, value)					\
	(GUEST_STATUS_MAGIC | (uint64_t)(kind) << 16 | ((value) & 0xffff))
/* GUEST_STATUS(GUEST_RETURNED, 0), spelled out for the assembler. */
#define GUEST_STATUS_RETURNED	0x6775657374030000
static_assert(GUEST_STATUS(GUEST_RETURNED, 0) == GUEST_STATUS_RETURNED,
	      "GUEST_STATUS_RETURNED");

/* What guest_try() returns when the probe faulted. */
#define GUEST_FAULTED		0xfa017edfa017ed00ULL
#define GUEST_NO_VECTOR		0xffffULL

/* Segment selectors of guest_user_setup()'s GDT. */
#define GUEST_KERNEL_CS		0x08
#define GUEST_KERNEL_DS		0x10
#define GUEST_USER_DS		0x1b
#define GUEST_USER_CS		0x23
#define GUEST_TSS_SEL		0x28
/* The software interrupt CPL 3 code may use to get back to CPL 0. */
#define GUEST_USER_VECTOR	0x80

/* Paging-structure entry bits. */
#define PTE_P		0x001ULL
#define PTE_W		0x002ULL
#define PTE_U		0x004ULL
#define PTE_A		0x020ULL
#define PTE_D		0x040ULL
#define PTE_PS		0x080ULL
#define PTE_NX		BIT_ULL(63)
#define PTE_ADDR	0x000ffffffffff000ULL

/* Page-fault error code bits. */
#define PF_P		0x01
#define PF_W		0x02
#define PF_U		0x04
#define PF_RSVD		0x08
#define PF_I		0x10

#define X86_CR4_OSXSAVE	BIT_ULL(18)

/* Hypercalls: the result is >= 0 or a negated PVISOR_E*. */
static inline uint64_t guest_hypercall(uint64_t nr, uint64_t a0, uint64_t a1)
{
	uint64_t ret;

	asm volatile("vmcall"
		     : "=a" (ret)
		     : "a" (nr), "D" (a0), "S" (a1)
		     : "memory");
	return ret;
}

static inline uint64_t guest_console_write(const void *buf, uint64_t len)
{
	return guest_hypercall(PVISOR_HC_CONSOLE_WRITE, (uintptr_t)buf, len);
}

static inline uint64_t guest_get_info(uint64_t what)
{
	return guest_hypercall(PVISOR_HC_GET_INFO, what, 0);
}

static inline noreturn void guest_shutdown(uint64_t status)
{
	guest_hypercall(PVISOR_HC_SHUTDOWN, status, 0);
	/* Still here: make it loud (an exception, or a triple fault). */
	asm volatile("ud2");
	__builtin_unreachable();
}

static inline uint64_t guest_strlen(const char *s)
{
	uint64_t n = 0;

	while (s[n])
		n++;
	return n;
}

static inline void guest_print(const char *s)
{
	guest_console_write(s, guest_strlen(s));
}

static inline void guest_print_hex(uint64_t val)
{
	char buf[18];
	int i;

	buf[0] = '0';
	buf[1] = 'x';
	for (i = 0; i < 16; i++)
		buf[2 + i] = "0123456789abcdef"[(val >> (60 - 4 * i)) & 0xf];
	guest_console_write(buf, sizeof(buf));
}

static inline noreturn void guest_fail(const char *msg, int line)
{
	guest_print(msg);
	guest_shutdown(GUEST_STATUS(GUEST_ASSERT_FAILED, line));
}

static inline noreturn void guest_fail_eq(const char *msg, uint64_t expected,
					  uint64_t seen, int line)
{
	guest_print(msg);
	guest_print(": expected ");
	guest_print_hex(expected);
	guest_print(", seen ");
	guest_print_hex(seen);
	guest_print("\n");
	guest_shutdown(GUEST_STATUS(GUEST_ASSERT_FAILED, line));
}

#define GUEST_WHERE	__FILE__ ":" GUEST_STR(__LINE__) ": "

#define GUEST_ASSERT(cond) do {						\
	if (!(cond))							\
		guest_fail(GUEST_WHERE "guest assertion failed: " #cond "\n", \
			   __LINE__);					\
} while (0)

#define GUEST_ASSERT_EQ(expected, seen) do {				\
	uint64_t __e = (uint64_t)(expected), __s = (uint64_t)(seen);	\
									\
	if (__e != __s)							\
		guest_fail_eq(GUEST_WHERE #expected " == " #seen, __e, __s, \
			      __LINE__);				\
} while (0)

/* The CPU lacks something the test needs: the host reports SKIP. */
#define GUEST_SKIP(why) do {						\
	guest_print(why);						\
	guest_shutdown(GUEST_STATUS(GUEST_SKIPPED, __LINE__));		\
} while (0)

/* CPU access. */
struct guest_cpuid {
	uint32_t eax, ebx, ecx, edx;
};

static inline struct guest_cpuid guest_cpuid(uint32_t leaf, uint32_t sub)
{
	struct guest_cpuid r;

	asm volatile("cpuid"
		     : "=a" (r.eax), "=b" (r.ebx), "=c" (r.ecx), "=d" (r.edx)
		     : "a" (leaf), "c" (sub));
	return r;
}

static inline uint64_t guest_read_cr0(void)
{
	uint64_t val;

	asm volatile("mov %%cr0, %0" : "=r" (val));
	return val;
}

static inline uint64_t guest_read_cr2(void)
{
	uint64_t val;

	asm volatile("mov %%cr2, %0" : "=r" (val));
	return val;
}

static inline uint64_t guest_read_cr3(void)
{
	uint64_t val;

	asm volatile("mov %%cr3, %0" : "=r" (val));
	return val;
}

static inline void guest_write_cr3(uint64_t val)
{
	asm volatile("mov %0, %%cr3" : : "r" (val) : "memory");
}

static inline uint64_t guest_read_cr4(void)
{
	uint64_t val;

	asm volatile("mov %%cr4, %0" : "=r" (val));
	return val;
}

static inline void guest_write_cr4(uint64_t val)
{
	asm volatile("mov %0, %%cr4" : : "r" (val) : "memory");
}

static inline void guest_invlpg(uint64_t va)
{
	asm volatile("invlpg (%0)" : : "r" (va) : "memory");
}

static inline uint64_t guest_rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	asm volatile("rdmsr" : "=a" (lo), "=d" (hi) : "c" (msr));
	return (uint64_t)hi << 32 | lo;
}

static inline void guest_wrmsr(uint32_t msr, uint64_t val)
{
	asm volatile("wrmsr"
		     : : "c" (msr), "a" ((uint32_t)val), "d" (val >> 32)
		     : "memory");
}

static inline void guest_xsetbv(uint32_t xcr, uint64_t val)
{
	asm volatile("xsetbv"
		     : : "c" (xcr), "a" ((uint32_t)val), "d" (val >> 32));
}

/* The 10-byte operand of LGDT and LIDT: limit, then base. */
static inline void guest_dtr(uint16_t dtr[5], const void *base,
			     uint16_t limit)
{
	uint64_t b = (uintptr_t)base;
	int i;

	dtr[0] = limit;
	for (i = 0; i < 4; i++)
		dtr[1 + i] = b >> (16 * i);
}

static inline void guest_lidt(const void *base, uint16_t limit)
{
	uint16_t dtr[5];

	guest_dtr(dtr, base, limit);
	asm volatile("lidt %0" : : "m" (dtr) : "memory");
}

static inline void guest_lgdt(const void *base, uint16_t limit)
{
	uint16_t dtr[5];

	guest_dtr(dtr, base, limit);
	asm volatile("lgdt %0" : : "m" (dtr) : "memory");
}

/*
 * Enable AVX state (CR4.OSXSAVE, XCR0 = x87|SSE|AVX) when the CPU offers
 * XSAVE and AVX; returns whether it did.
 */
static inline bool guest_enable_avx(void)
{
	struct guest_cpuid c = guest_cpuid(1, 0);

	if (!(c.ecx & (1u << 26)) || !(c.ecx & (1u << 28)))
		return false;
	guest_write_cr4(guest_read_cr4() | X86_CR4_OSXSAVE);
	guest_xsetbv(0, 7);
	return true;
}

/* Exceptions. */

/* The stack at guest_isr_dispatch(): pushed by the stubs, then the CPU. */
struct guest_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};

/*
 * The last exception taken, for the guest and (through memory) the host.
 * The exception state is external, so that the compiler reloads it after
 * every call: a call may take an exception.
 */
struct guest_exc_record {
	uint64_t vector;	/* GUEST_NO_VECTOR: none yet */
	uint64_t error;
	uint64_t rip;
	uint64_t cs;
	uint64_t cr2;
	uint64_t count;
};

struct guest_exc_record guest_exc = {
	.vector = GUEST_NO_VECTOR,
};

/* Set by guest_try() while its probe runs. */
bool guest_exc_expected;

/* When set, it handles every exception; the frame may be changed. */
void (*guest_exc_hook)(struct guest_frame *frame);

/* Print an exception frame after @what and shut down with its vector. */
static inline void guest_exception_fatal(struct guest_frame *f,
					 const char *what)
{
	guest_print(what);
	guest_print_hex(f->vector);
	guest_print(" error ");
	guest_print_hex(f->error);
	guest_print(" rip ");
	guest_print_hex(f->rip);
	guest_print(" cr2 ");
	guest_print_hex(guest_exc.cr2);
	guest_print("\n");
	guest_shutdown(GUEST_STATUS(GUEST_EXCEPTION, f->vector));
}

/* Called by the stubs below (hence external), with their frame. */
void guest_isr_dispatch(struct guest_frame *f)
{
	guest_exc.vector = f->vector;
	guest_exc.error = f->error;
	guest_exc.rip = f->rip;
	guest_exc.cs = f->cs;
	guest_exc.cr2 = guest_read_cr2();
	guest_exc.count++;

	if (guest_exc_hook) {
		guest_exc_hook(f);
		return;
	}
	if (guest_exc_expected) {
		/* Return from the probe, which has not touched its stack. */
		guest_exc_expected = false;
		f->rip = *(uint64_t *)f->rsp;
		f->rsp += 8;
		f->rax = GUEST_FAULTED;
		return;
	}
	guest_exception_fatal(f, "guest: unexpected exception, vector ");
}

/*
 * 256 stubs, 16 bytes apart: push a zero error code where the CPU pushes
 * none, push the vector, and go to the common part, which saves the
 * general registers and the x87/SSE state around guest_isr_dispatch().
 * The CPU aligns RSP to 16 bytes before it pushes its frame, so the call
 * is made with an aligned stack.
 */
asm(".pushsection .text\n"
"	.align 16\n"
"	.globl guest_isr_stubs\n"
"guest_isr_stubs:\n"
"	.set guest_vec, 0\n"
"	.rept 256\n"
"	.align 16\n"
"	.if guest_vec == 8 || (guest_vec >= 10 && guest_vec <= 14) || guest_vec == 17 || guest_vec == 21 || guest_vec == 29 || guest_vec == 30\n"
"	.else\n"
"	pushq $0\n"
"	.endif\n"
"	pushq $guest_vec\n"
"	jmp guest_isr_common\n"
"	.set guest_vec, guest_vec + 1\n"
"	.endr\n"
"guest_isr_common:\n"
"	push %rax\n"
"	push %rbx\n"
"	push %rcx\n"
"	push %rdx\n"
"	push %rsi\n"
"	push %rdi\n"
"	push %rbp\n"
"	push %r8\n"
"	push %r9\n"
"	push %r10\n"
"	push %r11\n"
"	push %r12\n"
"	push %r13\n"
"	push %r14\n"
"	push %r15\n"
"	mov %rsp, %rdi\n"
"	sub $512, %rsp\n"
"	fxsave64 (%rsp)\n"
"	cld\n"
"	call guest_isr_dispatch\n"
"	fxrstor64 (%rsp)\n"
"	add $512, %rsp\n"
"	pop %r15\n"
"	pop %r14\n"
"	pop %r13\n"
"	pop %r12\n"
"	pop %r11\n"
"	pop %r10\n"
"	pop %r9\n"
"	pop %r8\n"
"	pop %rbp\n"
"	pop %rdi\n"
"	pop %rsi\n"
"	pop %rdx\n"
"	pop %rcx\n"
"	pop %rbx\n"
"	pop %rax\n"
"	add $16, %rsp\n"
"	iretq\n"
"	.popsection\n");

extern const char guest_isr_stubs[];

struct guest_idt_gate {
	uint16_t offset_low;
	uint16_t selector;
	uint8_t ist;
	uint8_t attr;		/* P, DPL, type */
	uint16_t offset_mid;
	uint32_t offset_high;
	uint32_t zero;
};

/*
 * Load an IDT of interrupt gates to the stubs in the current code segment;
 * GUEST_USER_VECTOR may also be raised from CPL 3.
 */
static inline void guest_idt_setup(void)
{
	static struct guest_idt_gate idt[256];
	uint16_t cs;
	int v;

	asm volatile("mov %%cs, %0" : "=r" (cs));
	for (v = 0; v < 256; v++) {
		uint64_t addr = (uintptr_t)guest_isr_stubs + 16 * v;

		idt[v].offset_low = addr;
		idt[v].selector = cs;
		idt[v].ist = 0;
		idt[v].attr = v == GUEST_USER_VECTOR ? 0xee : 0x8e;
		idt[v].offset_mid = addr >> 16;
		idt[v].offset_high = addr >> 32;
		idt[v].zero = 0;
	}
	guest_lidt(idt, sizeof(idt) - 1);
}

/*
 * A guest function written in assembly: the instructions @insns, declared
 * to C as "@ret @name @params".
 */
#define GUEST_ASM(ret, name, params, insns)				\
	asm(".pushsection .text\n"					\
	    "	.globl " #name "\n"					\
	    "	.type " #name ", @function\n"				\
	    #name ":\n"							\
	    insns							\
	    "	.size " #name ", . - " #name "\n"			\
	    "	.popsection\n");					\
	ret name params

/*
 * Probes: functions in assembly whose faulting instruction comes before
 * anything that touches the stack, so that guest_isr_dispatch() can return
 * from them.  Each takes up to two arguments (RDI, RSI) and returns RAX.
 */
#define GUEST_PROBE(name, insns)					\
	GUEST_ASM(uint64_t, name, (uint64_t a0, uint64_t a1),		\
		  insns "\n	ret\n")

/* Read or write 8 bytes at @a0; the access is the first instruction. */
GUEST_PROBE(guest_read64, "	mov (%rdi), %rax");
GUEST_PROBE(guest_write64, "	mov %rsi, (%rdi)\n	xor %eax, %eax");

/*
 * Call @probe(@a0, @a1) with exceptions caught: returns its result, or
 * GUEST_FAULTED with the exception in guest_exc.  @probe is a GUEST_PROBE
 * or the address of code that faults on its first instruction.
 */
static inline uint64_t guest_try(uint64_t (*probe)(uint64_t a0, uint64_t a1),
				 uint64_t a0, uint64_t a1)
{
	uint64_t ret;

	guest_exc.vector = GUEST_NO_VECTOR;
	guest_exc.count = 0;
	guest_exc_expected = true;
	ret = probe(a0, a1);
	guest_exc_expected = false;
	return ret;
}

/* @probe(@a0, @a1) must raise exactly one exception @vector. */
#define GUEST_ASSERT_EXCEPTION(_vector, probe, a0, a1) do {		\
	uint64_t __r = guest_try((probe), (a0), (a1));			\
									\
	GUEST_ASSERT_EQ(GUEST_FAULTED, __r);				\
	GUEST_ASSERT_EQ((_vector), guest_exc.vector);			\
	GUEST_ASSERT_EQ(1, guest_exc.count);				\
} while (0)

/* CPL 3. */

/*
 * The 64-bit TSS, 104 bytes as 32-bit words: RSP0 in words 1-2, the I/O
 * map base in the upper half of word 25.
 */
#define GUEST_TSS_WORDS	26

/*
 * Set U in every present entry of the launcher's identity map (SMEP and
 * SMAP are off, so CPL 0 keeps using it) and flush by reloading CR3.
 */
static inline void guest_identity_map_allow_user(void)
{
	uint64_t *pml4 = (uint64_t *)(guest_read_cr3() & PTE_ADDR);
	uint64_t *pdpt, *pd;
	int i, j;

	pml4[0] |= PTE_U;
	pdpt = (uint64_t *)(pml4[0] & PTE_ADDR);
	for (i = 0; i < 512; i++) {
		if (!(pdpt[i] & PTE_P))
			continue;
		pdpt[i] |= PTE_U;
		if (pdpt[i] & PTE_PS)
			continue;
		pd = (uint64_t *)(pdpt[i] & PTE_ADDR);
		for (j = 0; j < 512; j++)
			if (pd[j] & PTE_P)
				pd[j] |= PTE_U;
	}
	guest_write_cr3(guest_read_cr3());
}

/*
 * Replace the launcher's GDT with one that also has CPL 3 segments, and
 * load a TSS whose RSP0 is a stack of its own, so that exceptions and
 * GUEST_USER_VECTOR from CPL 3 reach the IDT's handlers.  The kernel code
 * and data descriptors equal the launcher's, so CS and SS stay valid.
 */
static inline void guest_user_setup(void)
{
	static uint64_t gdt[7];
	static uint32_t tss[GUEST_TSS_WORDS];
	static uint64_t stack[2048];
	uint64_t base = (uintptr_t)tss;
	uint64_t rsp0 = (uintptr_t)(stack + 2048);

	gdt[0] = 0;
	gdt[1] = 0x00af9b000000ffffULL;	/* 0x08: code, 64-bit, DPL 0 */
	gdt[2] = 0x00cf93000000ffffULL;	/* 0x10: data, DPL 0 */
	gdt[3] = 0x00cff3000000ffffULL;	/* 0x18: data, DPL 3 */
	gdt[4] = 0x00affb000000ffffULL;	/* 0x20: code, 64-bit, DPL 3 */
	/* 0x28: available 64-bit TSS */
	gdt[5] = (sizeof(tss) - 1) | (base & 0xffffff) << 16 | 0x89ULL << 40 |
		 (base >> 24 & 0xff) << 56;
	gdt[6] = base >> 32;
	tss[1] = rsp0;
	tss[2] = rsp0 >> 32;
	/* No I/O permission map: its base is the TSS limit. */
	tss[25] = (uint32_t)sizeof(tss) << 16;
	guest_lgdt(gdt, sizeof(gdt) - 1);
	asm volatile("ltr %w0" : : "r" (GUEST_TSS_SEL) : "memory");
	guest_identity_map_allow_user();
}

/*
 * IRETQ to CPL 3 at @rip with @rsp and RDI = @arg, interrupts off.  Does
 * not return: CPL 3 code comes back through an exception or
 * GUEST_USER_VECTOR, handled by guest_exc_hook.
 */
GUEST_ASM(noreturn void, guest_enter_user,
	  (uint64_t rip, uint64_t rsp, uint64_t arg),
	  "	pushq $" GUEST_STR(GUEST_USER_DS) "\n"
	  "	pushq %rsi\n"
	  "	pushq $2\n"
	  "	pushq $" GUEST_STR(GUEST_USER_CS) "\n"
	  "	pushq %rdi\n"
	  "	mov %rdx, %rdi\n"
	  "	iretq\n");

/*
 * The return address a guest function finds on its stack (vm_util.h puts
 * it there): returning is a bug of the test.
 */
GUEST_ASM(void, guest_returned, (void),
	  "	mov $" GUEST_STR(PVISOR_HC_SHUTDOWN) ", %eax\n"
	  "	movabs $" GUEST_STR(GUEST_STATUS_RETURNED) ", %rdi\n"
	  "	vmcall\n"
	  "	ud2\n");

#endif /* PVISOR_GUEST_UTIL_H */
