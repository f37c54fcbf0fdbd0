// SPDX-License-Identifier: GPL-2.0
/*
 * pvisor module entry: probe VMX, enter VMX root operation on every CPU,
 * and offer /dev/pvisor with the system ioctls.
 *
 * The system fd carries no state: every ioctl on it is answered from the
 * capabilities probed at load, in process context, and may sleep.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/build_bug.h>
#include <linux/cpumask.h>
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/pvisor.h>

#include "capabilities.h"
#include "pvisor.h"
#include "vmx_root.h"

static long check_extension(unsigned long cap)
{
	switch (cap) {
	case PVISOR_CAP_VMX_INFO:
	case PVISOR_CAP_VM:
		return 1;
	case PVISOR_CAP_NR_MEMSLOTS:
		return PVISOR_NR_MEMSLOTS;
	case PVISOR_CAP_MAX_VCPUS:
		return PVISOR_MAX_VCPUS;
	case PVISOR_CAP_CHANNELS:
		return PVISOR_MAX_CHANNELS;
	case PVISOR_CAP_LIMITS:
		return 1;
	default:
		return 0;
	}
}

static int get_vmx_info(struct pvisor_vmx_info __user *uinfo)
{
	struct pvisor_vmx_info info;
	cpumask_var_t cpus;

	if (!zalloc_cpumask_var(&cpus, GFP_KERNEL))
		return -ENOMEM;
	pvisor_vmx_root_cpus(cpus);

	memset(&info, 0, sizeof(info));
	info.features = pvisor_caps_features();
	info.vmcs_revision = pvisor_caps.revision;
	info.vmcs_size = pvisor_caps.vmcs_size;
	info.nr_cpus_vmx = cpumask_weight(cpus);
	info.basic = pvisor_caps.basic;
	info.pinbased_ctls = pvisor_caps.pinbased;
	info.procbased_ctls = pvisor_caps.procbased;
	info.procbased_ctls2 = pvisor_caps.procbased2;
	info.exit_ctls = pvisor_caps.exit;
	info.entry_ctls = pvisor_caps.entry;
	info.ept_vpid_cap = pvisor_caps.ept_vpid;
	info.misc = pvisor_caps.misc;
	free_cpumask_var(cpus);

	if (copy_to_user(uinfo, &info, sizeof(info)))
		return -EFAULT;
	return 0;
}

static long pvisor_dev_ioctl(struct file *filp, unsigned int cmd,
			     unsigned long arg)
{
	switch (cmd) {
	case PVISOR_GET_API_VERSION:
		if (arg)
			return -EINVAL;
		return PVISOR_API_VERSION;
	case PVISOR_CHECK_EXTENSION:
		return check_extension(arg);
	case PVISOR_GET_VMX_INFO:
		return get_vmx_info((void __user *)arg);
	case PVISOR_CREATE_VM:
		if (arg)
			return -EINVAL;
		return pvisor_vm_create_fd();
	case PVISOR_GET_VCPU_MMAP_SIZE:
		if (arg)
			return -EINVAL;
		return PAGE_SIZE;
	default:
		return -ENOTTY;
	}
}

static const struct file_operations pvisor_dev_fops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= pvisor_dev_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

/* /sys/class/misc/pvisor/vmx_cpus: CPUs really in VMX root operation. */
static ssize_t vmx_cpus_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	cpumask_var_t cpus;
	ssize_t len;

	if (!zalloc_cpumask_var(&cpus, GFP_KERNEL))
		return -ENOMEM;
	pvisor_vmx_root_cpus(cpus);
	len = sysfs_emit(buf, "%*pbl\n", cpumask_pr_args(cpus));
	free_cpumask_var(cpus);
	return len;
}
static DEVICE_ATTR_RO(vmx_cpus);

static struct attribute *pvisor_dev_attrs[] = {
	&dev_attr_vmx_cpus.attr,
	NULL,
};
ATTRIBUTE_GROUPS(pvisor_dev);

static struct miscdevice pvisor_dev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "pvisor",
	.fops	= &pvisor_dev_fops,
	.groups	= pvisor_dev_groups,
	.mode	= 0600,
};

static int __init pvisor_init(void)
{
	int ret;

	BUILD_BUG_ON(sizeof(struct pvisor_vmx_info) != 144);
	BUILD_BUG_ON(sizeof(struct pvisor_memory_region) != 64);
	BUILD_BUG_ON(sizeof(struct pvisor_regs) != 184);
	BUILD_BUG_ON(sizeof(struct pvisor_segment) != 32);
	BUILD_BUG_ON(sizeof(struct pvisor_dtable) != 16);
	BUILD_BUG_ON(sizeof(struct pvisor_sregs) != 368);
	BUILD_BUG_ON(sizeof(struct pvisor_run) != PAGE_SIZE);

	ret = pvisor_caps_probe();
	if (ret)
		return ret;

	ret = pvisor_vmx_root_init();
	if (ret)
		return ret;

	ret = misc_register(&pvisor_dev);
	if (ret) {
		pr_err("cannot register /dev/pvisor (%d)\n", ret);
		goto out_vmx_root_exit;
	}
	pr_info("VMX root operation on %u CPUs, VMCS revision %#x%s%s\n",
		num_online_cpus(), pvisor_caps.revision,
		pvisor_caps.has_vpid ? ", VPID" : "",
		pvisor_caps.has_pcid ? ", PCID" : "");
	return 0;

out_vmx_root_exit:
	pvisor_vmx_root_exit();
	return ret;
}

static void __exit pvisor_exit(void)
{
	misc_deregister(&pvisor_dev);
	pvisor_vmx_root_exit();
}

module_init(pvisor_init);
module_exit(pvisor_exit);

MODULE_DESCRIPTION("pvisor: a paravirtualizing hypervisor for Intel VT-x");
MODULE_LICENSE("GPL");
