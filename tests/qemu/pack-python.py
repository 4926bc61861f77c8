#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""
pack-python.py ROOT LIST

Put into the initramfs tree ROOT the Python modules whose files LIST
names, one a line (what `ynl_test.py --offline --list-modules` loaded on
the host), at the same paths:

  - the standard library's and dist-packages' modules (python3-yaml) as
    compiled files without their sources (os.py becomes os.pyc, which
    Python imports as it would the source): about half the size, and
    nothing to compile at each boot;
  - their extension modules (.so) as they are; vm.sh then copies the
    libraries those link (copy_with_libs);
  - files already under ROOT (the kernel's YNL library) compiled into
    their __pycache__, next to their sources.

Optional accelerators, which their modules import only if they can, are
left out: libyaml's loader (yaml.safe_load is pure Python anyway),
_uuid, and bz2 and lzma, which argparse imports through shutil.

Prints the files written.
"""
import importlib.util
import os
import py_compile
import shutil
import sys

OPTIONAL = ('/yaml/_yaml.', '/yaml/cyaml.py', '/lib-dynload/_uuid.',
            '/lib-dynload/_bz2.', '/lib-dynload/_lzma.', '/bz2.py',
            '/lzma.py', '/_compression.py')
STDLIB = ('/usr/lib/python3.', '/usr/lib/python3/dist-packages/')


def main():
    root, listing = os.path.abspath(sys.argv[1]), sys.argv[2]
    with open(listing) as fh:
        paths = sorted({line.strip() for line in fh if line.strip()})
    for path in paths:
        if any(part in path for part in OPTIONAL):
            continue
        if path.startswith(root + '/'):
            if path.endswith('.py'):
                cfile = importlib.util.cache_from_source(path)
                py_compile.compile(path, cfile=cfile,
                                   dfile=path[len(root):], doraise=True)
                print(cfile)
            continue
        if not path.startswith(STDLIB):
            sys.exit(f'pack-python: {path}: not the standard library, '
                     f'dist-packages or {root}')
        dest = root + path
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        if path.endswith('.py'):
            dest += 'c'
            py_compile.compile(path, cfile=dest, dfile=path, doraise=True)
        elif path.endswith('.so'):
            shutil.copy(path, dest)
        else:
            sys.exit(f'pack-python: {path}: not a module')
        print(dest)


if __name__ == '__main__':
    main()
