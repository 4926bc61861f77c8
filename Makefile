# SPDX-License-Identifier: GPL-2.0
# make          build the modules against the running kernel (KDIR= overrides)
# make run      boot a QEMU guest with both servers, ports forwarded to the host
# make test     run the test suite in a QEMU guest
# make test-debug  the same on a KASAN/lockdep/kmemleak kernel built from source
# make bench    benchmark against user-space servers (QUICK=1: a small run)
KDIR ?= /lib/modules/$(shell uname -r)/build

all: modules

modules:
	$(MAKE) -C $(KDIR) M=$(CURDIR)/src modules

tools:
	$(MAKE) -C tools O=$(CURDIR)/build/tools

test-debug:
	tests/qemu/vm.sh test-debug

test:
	tests/qemu/vm.sh test

bench:
	tests/qemu/vm.sh bench

run:
	tests/qemu/vm.sh run

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR)/src clean 2>/dev/null || \
		rm -f src/*.o src/*.ko src/*.mod* src/.*.cmd src/Module.symvers src/modules.order
	rm -rf build

.PHONY: all modules tools test test-debug bench run clean
