// SPDX-License-Identifier: GPL-2.0
/*
 * modload: load or unload one kernel module and report the exact errno.
 *
 * busybox insmod and rmmod turn errors into loose text; the tests need to
 * see that a bad parameter gives -EINVAL and a busy port -EADDRINUSE.
 *
 *   modload FILE.ko [PARAM=VALUE...]   finit_module(); exit status = errno
 *   modload -r NAME                    delete_module(); exit status = errno
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int report(const char *what, int err)
{
	if (err)
		printf("modload: %s: %s (%s)\n", what, strerrorname_np(err),
		       strerror(err));
	else
		printf("modload: %s: ok\n", what);
	return err;
}

static int load(const char *path, int argc, char **argv)
{
	char params[4096] = "";
	size_t used = 0;
	int fd, i;

	for (i = 0; i < argc; i++) {
		int n = snprintf(params + used, sizeof(params) - used, "%s%s",
				 i ? " " : "", argv[i]);

		if (n < 0 || (size_t)n >= sizeof(params) - used) {
			fprintf(stderr, "modload: parameters too long\n");
			return E2BIG;
		}
		used += n;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return report(path, errno);
	if (syscall(SYS_finit_module, fd, params, 0))
		return report(path, errno);
	close(fd);
	return report(path, 0);
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "-r"))
		return report(argv[2], syscall(SYS_delete_module, argv[2],
					       O_NONBLOCK) ? errno : 0);
	if (argc >= 2 && argv[1][0] != '-')
		return load(argv[1], argc - 2, argv + 2);
	fprintf(stderr, "usage: modload FILE.ko [PARAM=VALUE...] | modload -r NAME\n");
	return 2;
}
