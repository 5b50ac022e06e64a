"""alloc_heavy.py: an allocation-heavy, deterministic Python workload for the
real-program tests and measurements (tests/programs, bench/programs.sh).

    python3 alloc_heavy.py SIZE

Phases, each printing a CRC-32 of what it built (so any corrupted object
shows up as a different line), SIZE scaling the object counts:
  dicts     a dict of SIZE string keys to lists/tuples/strings, half deleted
            and refilled, then rebuilt by comprehension
  objects   2 * SIZE small class instances in trees and lists with
            reference cycles, collected by gc
  strings   splitting, joining, formatting, replacing, bytes round trips
  big       a few large lists, strings, bytearrays and a dict grown and
            dropped (multi-megabyte blocks, realloc growth)
  json      a nested structure dumped to text and parsed back, then sorted
Run with PYTHONMALLOC=malloc so that every object comes from malloc.
"""

import gc
import json
import random
import sys
import zlib


def crc(data, value=0):
    return zlib.crc32(data.encode() if isinstance(data, str) else data, value)


def phase_dicts(n, rng):
    table = {}
    for i in range(n):
        key = "k%d:%x" % (i, rng.getrandbits(32))
        kind = i % 3
        if kind == 0:
            table[key] = [i, str(i) * (1 + i % 7), (i, -i)]
        elif kind == 1:
            table[key] = (key.upper(), float(i) / 7.0, {"n": i})
        else:
            table[key] = "v" * (i % 97) + key
    keys = list(table)
    for key in keys[::2]:
        del table[key]
    for i in range(n // 2):
        table["again%d" % i] = {"i": i, "s": "x" * (i % 50), "l": list(range(i % 20))}
    rebuilt = {k: repr(v) for k, v in table.items() if len(k) % 2 == 0}
    value = 0
    for key in sorted(rebuilt):
        value = crc(key, value)
        value = crc(rebuilt[key], value)
    return "dicts %d %08x" % (len(table), value)


class Node:
    def __init__(self, value, left=None, right=None):
        self.value = value
        self.left = left
        self.right = right
        self.tags = [value & 7, "n%d" % value]


def build_tree(rng, depth, counter):
    counter[0] += 1
    if depth == 0 or rng.random() < 0.1:
        return Node(counter[0])
    return Node(counter[0], build_tree(rng, depth - 1, counter), build_tree(rng, depth - 1, counter))


def tree_sum(node):
    total = 0
    stack = [node]
    while stack:
        cur = stack.pop()
        total = (total * 31 + cur.value + len(cur.tags[1])) % 1000000007
        if cur.left is not None:
            stack.append(cur.left)
        if cur.right is not None:
            stack.append(cur.right)
    return total


def phase_objects(n, rng):
    value = 0
    made = 0
    while made < 2 * n:
        counter = [0]
        root = build_tree(rng, 12, counter)
        made += counter[0]
        value = (value * 7 + tree_sum(root)) % 1000000007
        # Reference cycles that only the collector frees.
        ring = [Node(i) for i in range(200)]
        for a, b in zip(ring, ring[1:] + ring[:1]):
            a.left = b
            b.right = a
        del ring, root
    collected = gc.collect()
    return "objects %d %d %d" % (made, value, collected >= 0)


def phase_strings(n, rng):
    words = ["w%x" % rng.getrandbits(24) for _ in range(n // 4)]
    text = " ".join(words)
    value = crc(text)
    for round_ in range(4):
        parts = text.split(" ")
        parts = [p.replace("a", "AA").upper() if i % 3 == round_ % 3 else p[::-1]
                 for i, p in enumerate(parts)]
        text = ",".join(parts).replace(",", " ")
        value = crc(text, value)
        lines = ["%05d|%s|%r" % (i, p, p[:3]) for i, p in enumerate(parts[: n // 8])]
        blob = "\n".join(lines).encode("utf-8")
        value = crc(blob, value)
        value = crc(blob.decode("utf-8").title(), value)
    pieces = []
    for i in range(n // 4):
        pieces.append(f"{i}:{i * i % 9973}:{'z' * (i % 13)}")
    value = crc("".join(pieces), value)
    return "strings %d %08x" % (len(text), value)


def phase_big(n, rng):
    value = 0
    for round_ in range(3):
        numbers = list(range(n * 4))
        rng.shuffle(numbers)
        numbers.sort(key=lambda x: (x % 1000, x))
        value = crc(str(numbers[:: max(1, n // 100)]), value)
        big = "".join(chr(97 + (i * 7) % 26) for i in range(n * 8))
        value = crc(big[round_ :: 997], value)
        buf = bytearray()
        for i in range(n // 4):
            buf += bytes([(i + round_) & 255]) * (1 + i % 64)
        value = crc(bytes(buf), value)
        grown = {}
        for i in range(n * 2):
            grown[i * 2654435761 % (1 << 32)] = i
        value = crc(str(sum(grown) % 1000003), value)
        del numbers, big, buf, grown
    return "big %08x" % value


def phase_json(n, rng):
    doc = {
        "items": [
            {"id": i, "name": "item-%d" % i, "tags": ["t%d" % (i % 11), "u%d" % (i % 7)],
             "price": i * 0.25, "nested": {"a": [i, i + 1], "b": None, "c": i % 2 == 0}}
            for i in range(n // 2)
        ],
        "meta": {"count": n // 2, "seed": 12345},
    }
    text = json.dumps(doc, sort_keys=True)
    back = json.loads(text)
    back["items"].sort(key=lambda item: (item["tags"][0], -item["id"]))
    text2 = json.dumps(back, sort_keys=True, indent=1)
    return "json %d %08x %08x" % (len(text), crc(text), crc(text2))


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
    rng = random.Random(12345)
    total = 0
    for phase in (phase_dicts, phase_objects, phase_strings, phase_big, phase_json):
        line = phase(n, rng)
        total = crc(line, total)
        print(line, flush=True)
    print("total %08x" % total)


if __name__ == "__main__":
    main()
