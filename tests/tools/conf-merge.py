#!/usr/bin/python3
"""Merge INI overrides into a base config: conf-merge.py BASE OVERRIDES.

A key in OVERRIDES replaces the same [section] key of BASE, new keys and
sections are added. Comments are not preserved (test configs only).
"""
import sys


def parse(path):
    sections, order, section = {}, [], None
    for raw in open(path, encoding="utf-8"):
        line = raw.strip()
        if not line or line[0] in ";#":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
            if section not in sections:
                sections[section] = {}
                order.append(section)
            continue
        key, _, value = line.partition("=")
        if section is None:
            raise SystemExit(f"{path}: key outside a section: {line}")
        sections[section][key.strip()] = value.strip()
    return sections, order


def main():
    base, order = parse(sys.argv[1])
    extra, extra_order = parse(sys.argv[2])
    for name in extra_order:
        if name not in base:
            base[name] = {}
            order.append(name)
        base[name].update(extra[name])
    for name in order:
        print(f"[{name}]")
        for key, value in base[name].items():
            print(f"{key} = {value}")
        print()


if __name__ == "__main__":
    main()
