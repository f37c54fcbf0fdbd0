// SPDX-License-Identifier: GPL-2.0
/*
 * Writes and checks a pattern on disk 0, for the launcher's disk tests.
 * Every 512-byte sector holds its number (little-endian u64), the seed
 * (u64), then bytes 16-511 = (sector * 131 + seed + i) & 0xff.
 *
 *   write SEED          the whole disk in 64 KiB requests, then a flush:
 *                       "disk_check: wrote N bytes checksum C"
 *   verify SEED         the whole disk read back and checked:
 *                       "disk_check: verified N bytes checksum C", or the
 *                       first bad sector and status 1
 *   verify-prefix SEED N  the same for sectors 0..N-1
 *   errors              reads past the end and misaligned get
 *                       -PVISOR_ERANGE and -PVISOR_EINVAL; a read-only
 *                       disk refuses writes and discards (-PVISOR_EROFS), a
 *                       writable one flushes (0) and discards (0 or
 *                       -PVISOR_EOPNOTSUPP); on a disk that wants
 *                       aligned buffers (host direct I/O) a misaligned
 *                       buffer gets -PVISOR_EINVAL and an aligned one
 *                       works ("disk_check: aligned buffers required"):
 *                       "disk_check: errors ok"
 *   durable SEED COUNT  sectors 0..COUNT-1 one request each, "durable: done
 *                       K" after sector K completes, then idles silently
 *                       until the host kills it
 *
 * C is the 64-bit FNV-1a of the disk's bytes in order, as 16 hex digits.
 * Status 0 when all is well, 1 on a difference or an error, 2 on a bad
 * command line or without a disk.
 */
#include "args.h"
#include "blk.h"
#include "console.h"
#include "irq.h"
#include "kit.h"
#include "page_alloc.h"
#include "string.h"

#define SECTOR		512U
#define CHUNK		0x10000U	/* bytes per request */
#define FNV_OFFSET	0xcbf29ce484222325ULL
#define FNV_PRIME	0x100000001b3ULL

static struct blk disk;
static uint8_t *chunk;		/* CHUNK bytes, physically contiguous */
static uint8_t sector_buf[SECTOR] __aligned(512);
static uint64_t seed;

static void fill_sector(uint8_t *p, uint64_t sector)
{
	unsigned int i;

	for (i = 0; i < 8; i++) {
		p[i] = sector >> (8 * i);
		p[8 + i] = seed >> (8 * i);
	}
	for (; i < SECTOR; i++)
		p[i] = (sector * 131 + seed + i) & 0xff;
}

static uint64_t fnv1a(uint64_t h, const uint8_t *p, uint64_t len)
{
	while (len--) {
		h ^= *p++;
		h *= FNV_PRIME;
	}
	return h;
}

static uint64_t chunk_len(uint64_t offset, uint64_t end)
{
	return end - offset < CHUNK ? end - offset : CHUNK;
}

static int do_write(void)
{
	uint64_t h = FNV_OFFSET, off, len, s;
	int r;

	for (off = 0; off < disk.capacity; off += len) {
		len = chunk_len(off, disk.capacity);
		for (s = 0; s < len / SECTOR; s++)
			fill_sector(chunk + s * SECTOR, off / SECTOR + s);
		h = fnv1a(h, chunk, len);
		r = blk_write(&disk, off, chunk, len);
		if (r) {
			printf("disk_check: write of %lu bytes at %lu: error %d\n",
			       len, off, r);
			return 1;
		}
	}
	r = blk_flush(&disk);
	if (r) {
		printf("disk_check: flush: error %d\n", r);
		return 1;
	}
	printf("disk_check: wrote %lu bytes checksum %016lx\n",
	       disk.capacity, h);
	return 0;
}

/* Sectors [0, @sectors) against the pattern. */
static int do_verify(uint64_t sectors)
{
	uint64_t h = FNV_OFFSET, end = sectors * SECTOR, off, len, s;
	const uint8_t *p;
	unsigned int i;
	int r;

	for (off = 0; off < end; off += len) {
		len = chunk_len(off, end);
		r = blk_read(&disk, off, chunk, len);
		if (r) {
			printf("disk_check: read of %lu bytes at %lu: error %d\n",
			       len, off, r);
			return 1;
		}
		h = fnv1a(h, chunk, len);
		for (s = 0; s < len / SECTOR; s++) {
			p = chunk + s * SECTOR;
			fill_sector(sector_buf, off / SECTOR + s);
			if (!memcmp(p, sector_buf, SECTOR))
				continue;
			for (i = 0; p[i] == sector_buf[i]; i++)
				;
			printf("disk_check: bad sector %lu: byte %u is 0x%02x, expected 0x%02x\n",
			       off / SECTOR + s, i, p[i], sector_buf[i]);
			return 1;
		}
	}
	printf("disk_check: verified %lu bytes checksum %016lx\n", end, h);
	return 0;
}

static int expect(const char *what, int r, int want, int also)
{
	if (r == want || r == also)
		return 0;
	printf("disk_check: %s returned %d, expected %d\n", what, r, want);
	return 1;
}

static int do_errors(void)
{
	int bad = 0;

	bad |= expect("a read past the capacity",
		      blk_read(&disk, disk.capacity, sector_buf, SECTOR),
		      -PVISOR_ERANGE, -PVISOR_ERANGE);
	bad |= expect("a read at a misaligned offset",
		      blk_read(&disk, 1, sector_buf, SECTOR),
		      -PVISOR_EINVAL, -PVISOR_EINVAL);
	if (disk.read_only) {
		bad |= expect("a write to the read-only disk",
			      blk_write(&disk, 0, sector_buf, SECTOR),
			      -PVISOR_EROFS, -PVISOR_EROFS);
		bad |= expect("a discard on the read-only disk",
			      blk_discard(&disk, 0, SECTOR),
			      -PVISOR_EROFS, -PVISOR_EROFS);
	} else {
		bad |= expect("a flush", blk_flush(&disk), 0, 0);
		bad |= expect("a discard of the last sector",
			      blk_discard(&disk, disk.capacity - SECTOR,
					  SECTOR),
			      0, -PVISOR_EOPNOTSUPP);
	}
	if (disk.aligned) {
		printf("disk_check: aligned buffers required\n");
		bad |= expect("a read into a misaligned buffer",
			      blk_read(&disk, 0, chunk + 8, SECTOR),
			      -PVISOR_EINVAL, -PVISOR_EINVAL);
		bad |= expect("a read into an aligned buffer",
			      blk_read(&disk, 0, chunk, 2 * SECTOR), 0, 0);
	}
	if (!bad)
		printf("disk_check: errors ok\n");
	return bad;
}

static noreturn void do_durable(uint64_t count)
{
	uint64_t k;
	int r;

	for (k = 0; k < count; k++) {
		fill_sector(sector_buf, k);
		r = blk_write(&disk, k * SECTOR, sector_buf, SECTOR);
		if (r) {
			printf("durable: write of sector %lu: error %d\n", k, r);
			guest_exit(1);
		}
		printf("durable: done %lu\n", k);
	}
	console_flush();
	for (;;)
		cpu_idle();
}

static int bad_command_line(void)
{
	printf("disk_check: usage: write SEED | verify SEED | ");
	printf("verify-prefix SEED N | errors | durable SEED COUNT\n");
	return 2;
}

int main(const struct pvisor_start_info *si)
{
	char *argv[ARGS_MAX];
	int argc = args_split(si, argv), r;
	uint64_t n = 0;

	if (argc < 1 || (strcmp(argv[0], "errors") &&
			 (argc < 2 || parse_u64(argv[1], &seed))))
		return bad_command_line();
	if ((!strcmp(argv[0], "verify-prefix") ||
	     !strcmp(argv[0], "durable")) &&
	    (argc < 3 || parse_u64(argv[2], &n)))
		return bad_command_line();

	r = blk_open(&disk, 0);
	if (r) {
		printf("disk_check: no disk 0 (error %d)\n", r);
		return 2;
	}
	chunk = (uint8_t *)(uintptr_t)page_alloc_contig(CHUNK / PAGE_SIZE);
	if (!chunk) {
		printf("disk_check: out of memory\n");
		return 2;
	}
	if (n > disk.capacity / SECTOR) {
		printf("disk_check: %lu sectors, the disk has %lu\n", n,
		       disk.capacity / SECTOR);
		return 1;
	}

	if (!strcmp(argv[0], "write"))
		return do_write();
	if (!strcmp(argv[0], "verify"))
		return do_verify(disk.capacity / SECTOR);
	if (!strcmp(argv[0], "verify-prefix"))
		return do_verify(n);
	if (!strcmp(argv[0], "errors"))
		return do_errors();
	if (!strcmp(argv[0], "durable"))
		do_durable(n);
	return bad_command_line();
}
