#!/usr/bin/env python3
"""Fails when a source file includes a header of a folder its folder may not depend on.

Usage: check_dependencies.py SOURCE_ROOT [--selftest]
The rules are in allowed_dependencies.txt beside this script. Tests are not checked (they may
include anything); every other .h/.cc under services/, storage/ and proto/ is.
"""
import os
import re
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def load_rules(path):
    rules = {}
    with open(path) as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if not line:
                continue
            folder, _, allowed = line.partition(':')
            rules[folder.strip()] = set(allowed.split())
    return rules


def folder_of(path):
    """The module folder of a source-tree path: services/<module>, services/programs/<program>,
    storage, or proto ('lodestone/...' generated headers)."""
    parts = path.split('/')
    if parts[0] == 'lodestone':
        return 'proto'
    if parts[0] == 'services' and len(parts) > 2:
        if parts[1] == 'programs' and len(parts) > 3:
            return '/'.join(parts[:3])
        return '/'.join(parts[:2])
    if parts[0] in ('storage', 'proto', 'tests'):
        return parts[0]
    return None  # a system or third-party header


def rule_for(rules, folder):
    if folder in rules:
        return rules[folder]
    for pattern, allowed in rules.items():
        if pattern.endswith('/*') and folder.startswith(pattern[:-1]):
            return allowed
    return None


def check(root, rules):
    problems = []
    for top in ('services', 'storage', 'proto'):
        for directory, _, files in os.walk(os.path.join(root, top)):
            for name in sorted(files):
                if not name.endswith(('.h', '.cc')):
                    continue
                path = os.path.relpath(os.path.join(directory, name), root)
                source = folder_of(path)
                allowed = rule_for(rules, source)
                if allowed is None:
                    problems.append(f'{path}: folder {source} has no rule in allowed_dependencies.txt')
                    continue
                with open(os.path.join(root, path), errors='replace') as f:
                    text = f.read()
                for match in INCLUDE.finditer(text):
                    target = folder_of(match.group(1))
                    if target is None or target == source or target in allowed:
                        continue
                    line = text.count('\n', 0, match.start()) + 1
                    problems.append(f'{path}:{line}: includes "{match.group(1)}": '
                                    f'{source} may not depend on {target}')
    return problems


def selftest(rules):
    """The checker finds a forbidden include and passes a tree without one."""
    with tempfile.TemporaryDirectory() as root:
        os.makedirs(os.path.join(root, 'services/provenance'))
        os.makedirs(os.path.join(root, 'services/ledger'))
        with open(os.path.join(root, 'services/ledger/ledger.h'), 'w') as f:
            f.write('#include "storage/log.h"\n')
        good = os.path.join(root, 'services/provenance/queries.cc')
        with open(good, 'w') as f:
            f.write('#include "services/codec/event_codec.h"\n#include <vector>\n')
        if check(root, rules):
            return 'a tree without forbidden includes was reported'
        with open(good, 'a') as f:
            f.write('#include "services/ledger/ledger.h"\n')
        found = check(root, rules)
        if len(found) != 1 or 'services/provenance may not depend on services/ledger' not in found[0]:
            return f'the forbidden include was not reported as expected: {found}'
    return None


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else '.'
    rules = load_rules(os.path.join(HERE, 'allowed_dependencies.txt'))
    if '--selftest' in sys.argv:
        error = selftest(rules)
        print('selftest: ' + (error or 'ok'))
        return 1 if error else 0
    problems = check(root, rules)
    for problem in problems:
        print(problem)
    print(f'{len(problems)} forbidden includes')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
