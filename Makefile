# SPDX-License-Identifier: GPL-2.0
# make          build the modules against the running kernel (KDIR= overrides):
#               ksrv/ (ksrv.ko), then services/ (echo_sync.ko, echo_async.ko)
# make samples  also build samples/ (the discard service)
# make run      boot a QEMU guest with both servers, ports forwarded to the host
# make test     run the test suite in a QEMU guest
# make test-debug  the same on a KASAN/lockdep/kmemleak kernel built from source
# make test-kcsan  the same on a KCSAN (data-race detector) kernel built alike
# make bench    benchmark against user-space servers (QUICK=1: a small run;
#               REPS=5: repetitions per cell): wall-clock, 2 vCPUs
# make bench MODE=icount  the deterministic headline: 1 vCPU, QEMU -icount,
#               req/s and MB/s from instructions executed, not host time
# make check    checkpatch --strict, a W=1 build and a sparse build; the
#               netlink spec against what the kernel's generator makes of it;
#               the man pages, the unit, kechoctl apply (no kernel)
# make regen    regenerate include/uapi/linux/ksrv.h and ksrv/ksrv_nl_gen.h from
#               Documentation/netlink/specs/ksrv.yaml (tests/host/ynl-regen.sh)
# make install  install the modules into KDIR's kernel's extra/, then depmod,
#               and the tools (install-tools: those alone): kechoctl into
#               /usr/local/sbin, its and the modules' man pages, kecho.service,
#               an example /etc/kecho/listeners.conf (unless there is one)
#               and kechoctl's bash completion (INSTALL_MOD_PATH= or DESTDIR=
#               stages them under another root; PREFIX= moves /usr/local)
# make dkms-install / dkms-remove   the same through DKMS, as kecho/<version>
# make deb      the Debian packages kecho-dkms and kecho-tools, built in a
#               copy of the tree, into build/deb/ (DEBDIR= elsewhere)
KDIR ?= /lib/modules/$(shell uname -r)/build

# The version the modules report (scripts/version.sh, which the Kbuild
# files run too).
KECHO_VERSION := $(shell sh scripts/version.sh)

# The release of the kernel in KDIR, from its utsrelease.h: Debian's headers'
# include/config/kernel.release (which modules_install would use) says
# 6.1.192 where the kernel is 6.1.0-56-amd64.
KREL = $(shell sed -n 's/^.define UTS_RELEASE "\(.*\)"$$/\1/p' \
	$(KDIR)/include/generated/utsrelease.h 2>/dev/null)

# Debian's headers ask modules_install to sign with a key they do not ship
# (sign-file then fails, noisily but harmlessly): sign only if KDIR's
# CONFIG_MODULE_SIG_KEY exists, as in a kernel built from source with one.
SIG_KEY = $(shell sed -n 's/^CONFIG_MODULE_SIG_KEY="\(.*\)"$$/\1/p' \
	$(KDIR)/.config 2>/dev/null)
NO_SIGN = $(if $(SIG_KEY),$(if $(wildcard $(KDIR)/$(SIG_KEY) \
	$(filter /%,$(SIG_KEY))),,CONFIG_MODULE_SIG_ALL=))

# The directories of the installed modules, each its own external-module
# build (see README, "Layout").
MODDIRS := ksrv services

# What a DKMS copy of the sources holds (generated *.mod.c left out).
DKMS_FILES := Makefile scripts/version.sh include/uapi/linux/ksrv.h \
	$(foreach d,$(MODDIRS),$(d)/Kbuild \
		$(filter-out %.mod.c,$(wildcard $(d)/*.c)) $(wildcard $(d)/*.h))
DKMS_SOURCE_TREE ?= /usr/src
DKMS ?= dkms

all: modules

# In this order: services/Kbuild links against ksrv/Module.symvers.
modules:
	$(MAKE) -C $(KDIR) M=$(CURDIR)/ksrv modules
	$(MAKE) -C $(KDIR) M=$(CURDIR)/services modules

# The sample services (not installed), linked against ksrv/'s ksrv.ko
# (samples/Kbuild names its Module.symvers).
samples: modules
	$(MAKE) -C $(KDIR) M=$(CURDIR)/samples modules

tools:
	$(MAKE) -C tools O=$(CURDIR)/build/tools

test-debug:
	tests/qemu/vm.sh test-debug

test-kcsan:
	tests/qemu/vm.sh test-kcsan

test:
	tests/qemu/vm.sh test

bench:
	tests/qemu/vm.sh bench

run:
	tests/qemu/vm.sh run

check:
	tests/host/check.sh

regen:
	tests/host/ynl-regen.sh

version:
	@echo $(KECHO_VERSION)

kver-ok:
	@test -n "$(KREL)" || { echo "no kernel tree at KDIR=$(KDIR)" \
		"(no include/generated/utsrelease.h); set KDIR=" >&2; exit 1; }

# depmod by hand: kbuild's skips itself without a System.map, which
# Debian's headers do not have. The tools go under $(DESTDIR)$(PREFIX)
# (the DKMS copy has no tools/: modules only).
PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
# Both are on systemd's and bash-completion's search paths.
UNITDIR ?= $(PREFIX)/lib/systemd/system
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
SYSCONFDIR ?= /etc
DESTDIR ?= $(INSTALL_MOD_PATH)
# One modules_install per directory puts every module in extra/ itself
# (one build of both directories would install extra/ksrv/ksrv.ko and
# extra/services/echo_*.ko).
install: kver-ok modules $(if $(wildcard tools/kechoctl.c),install-tools)
	$(MAKE) -C $(KDIR) M=$(CURDIR)/ksrv KERNELRELEASE=$(KREL) \
		INSTALL_MOD_DIR=extra $(NO_SIGN) modules_install
	$(MAKE) -C $(KDIR) M=$(CURDIR)/services KERNELRELEASE=$(KREL) \
		INSTALL_MOD_DIR=extra $(NO_SIGN) modules_install
	PATH="$$PATH:/sbin:/usr/sbin" depmod -a \
		$(if $(INSTALL_MOD_PATH),-b $(INSTALL_MOD_PATH)) $(KREL)

# The unit runs kechoctl from where it is installed. An existing
# listeners.conf is the admin's: it is left as it is.
install-tools:
	$(MAKE) -C tools O=$(CURDIR)/build/tools $(CURDIR)/build/tools/kechoctl
	install -D -m 0755 build/tools/kechoctl $(DESTDIR)$(SBINDIR)/kechoctl
	install -D -m 0644 Documentation/man/kechoctl.8 \
		$(DESTDIR)$(MANDIR)/man8/kechoctl.8
	install -D -m 0644 Documentation/man/ksrv.7 $(DESTDIR)$(MANDIR)/man7/ksrv.7
	mkdir -p $(DESTDIR)$(UNITDIR)
	sed 's|@SBINDIR@|$(SBINDIR)|g; s|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
		dist/kecho.service.in \
		>$(DESTDIR)$(UNITDIR)/kecho.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/kecho.service
	test -e $(DESTDIR)$(SYSCONFDIR)/kecho/listeners.conf || \
		install -D -m 0644 dist/listeners.conf \
			$(DESTDIR)$(SYSCONFDIR)/kecho/listeners.conf
	install -D -m 0644 dist/kechoctl.bash $(DESTDIR)$(BASHCOMPDIR)/kechoctl

# The sources DKMS builds from: $(DKMS_SOURCE_TREE)/kecho-<version>.
dkms-src:
	rm -rf $(DKMS_SOURCE_TREE)/kecho-$(KECHO_VERSION)
	mkdir -p $(DKMS_SOURCE_TREE)/kecho-$(KECHO_VERSION)
	cp --parents $(DKMS_FILES) $(DKMS_SOURCE_TREE)/kecho-$(KECHO_VERSION)/
	sed 's/@VERSION@/$(KECHO_VERSION)/' dkms.conf \
		>$(DKMS_SOURCE_TREE)/kecho-$(KECHO_VERSION)/dkms.conf
	echo $(KECHO_VERSION) >$(DKMS_SOURCE_TREE)/kecho-$(KECHO_VERSION)/VERSION

# A version already added (the same commit, rebuilt) is removed first.
dkms-install: kver-ok
	$(DKMS) status -m kecho -v $(KECHO_VERSION) | grep -q . && \
		$(DKMS) remove -m kecho -v $(KECHO_VERSION) --all || true
	$(MAKE) dkms-src
	$(DKMS) add -m kecho -v $(KECHO_VERSION)
	$(DKMS) build -m kecho -v $(KECHO_VERSION) -k $(KREL) \
		--kernelsourcedir $(KDIR)
	$(DKMS) install -m kecho -v $(KECHO_VERSION) -k $(KREL)

# Every version of kecho DKMS knows, not only the current one.
dkms-remove:
	for v in $$($(DKMS) status -m kecho | \
		sed -n 's|^kecho/\([^,:]*\)[,:].*|\1|p' | sort -u); do \
		$(DKMS) remove -m kecho -v $$v --all || exit 1; \
		rm -rf $(DKMS_SOURCE_TREE)/kecho-$$v; \
	done

# dpkg-buildpackage writes next to the tree it builds, so it builds a copy
# in $(DEBDIR), without build/, .git and objects; the packages land there.
DEBDIR ?= $(CURDIR)/build/deb
deb:
	rm -rf $(DEBDIR)/kecho && mkdir -p $(DEBDIR)/kecho
	tar -C $(CURDIR) --exclude=./build --exclude=./.git \
		--exclude='*.o' --exclude='*.ko' --exclude='*.mod*' \
		--exclude='.*.cmd' -cf - . | tar -C $(DEBDIR)/kecho -xf -
	cd $(DEBDIR)/kecho && dpkg-buildpackage -b -us -uc
	rm -rf $(DEBDIR)/kecho

clean:
	for d in $(MODDIRS) samples; do \
		$(MAKE) -C $(KDIR) M=$(CURDIR)/$$d clean 2>/dev/null || \
		rm -f $$d/*.o $$d/*.ko $$d/*.mod* $$d/.*.cmd \
			$$d/Module.symvers $$d/modules.order; \
	done
	rm -rf build

.PHONY: all modules samples tools test test-debug test-kcsan bench run check regen version kver-ok \
	install install-tools dkms-src dkms-install dkms-remove deb clean
