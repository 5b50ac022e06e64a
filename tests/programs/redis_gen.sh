#!/bin/sh
# redis_gen.sh SIZE: writes to stdout, in the Redis protocol (for
# `redis-cli --pipe`), the data set the redis workload loads: SIZE strings
# str:I (10 to 409 bytes), and SIZE elements spread over 100 lists, 1000
# hashes, 500 sets and 200 sorted sets. Deterministic.
set -eu
awk -v n="$1" '
function cmd(argc, a1, a2, a3, a4,   s) {
    s = "*" argc "\r\n$" length(a1) "\r\n" a1 "\r\n$" length(a2) "\r\n" a2 "\r\n"
    if (argc > 2) s = s "$" length(a3) "\r\n" a3 "\r\n"
    if (argc > 3) s = s "$" length(a4) "\r\n" a4 "\r\n"
    printf "%s", s
}
BEGIN {
    pattern = ""
    for (k = 0; k < 12; k++) pattern = pattern "0123456789abcdefghijklmnopqrstuvwxyz"
    for (i = 0; i < n; i++) {
        len = 10 + (i * 7919) % 400
        cmd(3, "SET", "str:" i, i ":" substr(pattern, 1 + i % 17, len))
        cmd(3, "RPUSH", "list:" (i % 100), "item-" i)
        cmd(4, "HSET", "hash:" (i % 1000), "f:" i, "value-" (i * 31) % 100003)
        cmd(3, "SADD", "set:" (i % 500), "m:" i)
        cmd(4, "ZADD", "zset:" (i % 200), (i * 3) % 1000, "m" i)
    }
}'
