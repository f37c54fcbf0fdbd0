/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The VMX half of a vCPU: VMCS life cycle, loading it on a CPU, entering the
 * guest, guest state, and event injection.  Exit handlers live in
 * vmx_exit.c.
 */
#ifndef PVISOR_VMX_H
#define PVISOR_VMX_H

#include "pvisor.h"

/* vcpu->exit_reason after VMLAUNCH/VMRESUME failed. */
#define PVISOR_EXIT_VMFAIL	0xffffffffu

/* vmenter.S: 0 after a VM exit, 1 if the entry failed. */
int pvisor_vmx_vmenter(unsigned long *regs, bool launched);
/* vmenter.S: where VM exits land (HOST_RIP). */
void pvisor_vmx_vmexit(void);

int pvisor_vmx_vcpu_init(struct pvisor_vcpu *vcpu);
void pvisor_vmx_vcpu_free(struct pvisor_vcpu *vcpu);
int pvisor_vmx_vcpu_load(struct pvisor_vcpu *vcpu);
void pvisor_vmx_run_begin(struct pvisor_vcpu *vcpu);
void pvisor_vmx_run_end(struct pvisor_vcpu *vcpu);
void pvisor_vmx_enter(struct pvisor_vcpu *vcpu);
void pvisor_vmx_clear_all_on_this_cpu(void);
void pvisor_vmx_init_percpu(void);
void pvisor_vmx_exit_percpu(void);

void pvisor_vmx_get_regs(struct pvisor_vcpu *vcpu, struct pvisor_regs *r);
int pvisor_vmx_set_regs(struct pvisor_vcpu *vcpu, const struct pvisor_regs *r);
void pvisor_vmx_get_sregs(struct pvisor_vcpu *vcpu, struct pvisor_sregs *s);
int pvisor_vmx_set_sregs(struct pvisor_vcpu *vcpu,
			 const struct pvisor_sregs *s);
bool pvisor_vmx_cr0_is_valid(unsigned long cr0);
bool pvisor_vmx_cr4_is_valid(unsigned long cr4);
void pvisor_vmx_write_cr0(struct pvisor_vcpu *vcpu, unsigned long cr0);
void pvisor_vmx_write_cr4(struct pvisor_vcpu *vcpu, unsigned long cr4);
unsigned long pvisor_vmx_guest_cr0(struct pvisor_vcpu *vcpu);
bool pvisor_vmx_efer_is_valid(u64 efer);
void pvisor_vmx_write_efer(struct pvisor_vcpu *vcpu, u64 efer);
bool pvisor_vmx_cr3_is_valid(u64 cr3);

void pvisor_vmx_queue_exception(struct pvisor_vcpu *vcpu, u8 vector,
				bool has_error, u32 error);
void pvisor_vmx_skip_insn(struct pvisor_vcpu *vcpu);
int pvisor_vmx_guest_cpl(void);
void pvisor_vmx_flush_tlb(struct pvisor_vcpu *vcpu);

int pvisor_vmx_handle_exit(struct pvisor_vcpu *vcpu);

#endif /* PVISOR_VMX_H */
