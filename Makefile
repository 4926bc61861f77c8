# SPDX-License-Identifier: GPL-2.0
# make          build the modules against the running kernel (KDIR= overrides)
# make run      boot a QEMU guest with both servers, ports forwarded to the host
# make test     run the test suite in a QEMU guest
KDIR ?= /lib/modules/$(shell uname -r)/build

all: modules

modules:
	$(MAKE) -C $(KDIR) M=$(CURDIR)/src modules

tools:
	$(MAKE) -C tools O=$(CURDIR)/build/tools

test:
	tests/qemu/vm.sh test

run:
	tests/qemu/vm.sh run

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR)/src clean 2>/dev/null || \
		rm -f src/*.o src/*.ko src/*.mod* src/.*.cmd src/Module.symvers src/modules.order
	rm -rf build

.PHONY: all modules tools test run clean
