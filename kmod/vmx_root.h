/* SPDX-License-Identifier: GPL-2.0 */
/* VMX root operation on every online CPU while the module is loaded. */
#ifndef PVISOR_VMX_ROOT_H
#define PVISOR_VMX_ROOT_H

#include <linux/cpumask.h>

int pvisor_vmx_root_init(void);
void pvisor_vmx_root_exit(void);
void pvisor_vmx_root_cpus(struct cpumask *mask);

#endif /* PVISOR_VMX_ROOT_H */
